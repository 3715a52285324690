package org.castellan.server.transport;

import io.netty.channel.ChannelPipeline;

/**
 * The seam where a protocol (SMTP, IMAP, POP3) plugs into the connection path.
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
}
