package org.castellan.protocol.smtp;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class LineDecoderTest {

    private static List<String> whole(String input, int max) {
        LineDecoder d = new LineDecoder();
        ByteBuffer in = ByteBuffer.wrap(input.getBytes(StandardCharsets.ISO_8859_1));
        List<String> out = new ArrayList<>();
        while (in.hasRemaining()) out.add(describe(d.next(in, max)));
        return out;
    }

    private static List<String> byteAtATime(String input, int max) {
        LineDecoder d = new LineDecoder();
        List<String> out = new ArrayList<>();
        for (byte b : input.getBytes(StandardCharsets.ISO_8859_1)) out.add(describe(d.next(ByteBuffer.wrap(new byte[] {b}), max)));
        out.removeIf(s -> s.equals("more"));
        return out;
    }

    private static String describe(LineDecoder.Result r) {
        return switch (r) {
            case LineDecoder.NeedMore m -> "more";
            case LineDecoder.Line l -> "line:" + new String(l.bytes(), StandardCharsets.ISO_8859_1);
            case LineDecoder.TooLong t -> "too long";
        };
    }

    @Test
    void splitsOnCrlfAndOnBareLf() {
        String input = "EHLO a\r\nNOOP\nQUIT\r\n";
        assertThat(whole(input, 512)).containsExactly("line:EHLO a", "line:NOOP", "line:QUIT");
        assertThat(byteAtATime(input, 512)).containsExactly("line:EHLO a", "line:NOOP", "line:QUIT");
    }

    /**
     * RFC 5321 §2.3.8: lines end with CRLF. A bare LF still ends a command line (as Postfix takes
     * it), LF alone makes an empty line, CR CR LF keeps the first CR, and a bare CR ends nothing:
     * it stays inside the line, where the parser refuses it as a control character. Message
     * content is DataDecoder's, which accepts only CRLF.
     */
    @Test
    void bareLineBreaksInCommands() {
        String input = "NOOP\n\nRSET\r\r\nMAIL FROM:<a@b>\rRCPT TO:<c@d>\r\nQUIT\n";
        List<String> expected = List.of("line:NOOP", "line:", "line:RSET\r", "line:MAIL FROM:<a@b>\rRCPT TO:<c@d>", "line:QUIT");
        assertThat(whole(input, 512)).containsExactlyElementsOf(expected);
        assertThat(byteAtATime(input, 512)).containsExactlyElementsOf(expected);
    }

    @Test
    void everyPrefixNeedsMore() {
        LineDecoder d = new LineDecoder();
        for (byte b : "MAIL FROM:<a@b>\r".getBytes(StandardCharsets.US_ASCII)) {
            assertThat(d.next(ByteBuffer.wrap(new byte[] {b}), 512)).isInstanceOf(LineDecoder.NeedMore.class);
        }
        assertThat(describe(d.next(ByteBuffer.wrap(new byte[] {'\n'}), 512))).isEqualTo("line:MAIL FROM:<a@b>");
    }

    @Test
    void the512OctetLimitCountsTheCrlf() {
        String exact = "X".repeat(510) + "\r\n";
        String over = "X".repeat(511) + "\r\n";
        assertThat(whole(exact + "NOOP\r\n", 512)).containsExactly("line:" + "X".repeat(510), "line:NOOP");
        assertThat(whole(over + "NOOP\r\n", 512)).containsExactly("too long", "line:NOOP");
        assertThat(byteAtATime(over + "NOOP\r\n", 512)).containsExactly("too long", "line:NOOP");
        assertThat(whole("Y".repeat(100_000) + "\nNOOP\n", 512)).containsExactly("too long", "line:NOOP");
    }

    @Test
    void resetForgetsAPartialLine() {
        LineDecoder d = new LineDecoder();
        d.next(ByteBuffer.wrap("RSET\r\nNOO".getBytes(StandardCharsets.US_ASCII)), 512);
        d.reset();
        assertThat(describe(d.next(ByteBuffer.wrap("EHLO x\r\n".getBytes(StandardCharsets.US_ASCII)), 512)))
                .isEqualTo("line:EHLO x");
    }

    /** RFC 3207 §4.2: nothing received before the TLS handshake is used after it, a partial line included. */
    @Test
    void resetForgetsTheBytesOfALineAlreadyConsumed() {
        LineDecoder d = new LineDecoder();
        assertThat(d.next(ByteBuffer.wrap("MAIL FROM:<evil@example.org>".getBytes(StandardCharsets.US_ASCII)), 512))
                .isInstanceOf(LineDecoder.NeedMore.class);
        d.reset();
        assertThat(describe(d.next(ByteBuffer.wrap("EHLO x\r\n".getBytes(StandardCharsets.US_ASCII)), 512))).isEqualTo("line:EHLO x");
        assertThat(d.next(ByteBuffer.wrap("X".repeat(600).getBytes(StandardCharsets.US_ASCII)), 512))
                .isInstanceOf(LineDecoder.NeedMore.class);
        d.reset();
        assertThat(describe(d.next(ByteBuffer.wrap("QUIT\r\n".getBytes(StandardCharsets.US_ASCII)), 512))).isEqualTo("line:QUIT");
    }

    /** RFC 5321 §4.5.3.1.4: the limit counts a CRLF even when the client ended the line with a bare LF. */
    @Test
    void aBareLfLineIsCountedAsIfItEndedWithCrlf() {
        assertThat(whole("X".repeat(510) + "\nNOOP\n", 512)).containsExactly("line:" + "X".repeat(510), "line:NOOP");
        assertThat(whole("X".repeat(511) + "\nNOOP\n", 512)).containsExactly("too long", "line:NOOP");
        assertThat(byteAtATime("X".repeat(511) + "\nNOOP\n", 512)).containsExactly("too long", "line:NOOP");
    }
}
