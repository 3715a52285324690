package org.castellan.bench.soak;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.LineBasedFrameDecoder;
import io.netty.handler.ssl.SslContext;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.castellan.bench.imap.ImapClient;
import org.castellan.security.tls.TlsPolicy;

/**
 * The attackers' client: Netty on one event-loop thread, each connection bound to a source
 * address of its own, implicit TLS or plain TCP, responses as lines (IMAP and SMTP alike; no
 * attacker reads a literal). A connection can stop reading, which is what some attackers are for.
 */
final class LineClient implements AutoCloseable {

    /** Longer lines end the connection (TooLongFrameException): no reply an attacker waits for comes close. */
    private static final int MAX_LINE = 64 * 1024;

    /** What an attacker does with one connection; called on the client's event loop. */
    interface Handler {
        /** One line of the server's, without its CRLF; the first is the greeting. */
        void line(Connection c, String line);

        /**
         * The connection closed, failed or could not be made; {@link Connection#lines()} is 0 if the
         * server said nothing first, {@link Connection#closedByClient()} whether the attacker hung up.
         */
        void closed(Connection c, Throwable cause);
    }

    private final EventLoopGroup group;
    private final Bootstrap bootstrap;
    private final SslContext tls;
    private final ChannelGroup open = new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);

    LineClient(Path trustedCa) {
        this.tls = TlsPolicy.clientContext(TlsPolicy.Preset.INTERMEDIATE, List.of(trustedCa), null, null);
        boolean epoll = Epoll.isAvailable();
        this.group = new MultiThreadIoEventLoopGroup(1, epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory());
        this.bootstrap = new Bootstrap().group(group)
                .channel(epoll ? EpollSocketChannel.class : NioSocketChannel.class)
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 10_000);
    }

    /** Connects from {@code local} to 127.0.0.1:{@code port}, over TLS (verifying localhost) or not. */
    void connect(InetAddress local, int port, boolean useTls, Handler handler) {
        Connection c = new Connection(handler);
        bootstrap.clone().localAddress(new InetSocketAddress(local, 0)).handler(new ChannelInitializer<SocketChannel>() {
            @Override
            protected void initChannel(SocketChannel ch) {
                open.add(ch);
                if (useTls) ch.pipeline().addLast("tls", tls.newHandler(ch.alloc(), "localhost", port));
                ch.pipeline().addLast("split", new LineBasedFrameDecoder(MAX_LINE)); // strips the CRLF
                ch.pipeline().addLast("lines", c);
            }
        }).connect("127.0.0.1", port).addListener(f -> {
            if (!f.isSuccess()) c.end(f.cause());
        });
    }

    /** Runs {@code task} on the client's event loop after {@code millis}. */
    void schedule(Runnable task, long millis) {
        group.schedule(task, millis, TimeUnit.MILLISECONDS);
    }

    @Override
    public void close() {
        open.close().awaitUninterruptibly();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    /** One attacker connection. */
    static final class Connection extends ChannelInboundHandlerAdapter {

        private final Handler handler;
        private Channel channel;
        private long lines;
        private boolean byClient;
        private boolean ended;

        Connection(Handler handler) {
            this.handler = handler;
        }

        void send(String text) {
            if (channel != null) channel.writeAndFlush(ByteBufUtil.writeAscii(channel.alloc(), text));
        }

        /** Reads nothing more: the server's replies pile up in its buffers and the socket's. */
        void stopReading() {
            channel.config().setAutoRead(false);
        }

        void close() {
            byClient = true;
            if (channel != null) channel.close();
        }

        /** Runs {@code task} on this connection's event loop after {@code millis}, if it is still open then. */
        void later(Runnable task, long millis) {
            ImapClient.later(channel, task, millis);
        }

        long lines() { return lines; }

        boolean closedByClient() { return byClient; }

        @Override
        public void handlerAdded(ChannelHandlerContext ctx) {
            channel = ctx.channel();
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ByteBuf line = (ByteBuf) msg;
            try {
                if (ended) return;
                lines++;
                handler.line(this, line.toString(StandardCharsets.ISO_8859_1));
            } finally {
                line.release();
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            end(null);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            end(cause);
            ctx.close();
        }

        private void end(Throwable cause) {
            if (ended) return;
            ended = true;
            handler.closed(this, cause);
        }
    }
}
