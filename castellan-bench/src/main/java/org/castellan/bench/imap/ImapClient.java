package org.castellan.bench.imap;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.util.concurrent.GlobalEventExecutor;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.castellan.security.tls.TlsPolicy;

/**
 * The load generator's IMAP client: Netty on one event-loop thread, BoringSSL through
 * netty-tcnative, commands as plain text, responses split into lines with literals skipped. It
 * shares the two cores with the server, so it parses no more than the benchmarks need: the
 * first line of each response (with any literal's bytes consumed, not kept).
 */
public final class ImapClient implements AutoCloseable {

    /** Lines longer than this end the connection: no server response in these benchmarks comes close. */
    private static final int MAX_LINE = 64 * 1024;

    /** What a benchmark does with one connection's responses; called on the client's event loop. */
    public interface Handler {
        /** The TLS handshake is done and the greeting arrived. */
        void greeted(Connection c, String greeting);

        /** An untagged ({@code *}) or continuation ({@code +}) response, its first line. */
        void untagged(Connection c, String line);

        /** A tagged completion: {@code status} is OK, NO or BAD. */
        void tagged(Connection c, String tag, String status, String line);

        /** The connection closed or failed; {@code cause} is null for a clean close. */
        void closed(Connection c, Throwable cause);
    }

    private final EventLoopGroup group;
    private final Bootstrap bootstrap;
    private final SslContext tls;
    /** Every connection still open; closing the event loop alone may leave sockets open in this process. */
    private final ChannelGroup open = new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);

    public ImapClient(Path trustedCa) {
        this.tls = TlsPolicy.clientContext(TlsPolicy.Preset.INTERMEDIATE, List.of(trustedCa), null, null);
        boolean epoll = Epoll.isAvailable();
        this.group = new MultiThreadIoEventLoopGroup(1, epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory());
        this.bootstrap = new Bootstrap().group(group)
                .channel(epoll ? EpollSocketChannel.class : NioSocketChannel.class)
                .option(ChannelOption.TCP_NODELAY, true);
    }

    /** Connects to 127.0.0.1:{@code port} over implicit TLS, verifying the name localhost. */
    public ChannelFuture connect(int port, Handler handler) {
        return connect(null, port, handler);
    }

    /**
     * The same from the source address {@code local} (any of 127.0.0.0/8, which Linux routes to
     * loopback), so that the server sees each client as a host of its own; null for any.
     */
    public ChannelFuture connect(InetAddress local, int port, Handler handler) {
        Bootstrap b = bootstrap.clone();
        if (local != null) b.localAddress(new InetSocketAddress(local, 0));
        return b.handler(new ChannelInitializer<SocketChannel>() {
            @Override
            protected void initChannel(SocketChannel ch) {
                open.add(ch);
                SslHandler ssl = tls.newHandler(ch.alloc(), "localhost", port);
                ch.pipeline().addLast("tls", ssl);
                ch.pipeline().addLast("imap", new Connection(handler));
            }
        }).connect("127.0.0.1", port);
    }

    /** Runs {@code task} on {@code channel}'s event loop after {@code millis}, if the channel is still open then. */
    public static void later(Channel channel, Runnable task, long millis) {
        channel.eventLoop().schedule(() -> {
            if (channel.isActive()) task.run();
        }, millis, java.util.concurrent.TimeUnit.MILLISECONDS);
    }

    /** Runs {@code task} on the client's event loop after {@code millis}. */
    public void schedule(Runnable task, long millis) {
        group.schedule(task, millis, java.util.concurrent.TimeUnit.MILLISECONDS);
    }

    @Override
    public void close() {
        open.close().awaitUninterruptibly();
        group.shutdownGracefully(0, 1, java.util.concurrent.TimeUnit.SECONDS).syncUninterruptibly();
    }

    /** One IMAP connection: splits responses, remembers when its last command was sent. */
    public static final class Connection extends ChannelInboundHandlerAdapter {

        private final Handler handler;
        private Channel channel;
        private ByteBuf in;
        private long literalLeft;
        private StringBuilder line = new StringBuilder();
        private boolean greeted;
        private boolean ended;
        /** When the command now outstanding was written, for its latency. */
        public long sentNanos;

        Connection(Handler handler) {
            this.handler = handler;
        }

        public void send(String text) {
            sentNanos = System.nanoTime();
            channel.writeAndFlush(ByteBufUtil.writeAscii(channel.alloc(), text));
        }

        public void send(byte[] bytes) {
            sentNanos = System.nanoTime();
            channel.writeAndFlush(channel.alloc().buffer(bytes.length).writeBytes(bytes));
        }

        public void close() {
            channel.close();
        }

        /** Runs {@code task} on this connection's event loop after {@code millis}, if it is still open then. */
        public void later(Runnable task, long millis) {
            ImapClient.later(channel, task, millis);
        }

        @Override
        public void handlerAdded(ChannelHandlerContext ctx) {
            channel = ctx.channel();
        }

        /**
         * Holds an input buffer only while a response is incomplete: a benchmark that keeps
         * 100,000 idle connections would otherwise hold 100,000 buffers that are empty.
         */
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ByteBuf b = (ByteBuf) msg;
            try {
                if (in == null) in = ctx.alloc().buffer(Math.max(4096, b.readableBytes()));
                in.writeBytes(b);
            } finally {
                b.release();
            }
            parse();
            if (in.isReadable()) {
                in.discardSomeReadBytes();
            } else {
                in.release();
                in = null;
            }
        }

        private void parse() {
            while (in.isReadable()) {
                if (literalLeft > 0) {
                    int n = (int) Math.min(literalLeft, in.readableBytes());
                    in.skipBytes(n);
                    literalLeft -= n;
                    continue;
                }
                int eol = in.indexOf(in.readerIndex(), in.writerIndex(), (byte) '\n');
                if (eol < 0) {
                    if (in.readableBytes() > MAX_LINE) channel.close();
                    return;
                }
                int len = eol - in.readerIndex();
                String part = in.toString(in.readerIndex(), len, StandardCharsets.ISO_8859_1);
                in.skipBytes(len + 1);
                if (part.endsWith("\r")) part = part.substring(0, part.length() - 1);
                // A line ending in {n} continues after n bytes of literal (RFC 9051 §4.3).
                if (part.endsWith("}") && part.lastIndexOf('{') >= 0) {
                    String size = part.substring(part.lastIndexOf('{') + 1, part.length() - 1).replace("+", "");
                    if (!size.isEmpty() && size.chars().allMatch(Character::isDigit)) {
                        if (line.length() < 1024) line.append(part);
                        literalLeft = Long.parseLong(size);
                        continue;
                    }
                }
                line.append(part);
                String response = line.toString();
                line = new StringBuilder();
                dispatch(response);
            }
        }

        private void dispatch(String response) {
            if (!greeted) {
                greeted = true;
                handler.greeted(this, response);
            } else if (response.startsWith("* ") || response.startsWith("+")) {
                handler.untagged(this, response);
            } else {
                int sp = response.indexOf(' ');
                int sp2 = sp < 0 ? -1 : response.indexOf(' ', sp + 1);
                String tag = sp < 0 ? response : response.substring(0, sp);
                String status = sp < 0 ? "" : sp2 < 0 ? response.substring(sp + 1) : response.substring(sp + 1, sp2);
                handler.tagged(this, tag, status, response);
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            if (in != null) in.release();
            in = null;
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
