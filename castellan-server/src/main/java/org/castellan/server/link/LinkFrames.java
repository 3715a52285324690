package org.castellan.server.link;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.handler.codec.DecoderException;
import java.nio.charset.StandardCharsets;
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

    /**
     * Writes {@code payload} as frames of at most {@link #MAX_FRAME} octets; takes ownership. Each
     * frame is one direct buffer, its header and its octets together, which the TLS handler below
     * seals as it is: with the header apart it copied both into a new buffer first.
     */
    static void writeFrames(ChannelHandlerContext ctx, ByteBuf payload, ChannelPromise promise) {
        try {
            if (!payload.isReadable()) {
                promise.setSuccess();
                return;
            }
            while (payload.isReadable()) {
                int length = Math.min(payload.readableBytes(), MAX_FRAME);
                ByteBuf frame = ctx.alloc().ioBuffer(HEADER + length).writeInt(length).writeBytes(payload, length);
                ctx.write(frame, payload.isReadable() ? ctx.voidPromise() : promise);
            }
        } finally {
            payload.release();
        }
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
     * frame's octets as they arrive, a frame longer than one read in pieces, and {@link #END}.
     * Passing pieces on rather than a frame whole is what a splice needs (the client reads a
     * stream), and it spares the copy of a frame that spans reads into one buffer.
     */
    static final class Decoder extends ChannelInboundHandlerAdapter {

        /** The greeting line so far; null once it has come (or before its first octet). */
        private ByteBuf greeting;
        private boolean greeted;
        /** A length beyond {@link #MAX_FRAME} came: nothing after it is read as frames. */
        private boolean broken;
        /** Octets of the current frame not passed on yet. */
        private int left;
        /** Octets of the next frame's header read so far, and their value. */
        private int headerRead;
        private int header;
        /** Whether this read loop passed anything on (as {@link ByteToMessageDecoder}, for reads paused meanwhile). */
        private boolean passed;

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object message) {
            if (!(message instanceof ByteBuf in)) {
                ctx.fireChannelRead(message);
                return;
            }
            ByteBuf data = in;
            try {
                if (broken) return;
                if (!greeted) {
                    data = greeting == null ? ctx.alloc().buffer(in.readableBytes()) : greeting;
                    greeting = null;
                    data.writeBytes(in);
                    in.release();
                    int end = data.indexOf(data.readerIndex(), data.writerIndex(), (byte) '\n');
                    if (end < 0) {
                        if (data.readableBytes() >= LinkOpening.MAX_LINE) throw broken("no link greeting");
                        greeting = data;
                        data = null;
                        return;
                    }
                    String line = data.readCharSequence(end + 1 - data.readerIndex(), StandardCharsets.US_ASCII).toString();
                    if (!line.startsWith(LinkService.GREETING + " ")) throw broken("no link greeting");
                    greeted = true;
                }
                frames(ctx, data);
            } finally {
                if (data != null) data.release();
            }
        }

        /** Passes on the frames' octets in {@code in} and the ends among them. */
        private void frames(ChannelHandlerContext ctx, ByteBuf in) {
            while (in.isReadable()) {
                if (left > 0) {
                    int n = Math.min(left, in.readableBytes());
                    left -= n;
                    passed = true;
                    ctx.fireChannelRead(in.readRetainedSlice(n));
                    continue;
                }
                while (headerRead < HEADER && in.isReadable()) {
                    header = header << 8 | in.readUnsignedByte();
                    headerRead++;
                }
                if (headerRead < HEADER) return;
                int length = header;
                headerRead = 0;
                header = 0;
                if (length < 0 || length > MAX_FRAME) {
                    throw broken("a link frame of " + Integer.toUnsignedString(length) + " octets, above " + MAX_FRAME);
                }
                if (length == 0) {
                    passed = true;
                    ctx.fireChannelRead(END);
                } else {
                    left = length;
                }
            }
        }

        private DecoderException broken(String why) {
            broken = true;
            return new DecoderException(why);
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            // A read that brought only part of a header while reads are paused asks for the rest, as
            // ByteToMessageDecoder does: whoever paused them waits for octets this decoder holds back.
            if (!passed && !ctx.channel().config().isAutoRead()) ctx.read();
            passed = false;
            ctx.fireChannelReadComplete();
        }

        @Override
        public void handlerRemoved(ChannelHandlerContext ctx) {
            if (greeting != null) greeting.release();
            greeting = null;
        }
    }

    /** The edge's encoder: octets as frames, {@link #END} as the empty frame, a {@link Line} as it is. */
    static final class Encoder extends ChannelOutboundHandlerAdapter {

        @Override
        public void write(ChannelHandlerContext ctx, Object message, ChannelPromise promise) {
            if (message == END) {
                writeEnd(ctx, promise);
            } else if (message instanceof Line line) {
                ctx.write(Unpooled.wrappedBuffer(line.text().getBytes(StandardCharsets.UTF_8)), promise);
            } else if (message instanceof ByteBuf payload) {
                writeFrames(ctx, payload, promise);
            } else {
                ctx.write(message, promise);
            }
        }
    }
}
