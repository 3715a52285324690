package org.castellan.server.transport;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.LineBasedFrameDecoder;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import java.nio.charset.StandardCharsets;

/**
 * A line protocol small enough to see the transport through: a greeting naming the session,
 * then every line echoed; {@code STARTTLS} starts TLS the way real protocols must (TLS handler
 * in place before the reply, pipelined plaintext dropped).
 */
final class EchoService implements ProtocolService {

    @Override
    public void open(Connection connection, ChannelPipeline pipeline) {
        LineBasedFrameDecoder lines = new LineBasedFrameDecoder(1000);
        pipeline.addLast("lines", lines);
        pipeline.addLast(new SimpleChannelInboundHandler<ByteBuf>() {
            private boolean awaitingHandshake;

            @Override
            protected void channelRead0(ChannelHandlerContext ctx, ByteBuf line) {
                // Lines decoded after STARTTLS but before the handshake arrived in cleartext
                // behind the command: never act on them.
                if (awaitingHandshake) return;
                String text = line.toString(StandardCharsets.US_ASCII);
                if (text.equals("STARTTLS")) {
                    awaitingHandshake = true;
                    connection.startTls();
                    // A fresh decoder: the old one's buffered remainder is handed on once and
                    // dropped above, so it can never prefix the first line read over TLS.
                    ctx.pipeline().replace("lines", "lines", new LineBasedFrameDecoder(1000));
                    send(ctx, "GO");
                } else {
                    send(ctx, "echo " + text);
                }
            }

            @Override
            public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
                if (evt instanceof SslHandshakeCompletionEvent done && done.isSuccess()) awaitingHandshake = false;
                ctx.fireUserEventTriggered(evt);
            }
        });
        send(pipeline.firstContext(), "hello " + connection.logId());
    }

    private static void send(ChannelHandlerContext ctx, String line) {
        ctx.channel().writeAndFlush(Unpooled.copiedBuffer(line + "\r\n", StandardCharsets.US_ASCII));
    }
}
