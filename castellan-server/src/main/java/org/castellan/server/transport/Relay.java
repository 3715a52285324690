package org.castellan.server.transport;

import io.netty.buffer.ByteBuf;
import java.util.concurrent.CompletionStage;
import org.castellan.protocol.link.LinkOpening;

/**
 * An edge's way to a user's mailbox node (docs/roles.md §3): what IMAP and POP3 sessions call
 * after a successful login, and submission sessions at their first MAIL, on a node of role {@code edge}, instead of opening the mailbox
 * themselves, and HTTPS and LDAPS connections at once ({@link RelayedFromFirstByte}). Implemented by
 * the link package; sessions see only this.
 */
public interface Relay {

    /**
     * Finds the account's node (the default node for an opening without an account), opens a link
     * to it and makes the opening exchange. The stage
     * completes on the client connection's event loop with the node's answer; it fails when the
     * node cannot be reached, its certificate is not the node's, or it does not answer in time
     * (the caller answers as for {@code UNAVAILABLE}).
     */
    CompletionStage<Opened> open(Connection client, LinkOpening opening);

    /**
     * The opening line for {@code client}'s session (docs/roles.md §2): the account and mechanism,
     * the client's address and port, its TLS and certificate, the session id, the IMAP ID fields.
     */
    static LinkOpening opening(Connection client, String protocol, String account, String mechanism,
                               java.util.List<String> imapId) {
        java.net.InetSocketAddress from = client.remote();
        var tls = client.tls();
        return new LinkOpening(protocol, account, mechanism, from.getAddress().getHostAddress(), from.getPort(),
                tls.map(Connection.TlsInfo::protocol), tls.map(Connection.TlsInfo::cipherSuite),
                tls.flatMap(Connection.TlsInfo::peer).map(c -> c.getSerialNumber().toString(16)),
                client.logId(), imapId);
    }

    /** A link whose opening exchange is done. */
    interface Opened {

        /** The node's answer: ready, with what the client sees next, or refused with a code. */
        LinkOpening.Answer answer();

        /**
         * Splices the client and the link: from here on every byte either side sends is copied to
         * the other, unparsed, with reads paused while the other side does not take them, and
         * either side closing closes the other. {@code unread} — what the client sent behind its
         * login — goes to the node first; it is released here. Call on the client's event loop,
         * after the session left the pipeline ({@link LineSession#handOver}).
         */
        void splice(Connection client, ByteBuf unread);

        /** Closes the link without splicing (the node refused, or the client has gone). */
        void close();
    }
}
