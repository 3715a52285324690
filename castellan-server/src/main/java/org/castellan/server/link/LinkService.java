package org.castellan.server.link;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPipeline;
import io.netty.util.ReferenceCountUtil;
import java.nio.charset.StandardCharsets;
import java.security.cert.X509Certificate;
import java.util.Optional;
import org.castellan.security.pki.CertificateAuthority;
import org.castellan.security.pki.NodeIdentity;
import org.castellan.server.transport.Connection;
import org.castellan.server.transport.ProtocolService;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The mailbox node's end of the edge ↔ mailbox link (docs/roles.md §2), as far as it goes in this
 * version: it names the edge that connected and holds the connection open; the opening exchange
 * and the byte splice of a relayed session come next.
 *
 * <p>SECURITY: trusts only what the accept path established before {@link #open} runs: the
 * address was one of the listener's edges (connection rules), and TLS 1.3 verified a node
 * certificate against the node CA alone, unexpired and unrevoked (the link's own TLS policy).
 * It then requires that certificate to name exactly one node of role edge, so that a mailbox
 * node's certificate never opens a link to another mailbox node. Exposes: one line naming the
 * peer. Reads nothing from the peer yet: what it sends is discarded.
 */
public final class LinkService implements ProtocolService {

    private static final Logger log = LoggerFactory.getLogger(LinkService.class);

    /** The first word of the greeting; the peer's node URI follows. */
    public static final String GREETING = "castellan-link";

    @Override
    public void open(Connection connection, ChannelPipeline pipeline) {
        Optional<NodeIdentity> peer = connection.tls().flatMap(Connection.TlsInfo::peer)
                .flatMap(LinkService::edge);
        if (peer.isEmpty()) {
            // The certificate verified but names no edge: a mailbox node's, or one without a node URI.
            log.warn("{} link from {} refused: the certificate names no edge node", connection.logId(),
                    connection.remote().getAddress().getHostAddress());
            connection.close();
            return;
        }
        log.info("{} link from edge {} ({})", connection.logId(), peer.get().name(),
                connection.remote().getAddress().getHostAddress());
        pipeline.addLast("link", new ChannelInboundHandlerAdapter() {
            @Override
            public void channelRead(ChannelHandlerContext ctx, Object message) {
                ReferenceCountUtil.release(message);
            }
        });
        byte[] greeting = (GREETING + " " + peer.get().uri() + "\r\n").getBytes(StandardCharsets.US_ASCII);
        connection.channel().writeAndFlush(Unpooled.wrappedBuffer(greeting));
    }

    /** The edge node {@code certificate} names, if it names exactly one edge. */
    static Optional<NodeIdentity> edge(X509Certificate certificate) {
        return CertificateAuthority.nodeIdentity(certificate).filter(n -> n.role() == NodeIdentity.Role.EDGE);
    }
}
