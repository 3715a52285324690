package org.castellan.server.transport;

import io.netty.channel.ChannelPipeline;
import java.time.Duration;
import java.util.Optional;
import org.castellan.server.config.Listener;

/**
 * The seam where a protocol (SMTP, IMAP, POP3, HTTPS) plugs into the connection path.
 *
 * <p>The transport calls {@link #open} only after the connection passed the connection rules
 * and, on an implicit-TLS listener, completed its TLS handshake — so a protocol never sends a
 * byte (not even its greeting) to a client that the device gate refused (docs/design.md §5.2).
 */
public interface ProtocolService {

    /**
     * Adds the protocol's decoder and session handler at the end of {@code pipeline} and sends
     * the greeting. Runs on the connection's event loop. A failure here closes the connection.
     */
    void open(Connection connection, ChannelPipeline pipeline);

    /**
     * The one line, without CRLF, that the transport sends instead of a greeting to a connection
     * it refuses because the server or the client holds too many (on a cleartext or STARTTLS
     * listener; on implicit TLS it closes without a word). {@code reason} is a short sentence
     * such as "Too many connections from your address, try again later". Null to close silently.
     */
    default String refusal(String reason) {
        return null;
    }

    /**
     * How long a connection to {@code listener} may go without authenticating, counted from the
     * moment it is accepted, so that a slow TLS handshake or PROXY header counts as well; empty
     * when connections there need not log in. The transport closes one still in its handshake
     * then; a session that is open gets {@link LineSession#goodbyeOnLoginTimeout()}.
     */
    default Optional<Duration> loginTimeout(Listener listener) {
        return Optional.empty();
    }

    /**
     * On a mailbox node's link, after the opening exchange (docs/roles.md §2): adds the protocol's
     * session at the end of {@code pipeline}, already authenticated as {@code opening.account()},
     * which answers the edge with the opening's answer line ({@code READY} and what the client
     * sees next, or {@code NO} and a code) and then serves the relayed client. Runs on the
     * connection's event loop.
     *
     * @throws UnsupportedOperationException for a protocol an edge does not relay
     */
    default void openRelayed(Connection connection, ChannelPipeline pipeline, org.castellan.protocol.link.LinkOpening opening) {
        throw new UnsupportedOperationException(opening.protocol() + " is not relayed");
    }
}
