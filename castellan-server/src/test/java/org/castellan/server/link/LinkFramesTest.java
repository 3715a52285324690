package org.castellan.server.link;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.DecoderException;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.castellan.protocol.link.LinkOpening;
import org.junit.jupiter.api.Test;

/**
 * The link's framing (docs/roles.md §2) at its edges: a write of exactly {@link LinkFrames#MAX_FRAME}
 * octets is one frame and one octet more makes two; an empty write sends nothing, while the end of
 * a session is the frame of length 0; the opening line goes unframed. The edge's decoder wants the
 * node's greeting first, reads a frame only once all of it has arrived, however the octets are
 * split, and ends the link at a length beyond {@link LinkFrames#MAX_FRAME}.
 */
class LinkFramesTest {

    private static final byte[] GREETING = (LinkService.GREETING + " node-1\r\n").getBytes(StandardCharsets.US_ASCII);

    /** The octets the encoder writes for each message, in order. */
    private static byte[] encoded(Object... messages) {
        EmbeddedChannel channel = new EmbeddedChannel(new LinkFrames.Encoder());
        for (Object m : messages) channel.writeOutbound(m);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (ByteBuf b; (b = channel.readOutbound()) != null; ) {
            byte[] bytes = new byte[b.readableBytes()];
            b.readBytes(bytes);
            b.release();
            out.writeBytes(bytes);
        }
        return out.toByteArray();
    }

    /** The frame lengths in {@code octets}, each frame's octets checked to be there. */
    private static List<Integer> lengths(byte[] octets) {
        List<Integer> lengths = new ArrayList<>();
        ByteBuffer in = ByteBuffer.wrap(octets);
        while (in.hasRemaining()) {
            int length = in.getInt();
            lengths.add(length);
            in.position(in.position() + length);
        }
        return lengths;
    }

    private static List<Object> decode(EmbeddedChannel channel, byte[]... pieces) {
        List<Object> out = new ArrayList<>();
        for (byte[] piece : pieces) {
            channel.writeInbound(Unpooled.wrappedBuffer(piece));
            for (Object o; (o = channel.readInbound()) != null; ) out.add(o);
        }
        return out;
    }

    private static byte[] frame(byte[] payload) {
        return ByteBuffer.allocate(LinkFrames.HEADER + payload.length).putInt(payload.length).put(payload).array();
    }

    @Test
    void writesAreCutIntoFramesOfAtMostTheLimit() {
        int max = LinkFrames.MAX_FRAME;
        assertThat(lengths(encoded(Unpooled.wrappedBuffer(new byte[max])))).containsExactly(max);
        assertThat(lengths(encoded(Unpooled.wrappedBuffer(new byte[max + 1])))).containsExactly(max, 1);
        assertThat(lengths(encoded(Unpooled.wrappedBuffer(new byte[2 * max])))).containsExactly(max, max);
        assertThat(lengths(encoded(Unpooled.wrappedBuffer(new byte[2 * max + 5])))).containsExactly(max, max, 5);

        byte[] text = "a1 NOOP\r\n".getBytes(StandardCharsets.US_ASCII);
        assertThat(encoded(Unpooled.wrappedBuffer(text))).isEqualTo(frame(text));
        assertThat(encoded(Unpooled.EMPTY_BUFFER)).as("an empty write is no frame, which would end the session").isEmpty();
        assertThat(encoded(LinkFrames.END)).containsExactly(0, 0, 0, 0);
        assertThat(encoded(new LinkFrames.Line("OPEN imap\r\n"))).isEqualTo("OPEN imap\r\n".getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void framesAreReadWholeAfterTheGreetingHoweverTheOctetsAreSplit() {
        byte[] first = "* OK ready\r\n".getBytes(StandardCharsets.US_ASCII);
        byte[] second = new byte[LinkFrames.MAX_FRAME];
        second[second.length - 1] = 7;
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        all.writeBytes(GREETING);
        all.writeBytes(frame(first));
        all.writeBytes(frame(second));
        all.writeBytes(frame(new byte[0]));
        byte[] octets = all.toByteArray();

        for (int split : new int[] {1, GREETING.length, GREETING.length + 3, GREETING.length + 4, GREETING.length + 5,
                octets.length - 5, octets.length - 1}) {
            EmbeddedChannel channel = new EmbeddedChannel(new LinkFrames.Decoder());
            byte[] head = Arrays.copyOfRange(octets, 0, split);
            byte[] tail = Arrays.copyOfRange(octets, split, octets.length);
            List<Object> out = decode(channel, head, tail);
            assertThat(out).as("split at %d", split).hasSize(3);
            assertThat(bytes(out.get(0))).isEqualTo(first);
            assertThat(bytes(out.get(1))).isEqualTo(second);
            assertThat(out.get(2)).isSameAs(LinkFrames.END);
        }
    }

    @Test
    void aLinkWithoutTheGreetingOrWithAFrameOverTheLimitIsRefused() {
        assertThatThrownBy(() -> decode(new EmbeddedChannel(new LinkFrames.Decoder()),
                "* OK IMAP4rev2 ready\r\n".getBytes(StandardCharsets.US_ASCII))).isInstanceOf(DecoderException.class);
        assertThatThrownBy(() -> decode(new EmbeddedChannel(new LinkFrames.Decoder()),
                new byte[LinkOpening.MAX_LINE])).isInstanceOf(DecoderException.class);

        byte[] tooLong = ByteBuffer.allocate(LinkFrames.HEADER).putInt(LinkFrames.MAX_FRAME + 1).array();
        assertThatThrownBy(() -> decode(new EmbeddedChannel(new LinkFrames.Decoder()), GREETING, tooLong))
                .isInstanceOf(DecoderException.class).hasMessageContaining("65537 octets");
        byte[] negative = ByteBuffer.allocate(LinkFrames.HEADER).putInt(-1).array();
        assertThatThrownBy(() -> decode(new EmbeddedChannel(new LinkFrames.Decoder()), GREETING, negative))
                .isInstanceOf(DecoderException.class).hasMessageContaining("4294967295 octets");
        byte[] atTheLimit = ByteBuffer.allocate(LinkFrames.HEADER).putInt(LinkFrames.MAX_FRAME).array();
        assertThat(decode(new EmbeddedChannel(new LinkFrames.Decoder()), GREETING, atTheLimit))
                .as("a frame of the most octets waits for them").isEmpty();
    }

    private static byte[] bytes(Object message) {
        ByteBuf b = (ByteBuf) message;
        byte[] out = new byte[b.readableBytes()];
        b.readBytes(out);
        b.release();
        return out;
    }
}
