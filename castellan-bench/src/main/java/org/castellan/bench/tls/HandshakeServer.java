package org.castellan.bench.tls;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.util.ReferenceCountUtil;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.castellan.security.tls.TlsPolicy;

/**
 * A Netty server with Castellan's {@link TlsPolicy} in its own JVM for {@link HandshakeBench}, so
 * that its CPU time can be read apart from the client's. It completes handshakes, answers the
 * client's request line as {@code openssl s_server -WWW} would, and closes. Arguments: {@code chain key mode [clientCa]}, mode being a
 * {@link TlsPolicy.ClientCertMode}. Prints {@code READY <port> <provider>}, then serves until killed.
 */
public final class HandshakeServer {

    private HandshakeServer() {}

    public static void main(String[] args) throws Exception {
        TlsPolicy.ClientCertMode mode = TlsPolicy.ClientCertMode.valueOf(args[2]);
        TlsPolicy.Builder builder = TlsPolicy.builder(TlsPolicy.Preset.INTERMEDIATE, Path.of(args[0]), Path.of(args[1]));
        if (args.length > 3) builder.clientCaFiles(List.of(Path.of(args[3])));
        TlsPolicy policy = builder.build();
        // One event loop: the client makes one connection at a time, as openssl s_server serves.
        // Native epoll when it loads, as the server's Transport uses.
        boolean epoll = Epoll.isAvailable();
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1,
                epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory());
        Class<? extends ServerChannel> serverChannel = epoll ? EpollServerSocketChannel.class : NioServerSocketChannel.class;
        Channel channel = new ServerBootstrap()
                .group(group)
                .channel(serverChannel)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        // The handler the server's connections get (SNI selection only when configured).
                        ch.pipeline().addLast(policy.newServerHandler(ch.alloc(), mode, false), new Reply());
                    }
                })
                .bind(new InetSocketAddress("127.0.0.1", 0))
                .sync()
                .channel();
        System.out.println("READY " + ((InetSocketAddress) channel.localAddress()).getPort() + " " + policy.provider());
        System.out.flush();
        channel.closeFuture().sync();
    }

    /** What {@code openssl s_server -WWW} answers for a one-line file, so both servers send the same bytes. */
    private static final byte[] REPLY = "HTTP/1.0 200 ok\r\nContent-type: text/plain\r\n\r\nx\n"
            .getBytes(StandardCharsets.US_ASCII);

    /** Answers the client's first bytes with {@link #REPLY} and closes, as {@code s_server -WWW} does. */
    private static final class Reply extends ChannelInboundHandlerAdapter {
        private boolean replied;

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ReferenceCountUtil.release(msg);
            if (replied) return;
            replied = true;
            ctx.writeAndFlush(Unpooled.wrappedBuffer(REPLY)).addListener(ChannelFutureListener.CLOSE);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }
}
