package org.castellan.server.transport;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;

/**
 * Counts the bytes on the wire (before TLS), for the session listing, and notes the most output
 * ever queued on the connection ({@link Connection#peakQueuedOutput}).
 */
final class ByteCounter extends ChannelDuplexHandler {

    private final Connection connection;

    ByteCounter(Connection connection) {
        this.connection = connection;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof ByteBuf b) connection.countIn(b.readableBytes());
        ctx.fireChannelRead(msg);
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
        if (msg instanceof ByteBuf b) connection.countOut(b.readableBytes());
        ctx.write(msg, promise);
        connection.noteQueuedOutput();
    }
}
