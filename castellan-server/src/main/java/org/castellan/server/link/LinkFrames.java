package org.castellan.server.link;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.handler.codec.DecoderException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.castellan.protocol.link.LinkOpening;

/**
 * How sessions travel one after another on a link kept open (docs/roles.md §2). The node greets
 * once per link; then for each session the edge sends its {@code OPEN} line as a line, and from
 * there both directions are frames: four octets of length (big-endian), then that many octets of
 * the session. A frame of length 0 ends the session in its sender's direction; once both sides
 * have sent theirs, the link carries nothing until the edge's next {@code OPEN}. The node's
 * answer to the opening ({@code READY} or {@code NO}) is the first octets of its frames.
 *
 * <p>Why frames and not a splice of the bytes as they come: the end of a session has to be told
 * from its octets without parsing the protocol inside, and a frame's length does that for the
 * price of four octets per write.
 */
final class LinkFrames {

    /** The octets of a frame's length. */
    static final int HEADER = 4;
    /** The most octets one frame carries; a longer write goes as several. */
    static final int MAX_FRAME = 64 * 1024;

    /** What a decoder reads for, and an encoder writes as, the frame that ends one direction of a session. */
    static final Object END = new Object() {
        @Override
        public String toString() {
            return "end of session";
        }
    };

    /** The edge's opening line, which goes unframed: written to an {@link Encoder}, sent as it is. */
    record Line(String text) {}

    private LinkFrames() {}

    /** Writes {@code payload} as frames of at most {@link #MAX_FRAME} octets; takes ownership. */
    static void writeFrames(ChannelHandlerContext ctx, ByteBuf payload, ChannelPromise promise) {
        int length = payload.readableBytes();
        if (length == 0) {
            payload.release();
            promise.setSuccess();
            return;
        }
        while (payload.readableBytes() > MAX_FRAME) {
            ctx.write(header(ctx, MAX_FRAME), ctx.voidPromise());
            ctx.write(payload.readRetainedSlice(MAX_FRAME), ctx.voidPromise());
        }
        ctx.write(header(ctx, payload.readableBytes()), ctx.voidPromise());
        ctx.write(payload, promise);
    }

    /** Writes the frame that ends this side of the session. */
    static void writeEnd(ChannelHandlerContext ctx, ChannelPromise promise) {
        ctx.write(header(ctx, 0), promise);
    }

    private static ByteBuf header(ChannelHandlerContext ctx, int length) {
        return ctx.alloc().buffer(HEADER, HEADER).writeInt(length);
    }

    /**
     * The length of the frame starting at {@code in}'s reader index, or -1 if its header has not
     * all arrived.
     *
     * @throws DecoderException for a length beyond {@link #MAX_FRAME}: the peer is not a Castellan
     *     node or edge of this version, and the link is closed
     */
    static int length(ByteBuf in) {
        if (in.readableBytes() < HEADER) return -1;
        int length = in.getInt(in.readerIndex());
        if (length < 0 || length > MAX_FRAME) {
            throw new DecoderException("a link frame of " + Integer.toUnsignedString(length) + " octets, above "
                    + MAX_FRAME);
        }
        return length;
    }

    /**
     * The edge's decoder: the node's greeting line, checked once, then frames; it passes on each
     * frame's octets and {@link #END}.
     */
    static final class Decoder extends ByteToMessageDecoder {

        private boolean greeted;

        @Override
        protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
            if (!greeted) {
                int end = in.indexOf(in.readerIndex(), in.writerIndex(), (byte) '\n');
                if (end < 0) {
                    if (in.readableBytes() >= LinkOpening.MAX_LINE) throw new DecoderException("no link greeting");
                    return;
                }
                String line = in.readCharSequence(end + 1 - in.readerIndex(), StandardCharsets.US_ASCII).toString();
                if (!line.startsWith(LinkService.GREETING + " ")) throw new DecoderException("no link greeting");
                greeted = true;
            }
            int length;
            while ((length = length(in)) >= 0 && in.readableBytes() >= HEADER + length) {
                in.skipBytes(HEADER);
                out.add(length == 0 ? END : in.readRetainedSlice(length));
            }
        }
    }

    /** The edge's encoder: octets as frames, {@link #END} as the empty frame, a {@link Line} as it is. */
    static final class Encoder extends ChannelOutboundHandlerAdapter {

        @Override
        public void write(ChannelHandlerContext ctx, Object message, ChannelPromise promise) {
            if (message == END) {
                writeEnd(ctx, promise);
            } else if (message instanceof Line line) {
                ctx.write(io.netty.buffer.Unpooled.wrappedBuffer(line.text().getBytes(StandardCharsets.UTF_8)), promise);
            } else if (message instanceof ByteBuf payload) {
                writeFrames(ctx, payload, promise);
            } else {
                ctx.write(message, promise);
            }
        }
    }
}
