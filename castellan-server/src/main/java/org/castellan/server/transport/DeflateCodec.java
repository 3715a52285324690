package org.castellan.server.transport;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.DecoderException;
import io.netty.util.ReferenceCountUtil;
import java.util.zip.DataFormatException;
import java.util.zip.Deflater;
import java.util.zip.Inflater;

/**
 * Raw DEFLATE both ways, for IMAP COMPRESS=DEFLATE (RFC 4978): what is read is inflated, what is
 * written is deflated and sync-flushed per write, so a response (an IDLE update, one message of a
 * large FETCH) is never held back waiting for more output (RFC 4978 §4).
 *
 * <p>The JDK's zlib with {@code nowrap}: RFC 4978 §4 asks for raw DEFLATE, no zlib header
 * (windowBits -8 to -15). Inflated bytes go up in chunks of {@link #CHUNK}, and only while the
 * channel reads (see {@link #inflate}); the protocol's own limits on lines and literals apply to
 * them as to uncompressed input. A stream that does not
 * inflate, or that ends (a final block), fails the channel and the connection closes.
 */
final class DeflateCodec extends ChannelDuplexHandler {

    static final String NAME = "deflate";

    /** Bytes per inflated buffer passed on: bounds one buffer, however well the input compresses. */
    static final int CHUNK = 16 * 1024;

    /** RFC 4978 §4 leaves the level to the implementation; zlib's default trades CPU and ratio well. */
    private static final int LEVEL = Deflater.DEFAULT_COMPRESSION;

    private final Inflater inflater = new Inflater(true);
    private final Deflater deflater = new Deflater(LEVEL, true);
    private final byte[] outChunk = new byte[CHUNK];
    /** Compressed bytes read but not inflated yet; null when there are none. */
    private ByteBuf compressed;

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof ByteBuf in)) {
            ctx.fireChannelRead(msg);
            return;
        }
        try {
            if (compressed == null) compressed = ctx.alloc().buffer(in.readableBytes());
            compressed.writeBytes(in);
        } finally {
            ReferenceCountUtil.release(in);
        }
        inflate(ctx);
    }

    /**
     * Resumes inflating what an earlier read left when the session stopped reading; only when all
     * of it is consumed does the socket get read again.
     */
    @Override
    public void read(ChannelHandlerContext ctx) {
        inflate(ctx);
        if (compressed == null) ctx.read();
    }

    /**
     * Inflates held input one chunk at a time while the channel reads: a session that turns
     * auto-read off (busy with a command) stops the inflation too, so a few kilobytes of
     * well-compressed input never expand into megabytes queued in memory.
     */
    private void inflate(ChannelHandlerContext ctx) {
        while (compressed != null && ctx.channel().isActive()) {
            ByteBuf out = ctx.alloc().heapBuffer(CHUNK);
            int n;
            try {
                inflater.setInput(compressed.nioBuffer());
                int before = compressed.readableBytes();
                n = inflater.inflate(out.array(), out.arrayOffset() + out.writerIndex(), CHUNK);
                compressed.skipBytes(before - inflater.getRemaining());
            } catch (DataFormatException e) {
                out.release();
                releaseInput();
                throw new DecoderException("compressed input is not valid DEFLATE: " + e.getMessage());
            }
            if (inflater.finished() || inflater.needsDictionary()) {
                out.release();
                releaseInput();
                throw new DecoderException("compressed input ended its DEFLATE stream");
            }
            boolean drained = !compressed.isReadable() && n < CHUNK;
            if (drained) releaseInput();
            if (n > 0) {
                out.writerIndex(out.writerIndex() + n);
                ctx.fireChannelRead(out);
            } else {
                out.release();
            }
            if (drained || !ctx.channel().config().isAutoRead()) return;
        }
    }

    private void releaseInput() {
        if (compressed != null) {
            compressed.release();
            compressed = null;
        }
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
        if (!(msg instanceof ByteBuf data)) {
            ctx.write(msg, promise);
            return;
        }
        ByteBuf out;
        try {
            deflater.setInput(data.nioBuffer());
            out = ctx.alloc().buffer(Math.max(64, data.readableBytes() / 2 + 64));
            // Deflater: with SYNC_FLUSH, output that fills the whole array means there is more to come.
            int n;
            do {
                n = deflater.deflate(outChunk, 0, outChunk.length, Deflater.SYNC_FLUSH);
                out.writeBytes(outChunk, 0, n);
            } while (n == outChunk.length || !deflater.needsInput());
        } finally {
            ReferenceCountUtil.release(data);
        }
        ctx.write(out, promise);
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        releaseInput();
        inflater.end();
        deflater.end();
    }
}
