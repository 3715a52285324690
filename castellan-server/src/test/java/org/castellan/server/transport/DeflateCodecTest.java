package org.castellan.server.transport;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import java.io.ByteArrayOutputStream;
import java.util.zip.Deflater;
import org.junit.jupiter.api.Test;

class DeflateCodecTest {

    /** Stands in for a session: counts what it gets and stops reading after the first chunk, as a busy session does. */
    private static final class BusyAfterFirstChunk extends ChannelInboundHandlerAdapter {
        long received;
        int chunks;

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ByteBuf b = (ByteBuf) msg;
            received += b.readableBytes();
            chunks++;
            b.release();
            ctx.channel().config().setAutoRead(false);
        }
    }

    private static byte[] deflate(byte[] plain) {
        Deflater d = new Deflater(Deflater.BEST_COMPRESSION, true);
        d.setInput(plain);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] buf = new byte[8192];
        int n;
        do {
            n = d.deflate(buf, 0, buf.length, Deflater.SYNC_FLUSH);
            out.write(buf, 0, n);
        } while (n == buf.length || !d.needsInput());
        d.end();
        return out.toByteArray();
    }

    @Test
    void aWellCompressedReadIsNotInflatedWhileTheSessionDoesNotRead() {
        byte[] plain = "a NOOP\r\n".repeat(1_000_000).getBytes();
        byte[] bomb = deflate(plain);
        assertThat(bomb.length).isLessThan(DeflateCodec.CHUNK * 4);
        BusyAfterFirstChunk session = new BusyAfterFirstChunk();
        EmbeddedChannel ch = new EmbeddedChannel(new DeflateCodec(), session);

        ch.writeInbound(Unpooled.wrappedBuffer(bomb));
        assertThat(session.chunks).isEqualTo(1);
        assertThat(session.received).isEqualTo(DeflateCodec.CHUNK);

        // Each read the session asks for yields one more chunk; in the end everything arrives, intact.
        while (session.received < plain.length) {
            int before = session.chunks;
            ch.config().setAutoRead(true);
            assertThat(session.chunks).isEqualTo(before + 1);
        }
        assertThat(session.received).isEqualTo(plain.length);
        ch.finishAndReleaseAll();
    }

    @Test
    void inputThatIsNotDeflateFailsTheChannel() {
        EmbeddedChannel ch = new EmbeddedChannel(new DeflateCodec(), new ChannelInboundHandlerAdapter());
        assertThatThrownBy(
                () -> ch.writeInbound(Unpooled.wrappedBuffer(new byte[] {(byte) 0xff, (byte) 0xff, (byte) 0xff, 0x00})))
                .hasMessageContaining("not valid DEFLATE");
        ch.finishAndReleaseAll();
    }
}
