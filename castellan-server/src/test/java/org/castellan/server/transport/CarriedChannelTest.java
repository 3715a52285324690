package org.castellan.server.transport;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A session carried on a link (docs/roles.md §2) sees a channel like a socket's: octets arrive
 * in order, wait while it has paused reading and tell the link to wait too, and what it writes
 * waits while the link takes no more, with the session's writability following. The link here is
 * an {@link EmbeddedChannel}, whose event loop the carried channel shares, and the carrier records
 * what it is given, as the link's framing would send it.
 */
class CarriedChannelTest {

    /** The link's side, recording. */
    private static final class Link implements CarriedChannel.Carrier {
        final List<String> sent = new ArrayList<>();
        /** What was sent and the end, in order. */
        final List<String> events = new ArrayList<>();
        boolean writable = true;
        int flushes;
        int ended;
        int drained;

        @Override
        public void send(ByteBuf payload) {
            sent.add(payload.toString(StandardCharsets.US_ASCII));
            events.add(payload.toString(StandardCharsets.US_ASCII));
            payload.release();
        }

        @Override
        public void flush() {
            flushes++;
        }

        @Override
        public boolean writable() {
            return writable;
        }

        @Override
        public void ended() {
            ended++;
            events.add("end");
        }

        @Override
        public void drained() {
            drained++;
        }
    }

    /** A session that reads into a list and stops reading after each read while {@code pauseAfterEach}. */
    private static final class Reader extends ChannelInboundHandlerAdapter {
        final List<String> read = new ArrayList<>();
        boolean pauseAfterEach;

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object message) {
            ByteBuf in = (ByteBuf) message;
            read.add(in.toString(StandardCharsets.US_ASCII));
            in.release();
            if (pauseAfterEach) ctx.channel().config().setAutoRead(false);
        }
    }

    private final EmbeddedChannel link = new EmbeddedChannel();
    private final Link carrier = new Link();
    private final CarriedChannel session = new CarriedChannel(link, carrier, new InetSocketAddress("192.0.2.7", 50000));
    private final Reader reader = new Reader();

    CarriedChannelTest() {
        link.eventLoop().register(session).syncUninterruptibly();
        session.pipeline().addLast(reader);
    }

    private static ByteBuf octets(String text) {
        return Unpooled.copiedBuffer(text, StandardCharsets.US_ASCII);
    }

    @Test
    void octetsWaitWhileTheSessionHasPausedReadingAndComeInOrderAfter() {
        assertThat(session.remoteAddress()).isEqualTo(new InetSocketAddress("192.0.2.7", 50000));
        reader.pauseAfterEach = true;
        session.receive(octets("a NOOP\r\n"));
        session.receive(octets("b NOOP\r\n"));
        session.receive(octets("c NOOP\r\n"));

        assertThat(reader.read).containsExactly("a NOOP\r\n");
        assertThat(session.holdsInput()).as("the link is to stop reading").isTrue();

        session.config().setAutoRead(true);
        assertThat(reader.read).containsExactly("a NOOP\r\n", "b NOOP\r\n");

        reader.pauseAfterEach = false;
        session.read();
        assertThat(reader.read).containsExactly("a NOOP\r\n", "b NOOP\r\n", "c NOOP\r\n");
        assertThat(session.holdsInput()).isFalse();
        assertThat(carrier.drained).as("the link may read again").isPositive();
    }

    @Test
    void writesWaitWhileTheLinkIsFullAndTheSessionIsNotWritableMeanwhile() {
        carrier.writable = false;
        byte[] big = new byte[Transport.WRITE_HIGH_WATER + 1];
        java.util.Arrays.fill(big, (byte) 'x');
        session.writeAndFlush(octets("* first\r\n"));
        session.writeAndFlush(Unpooled.wrappedBuffer(big));

        assertThat(carrier.sent).isEmpty();
        assertThat(session.isWritable()).as("above the high-water mark while the link takes nothing").isFalse();

        carrier.writable = true;
        session.linkWritable();
        assertThat(carrier.sent).hasSize(2);
        assertThat(carrier.sent.get(0)).isEqualTo("* first\r\n");
        assertThat(carrier.sent.get(1)).hasSize(big.length);
        assertThat(session.isWritable()).isTrue();
        assertThat(carrier.flushes).isPositive();
    }

    @Test
    void theWritesOfOneFlushGoToTheLinkTogether() {
        session.write(octets("* 1 EXISTS\r\n"));
        session.write(octets("* 0 RECENT\r\n"));
        session.writeAndFlush(octets("a OK done\r\n"));

        assertThat(carrier.sent).as("one frame for the response, not one per line")
                .containsExactly("* 1 EXISTS\r\n* 0 RECENT\r\na OK done\r\n");
        assertThat(carrier.flushes).isEqualTo(1);
    }

    @Test
    void aSessionClosedWhenItsLastLineIsWrittenEndsAfterThatLine() {
        session.write(octets("* BYE logging out\r\n"));
        session.writeAndFlush(octets("a OK LOGOUT completed\r\n")).addListener(ChannelFutureListener.CLOSE);

        assertThat(carrier.events).containsExactly("* BYE logging out\r\na OK LOGOUT completed\r\n", "end");
    }

    @Test
    void closingEndsTheSessionOnceAndDropsWhatItHadNotRead() {
        reader.pauseAfterEach = true;
        session.receive(octets("a NOOP\r\n"));
        ByteBuf unread = octets("b NOOP\r\n");
        session.receive(unread);

        session.close().syncUninterruptibly();
        session.close().syncUninterruptibly();
        session.receive(octets("c NOOP\r\n"));

        assertThat(carrier.ended).as("one end frame").isEqualTo(1);
        assertThat(unread.refCnt()).as("released, not leaked").isZero();
        assertThat(reader.read).containsExactly("a NOOP\r\n");
        assertThat(session.isActive()).isFalse();
        assertThat(link.isActive()).as("the link outlives the session").isTrue();
    }
}
