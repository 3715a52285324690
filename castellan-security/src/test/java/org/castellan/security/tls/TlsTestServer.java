package org.castellan.security.tls;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import javax.net.ssl.SSLSession;

/**
 * A Netty server on 127.0.0.1 that completes a TLS handshake with the policy's handler, then
 * sends one line describing the session and closes:
 * {@code OK <protocol> <cipher> peer=<none|verified:CN|rejected>}, and with {@link #reportingExporter}
 * {@code  exporter=<hex|none>}: the tls-exporter value the policy derived for the connection, with
 * {@link #reportingResumption} {@code  resumed=<yes|no>}: whether the handshake resumed a session.
 */
final class TlsTestServer implements AutoCloseable {

    private final EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    private final Channel channel;

    TlsTestServer(TlsPolicy policy, TlsPolicy.ClientCertMode mode) throws InterruptedException {
        this(policy, mode, false);
    }

    TlsTestServer(TlsPolicy policy, TlsPolicy.ClientCertMode mode, boolean startTls) throws InterruptedException {
        this(policy, mode, startTls, false, false);
    }

    /** A server whose line ends with the connection's {@link TlsPolicy#tlsExporter} value. */
    static TlsTestServer reportingExporter(TlsPolicy policy, TlsPolicy.ClientCertMode mode) throws InterruptedException {
        return new TlsTestServer(policy, mode, false, true, false);
    }

    /** A server whose line ends with whether the handshake resumed a session ({@link TlsPolicy#resumed}). */
    static TlsTestServer reportingResumption(TlsPolicy policy, TlsPolicy.ClientCertMode mode) throws InterruptedException {
        return new TlsTestServer(policy, mode, false, false, true);
    }

    /**
     * With {@code startTls}, the server first sends {@code GO} in plaintext, as a STARTTLS reply
     * would be sent, from a pipeline where the TLS handler is already installed.
     */
    private TlsTestServer(TlsPolicy policy, TlsPolicy.ClientCertMode mode, boolean startTls, boolean exporter,
            boolean resumption) throws InterruptedException {
        channel = new ServerBootstrap()
                .group(group)
                .channel(NioServerSocketChannel.class)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ch.pipeline().addLast(policy.newHandler(ch.alloc(), mode, startTls));
                        ch.pipeline().addLast(new Greeter(policy, exporter, resumption));
                        if (startTls) ch.writeAndFlush(Unpooled.copiedBuffer("GO\n", StandardCharsets.US_ASCII));
                    }
                })
                .bind(new InetSocketAddress("127.0.0.1", 0))
                .sync()
                .channel();
    }

    int port() {
        return ((InetSocketAddress) channel.localAddress()).getPort();
    }

    @Override
    public void close() {
        channel.close().syncUninterruptibly();
        group.shutdownGracefully(0, 0, java.util.concurrent.TimeUnit.SECONDS).syncUninterruptibly();
    }

    private static final class Greeter extends ChannelInboundHandlerAdapter {
        private final TlsPolicy policy;
        private final boolean exporter;
        private final boolean resumption;

        Greeter(TlsPolicy policy, boolean exporter, boolean resumption) {
            this.policy = policy;
            this.exporter = exporter;
            this.resumption = resumption;
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object event) {
            if (!(event instanceof SslHandshakeCompletionEvent done)) return;
            if (!done.isSuccess()) {
                ctx.close();
                return;
            }
            SslHandler tls = ctx.pipeline().get(SslHandler.class);
            SSLSession session = tls.engine().getSession();
            String peer = switch (policy.peerVerification(session)) {
                case PeerVerification.None n -> "none";
                case PeerVerification.Verified v -> "verified:" + v.leaf().getSubjectX500Principal().getName();
                case PeerVerification.Rejected r -> "rejected";
            };
            String line = "OK " + session.getProtocol() + " " + session.getCipherSuite() + " peer=" + peer
                    + (exporter ? " exporter=" + TlsPolicy.tlsExporter(tls).map(HexFormat.of()::formatHex).orElse("none") : "")
                    + (resumption ? " resumed=" + (TlsPolicy.resumed(tls) ? "yes" : "no") : "")
                    + "\n";
            ctx.writeAndFlush(Unpooled.copiedBuffer(line, StandardCharsets.US_ASCII))
                    .addListener(ChannelFutureListener.CLOSE);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }
}
