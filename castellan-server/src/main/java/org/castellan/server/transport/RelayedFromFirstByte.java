package org.castellan.server.transport;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPipeline;
import io.netty.util.ReferenceCountUtil;
import java.nio.charset.StandardCharsets;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Optional;
import org.castellan.protocol.link.LinkOpening;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * On an edge, a protocol relayed from its first byte (HTTPS and LDAP, docs/roles.md §3): their
 * authentication, EST's and LDAP's bind, is the mailbox node's, so nothing is parsed here. Once
 * the connection has passed the rules, TLS and the device gate, a link opens with the client's
 * address, TLS and certificate asserted; what the client sends meanwhile is held, and then goes to
 * the node ahead of the splice. When no link can be had, the protocol answers the client itself
 * ({@link Unavailable}) from the bytes held.
 *
 * <p>Once it holds {@link #MAX_HELD} octets, reading pauses until the link is there.
 */
public final class RelayedFromFirstByte extends ChannelInboundHandlerAdapter {

    private static final Logger log = LoggerFactory.getLogger(RelayedFromFirstByte.class);

    /** The pipeline name of the holding handler. */
    static final String NAME = "relay-hold";
    /** Enough for a request of the largest HTTPS body and headers, or an LDAP message, before the link is up. */
    static final int MAX_HELD = 128 * 1024;

    /** How a protocol answers its client when the node cannot take the session. */
    @FunctionalInterface
    public interface Unavailable {
        /**
         * Adds what answers the client at the end of {@code pipeline}; runs on the connection's
         * event loop. Returns whether that reads what the client sent (the bytes held go to it
         * then) or has answered already (they are dropped).
         *
         * @param refused the node's refusal, or empty when it could not be reached
         */
        boolean answer(Connection connection, ChannelPipeline pipeline, Optional<LinkOpening.Refused> refused);
    }

    private final Connection connection;
    private CompositeByteBuf held;

    private RelayedFromFirstByte(Connection connection) {
        this.connection = connection;
    }

    /**
     * Holds the client's bytes and opens a link for {@code protocol} ({@link LinkOpening#HTTPS},
     * {@link LinkOpening#LDAP}) asserting no account; splices once the node is ready, or hands
     * the connection to {@code unavailable}. Runs on the connection's event loop.
     */
    public static void open(Connection connection, ChannelPipeline pipeline, Relay relay, String protocol,
                            Unavailable unavailable) {
        RelayedFromFirstByte hold = new RelayedFromFirstByte(connection);
        pipeline.addLast(NAME, hold);
        LinkOpening opening = Relay.opening(connection, protocol, "", "", List.of());
        Optional<X509Certificate> peer = connection.tls().flatMap(Connection.TlsInfo::peer);
        if (peer.isPresent()) {
            try {
                // EST's re-enrolment and server-made keys need the certificate itself (docs/roles.md §3).
                opening = opening.withClientCertificate(peer.get().getEncoded());
            } catch (CertificateEncodingException e) {
                log.warn("{} the client certificate cannot be encoded for the link; asserted by serial only", connection.logId());
            }
        }
        relay.open(connection, opening).whenComplete((opened, failure) -> connection.channel().eventLoop().execute(
                () -> hold.opened(pipeline, opened, failure, protocol, unavailable)));
    }

    /**
     * On a mailbox node's link: answers the edge's opening {@code READY} with {@code text}, ahead of
     * anything the session then writes to the client.
     */
    public static void ready(Connection connection, String text) {
        connection.channel().writeAndFlush(Unpooled.copiedBuffer(new LinkOpening.Ready(text).line(),
                StandardCharsets.US_ASCII));
    }

    private void opened(ChannelPipeline pipeline, Relay.Opened opened, Throwable failure, String protocol,
                        Unavailable unavailable) {
        ChannelHandlerContext ctx = pipeline.context(this);
        ByteBuf bytes = held == null ? Unpooled.EMPTY_BUFFER : held;
        held = null;
        if (ctx == null || !connection.channel().isActive()) {
            bytes.release();
            if (opened != null) opened.close();
            return;
        }
        connection.channel().config().setAutoRead(true);
        if (failure == null && opened.answer() instanceof LinkOpening.Ready) {
            pipeline.remove(this);
            opened.splice(connection, bytes);
            return;
        }
        Optional<LinkOpening.Refused> refused = failure == null
                ? Optional.of((LinkOpening.Refused) opened.answer()) : Optional.empty();
        if (opened != null) opened.close();
        log.info("{} {} not relayed: {}", connection.logId(), protocol, refused.map(LinkOpening.Refused::line)
                .map(String::strip).orElse("no mailbox node reached: " + failure.getMessage()));
        // The bytes held were decrypted already: they go on from here, to what answers the client.
        if (unavailable.answer(connection, pipeline, refused) && bytes.isReadable()) ctx.fireChannelRead(bytes);
        else bytes.release();
        pipeline.remove(this);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object message) {
        if (!(message instanceof ByteBuf in)) {
            ReferenceCountUtil.release(message);
            return;
        }
        if (held == null) held = ctx.alloc().compositeBuffer(Integer.MAX_VALUE);
        held.addComponent(true, in);
        if (held.readableBytes() >= MAX_HELD) ctx.channel().config().setAutoRead(false);
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        if (held != null) held.release();
        held = null;
    }
}
