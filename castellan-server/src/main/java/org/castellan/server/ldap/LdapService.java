package org.castellan.server.ldap;

import com.unboundid.ldap.protocol.ExtendedResponseProtocolOp;
import com.unboundid.ldap.protocol.LDAPMessage;
import com.unboundid.ldap.sdk.ResultCode;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.timeout.IdleStateHandler;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.castellan.protocol.link.LinkOpening;
import org.castellan.security.auth.AuthService;
import org.castellan.security.pki.CertificateDirectory;
import org.castellan.server.config.Directory;
import org.castellan.server.transport.Connection;
import org.castellan.server.transport.ProtocolService;
import org.castellan.server.transport.Relay;
import org.castellan.server.transport.RelayedFromFirstByte;

/**
 * The certificate directory on {@code protocol = "ldaps"} and {@code "ldap"} listeners (docs/ldap.md):
 * LDAPv3 (RFC 4511), read-only, the user CA's published certificates by address.
 *
 * <p>SECURITY. Trusts: nothing from the client. A message is framed by its outer length within
 * {@link #MAX_MESSAGE} and its nesting is bounded ({@link #MAX_NESTING}) before the UnboundID
 * SDK decodes it; filters are evaluated over the decoded tree, never turned into strings. The
 * ldaps listener is implicit TLS only (the configuration refuses anything else), so a session opens
 * after the connection rules and the handshake, as every protocol's does (docs/design.md §2), and
 * the device gate applies; on an ldap listener nothing but StartTLS, an anonymous bind and the root
 * DSE is served before TLS (confidentialityRequired). Simple binds go to AuthService (protocol {@value Bind#PROTOCOL})
 * with its limiter and log. Exposes: the root DSE, the naming context, and for each address with
 * a valid, unrevoked user certificate its entry; a client that has not bound only by naming the
 * address in full ({@code [directory] anonymous}). Nothing can be written.
 */
public final class LdapService implements ProtocolService {

    /**
     * The largest LDAPMessage read: a search with an address-book filter is a few hundred octets
     * and a bind under one KiB; 64 KiB is slapd's sockbuf_max_incoming_auth default and ends a
     * flood of filter terms before it is decoded.
     */
    public static final int MAX_MESSAGE = 64 * 1024;
    /**
     * How deep BER elements may nest in one message: the message, its operation and a filter of
     * a dozen levels (Thunderbird's is two). Bounds the SDK's recursive filter decoding, which a
     * 64 KiB message of nested NOTs could otherwise drive thousands of frames deep.
     */
    public static final int MAX_NESTING = 16;
    /** The pipeline name of the frame decoder, which StartTLS replaces to drop cleartext read ahead. */
    static final String FRAMES = "ldap-frames";
    /** A connection without a request this long is closed, as slapd's idletimeout does. */
    public static final Duration IDLE_TIMEOUT = Duration.ofMinutes(5);

    private final AuthService auth;
    /** On an edge, the way to the mailbox node; null where this node serves the directory itself. */
    private volatile Relay relay;
    private final ExecutorService blocking;
    private final DirectoryTree tree;
    private final Search search;
    private final Supplier<List<CertificateDirectory.Listing>> listings;

    /**
     * @param listings the published certificates, read on {@code blocking} for each search
     *     (empty without a built-in CA)
     * @param baseDn the naming context in force ({@link Directory#baseDn(String)})
     */
    public LdapService(Directory policy, String baseDn, Supplier<List<CertificateDirectory.Listing>> listings,
                       AuthService auth, ExecutorService blocking) {
        this.auth = Objects.requireNonNull(auth, "auth");
        this.blocking = Objects.requireNonNull(blocking, "blocking");
        this.listings = Objects.requireNonNull(listings, "listings");
        this.tree = new DirectoryTree(baseDn);
        this.search = new Search(tree, policy);
    }

    /**
     * On an edge (docs/roles.md §3): LDAPS connections go on at the default mailbox node over a
     * link, from their first byte; the bind, the search and the directory are the node's.
     */
    public void relayTo(Relay relay) {
        this.relay = relay;
    }

    @Override
    public void open(Connection connection, ChannelPipeline pipeline) {
        Relay to = relay;
        if (to != null) {
            RelayedFromFirstByte.open(connection, pipeline, to, LinkOpening.LDAP, LdapService::unavailable);
            return;
        }
        serve(connection, pipeline);
    }

    /**
     * On a mailbox node's link: tells the edge the node is ready, then serves the client as on an
     * ldaps listener, with its address and TLS as the edge asserted them.
     */
    @Override
    public void openRelayed(Connection connection, ChannelPipeline pipeline, LinkOpening opening) {
        RelayedFromFirstByte.ready(connection, "LDAPv3");
        serve(connection, pipeline);
    }

    /**
     * No mailbox node takes the connection: the Notice of Disconnection (RFC 4511 §4.4.1) with
     * {@code unavailable} (52, §4.1.9), or {@code insufficientAccessRights} (50) when the node's
     * connection rules refuse the client's address, and the connection closes; nothing the client
     * sent is read.
     */
    private static boolean unavailable(Connection connection, ChannelPipeline pipeline, Optional<LinkOpening.Refused> refused) {
        boolean denied = refused.filter(r -> r.code().equals(LinkOpening.Refused.DENIED)).isPresent();
        ResultCode code = denied ? ResultCode.INSUFFICIENT_ACCESS_RIGHTS : ResultCode.UNAVAILABLE;
        String text = denied ? "not allowed from your address" : "the directory is not available now, try again later";
        var notice = new ExtendedResponseProtocolOp(code.intValue(), null, text, null, LdapSession.NOTICE_OF_DISCONNECTION, null);
        connection.channel().writeAndFlush(Unpooled.wrappedBuffer(new LDAPMessage(0, notice).encode().encode()))
                .addListener(ChannelFutureListener.CLOSE);
        return false;
    }

    private void serve(Connection connection, ChannelPipeline pipeline) {
        pipeline.addLast("ldap-idle", new IdleStateHandler(0, 0, IDLE_TIMEOUT.toSeconds(), TimeUnit.SECONDS));
        pipeline.addLast(FRAMES, new LdapFrameDecoder());
        pipeline.addLast("ldap-session", new LdapSession(connection, auth, blocking, tree, search, listings));
    }
}
