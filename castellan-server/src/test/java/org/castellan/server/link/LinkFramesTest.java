package org.castellan.server.link;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.DecoderException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The link's frames as the edge reads and both sides write them (docs/roles.md §2): the octets of
 * a frame go on to the client as they arrive, whichever way the reads cut the frames and their
 * headers, the end frame is told apart, a length beyond the most is the end of the link; and a
 * frame leaves as one buffer, its header with its octets.
 */
class LinkFramesTest {

    /** What the decoder passes on: octets as text, and "END" for an end frame. */
    private static final class Relayed extends ChannelInboundHandlerAdapter {
        final List<String> got = new ArrayList<>();

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object message) {
            if (message == LinkFrames.END) {
                got.add("END");
                return;
            }
            ByteBuf in = (ByteBuf) message;
            got.add(in.toString(StandardCharsets.US_ASCII));
            in.release();
        }

        String octets() {
            return String.join("", got.stream().filter(s -> !s.equals("END")).toList());
        }
    }

    private final Relayed relayed = new Relayed();
    private final EmbeddedChannel edge = new EmbeddedChannel(new LinkFrames.Decoder(), relayed);

    private static byte[] frame(String payload) {
        byte[] octets = payload.getBytes(StandardCharsets.US_ASCII);
        return concat(ByteBuffer.allocate(4).putInt(octets.length).array(), octets);
    }

    private void arrive(byte[]... reads) {
        for (byte[] read : reads) edge.writeInbound(Unpooled.wrappedBuffer(read));
    }

    private static byte[] concat(byte[]... parts) {
        ByteBuf all = Unpooled.buffer();
        for (byte[] p : parts) all.writeBytes(p);
        byte[] out = new byte[all.readableBytes()];
        all.readBytes(out);
        return out;
    }

    private static byte[] greeting() {
        return (LinkService.GREETING + " castellan-node:edge/edge-1\r\n").getBytes(StandardCharsets.US_ASCII);
    }

    @Test
    void aFramesOctetsGoOnAsTheyArriveNotOnceItIsWhole() {
        byte[] answer = frame("READY\r\n* 1 EXISTS\r\na OK done\r\n");
        // The header and the answer's first line.
        arrive(concat(greeting(), Arrays.copyOf(answer, 4 + 7)));

        assertThat(relayed.octets()).as("the first part before the rest has come").isEqualTo("READY\r\n");

        arrive(Arrays.copyOfRange(answer, 4 + 7, answer.length));
        assertThat(relayed.octets()).isEqualTo("READY\r\n* 1 EXISTS\r\na OK done\r\n");
    }

    @Test
    void headersCutByTheReadsAndEndFramesAreToldApart() {
        byte[] stream = concat(greeting(), frame("one"), frame("two"), frame(""), frame("three"));
        // One octet per read: the greeting, every header and every payload cut everywhere.
        for (byte b : stream) arrive(new byte[] {b});

        assertThat(String.join("", relayed.got)).isEqualTo("onetwoENDthree");
    }

    @Test
    void aLengthBeyondTheMostEndsTheLinkAndNothingAfterIsRead() {
        byte[] tooLong = ByteBuffer.allocate(4).putInt(LinkFrames.MAX_FRAME + 1).array();
        assertThatThrownBy(() -> arrive(concat(greeting(), frame("ok"), tooLong, frame("after"))))
                .isInstanceOf(DecoderException.class).hasMessageContaining("above " + LinkFrames.MAX_FRAME);
        arrive(frame("later"));

        assertThat(relayed.got).containsExactly("ok");
    }

    @Test
    void aLinkThatDoesNotGreetIsRefused() {
        assertThatThrownBy(() -> arrive("* OK IMAP4rev2 ready\r\n".getBytes(StandardCharsets.US_ASCII)))
                .isInstanceOf(DecoderException.class).hasMessageContaining("no link greeting");
        assertThat(relayed.got).isEmpty();
    }

    @Test
    void eachFrameLeavesAsOneBufferItsHeaderWithItsOctets() {
        EmbeddedChannel node = new EmbeddedChannel(new LinkFrames.Encoder());
        byte[] big = new byte[LinkFrames.MAX_FRAME + 10];
        Arrays.fill(big, (byte) 'x');

        node.writeOutbound(Unpooled.copiedBuffer("a NOOP\r\n", StandardCharsets.US_ASCII));
        node.writeOutbound(Unpooled.wrappedBuffer(big));

        List<ByteBuf> written = new ArrayList<>();
        for (ByteBuf b; (b = node.readOutbound()) != null; ) written.add(b);
        assertThat(written).as("a buffer per frame: one, then two for the write beyond the most").hasSize(3);
        assertThat(written.get(0).readInt()).isEqualTo(8);
        assertThat(written.get(0).toString(StandardCharsets.US_ASCII)).isEqualTo("a NOOP\r\n");
        assertThat(written.get(1).readInt()).isEqualTo(LinkFrames.MAX_FRAME);
        assertThat(written.get(1).readableBytes()).isEqualTo(LinkFrames.MAX_FRAME);
        assertThat(written.get(2).readInt()).isEqualTo(10);
        assertThat(written.get(2).readableBytes()).isEqualTo(10);
        written.forEach(ByteBuf::release);
    }

    @Test
    void aWriteOfTheMostIsOneFrameAnEmptyWriteNoneAndTheOpeningLineGoesUnframed() {
        EmbeddedChannel node = new EmbeddedChannel(new LinkFrames.Encoder());
        node.writeOutbound(Unpooled.wrappedBuffer(new byte[LinkFrames.MAX_FRAME]));
        ByteBuf whole = node.readOutbound();
        assertThat(whole.readInt()).isEqualTo(LinkFrames.MAX_FRAME);
        assertThat(whole.readableBytes()).isEqualTo(LinkFrames.MAX_FRAME);
        whole.release();

        node.writeOutbound(Unpooled.EMPTY_BUFFER);
        assertThat((Object) node.readOutbound()).as("an empty write is no frame: length 0 would end the session").isNull();

        node.writeOutbound(LinkFrames.END);
        ByteBuf end = node.readOutbound();
        assertThat(ByteBufUtil.getBytes(end)).containsExactly(0, 0, 0, 0);
        end.release();

        node.writeOutbound(new LinkFrames.Line("OPEN imap\r\n"));
        ByteBuf line = node.readOutbound();
        assertThat(line.toString(StandardCharsets.UTF_8)).isEqualTo("OPEN imap\r\n");
        line.release();
    }
}
