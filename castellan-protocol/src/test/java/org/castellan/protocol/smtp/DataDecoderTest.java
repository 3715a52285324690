package org.castellan.protocol.smtp;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

class DataDecoderTest {

    /** The decoded content, what stayed unread after the end, and the decoder's verdicts. */
    record Decoded(String content, String rest, boolean ended, boolean bare, boolean longLine) {
    }

    static Decoded decode(String input, int chunk, int outSize) {
        DataDecoder d = new DataDecoder();
        byte[] bytes = input.getBytes(StandardCharsets.ISO_8859_1);
        ByteArrayOutputStream content = new ByteArrayOutputStream();
        ByteBuffer out = ByteBuffer.allocate(outSize);
        int pos = 0;
        boolean ended = false;
        while (pos < bytes.length && !ended) {
            ByteBuffer in = ByteBuffer.wrap(bytes, pos, Math.min(chunk, bytes.length - pos));
            while (true) {
                DataDecoder.Status s = d.decode(in, out);
                out.flip();
                content.write(out.array(), 0, out.limit());
                out.clear();
                if (s == DataDecoder.Status.END) {
                    ended = true;
                    break;
                }
                if (s == DataDecoder.Status.NEED_INPUT) break;
            }
            pos = in.position();
        }
        return new Decoded(content.toString(StandardCharsets.ISO_8859_1),
                new String(bytes, pos, bytes.length - pos, StandardCharsets.ISO_8859_1), ended, d.bareLineBreak(),
                d.lineTooLong());
    }

    static void assertSameAnyway(String input, Decoded expected) {
        assertThat(decode(input, input.length() + 1, 8192)).isEqualTo(expected);
        assertThat(decode(input, 1, 8192)).isEqualTo(expected);
        assertThat(decode(input, 7, 2)).isEqualTo(expected);
    }

    @Test
    void endsAtCrlfDotCrlfAndUnstuffsDots() {
        String input = "Subject: x\r\n\r\n..leading dot\r\n.x\r\nend\r\n.\r\nQUIT\r\n";
        assertSameAnyway(input, new Decoded("Subject: x\r\n\r\n.leading dot\r\nx\r\nend\r\n", "QUIT\r\n", true, false, false));
    }

    @Test
    void anEmptyMessageEndsAtOnce() {
        assertSameAnyway(".\r\n", new Decoded("", "", true, false, false));
    }

    /** CVE-2023-51766: none of these framings ends the message; the bare line break is reported. */
    @ParameterizedTest
    @ValueSource(strings = {"\n.\n", "\r.\r", "\r\n.\n", "\n.\r\n", "\r.\r\n", "\n.\r", "\r\n.\r"})
    void smugglingFramingsNeverEndTheMessage(String framing) {
        String smuggled = "a\r\nb" + framing + "MAIL FROM:<evil@x>\r\nRCPT TO:<v@y>\r\nDATA\r\nforged\r\n";
        Decoded partial = decode(smuggled, 3, 16);
        assertThat(partial.ended()).isFalse();
        assertThat(partial.bare()).isTrue();
        Decoded full = decode(smuggled + ".\r\n", 1, 8192);
        assertThat(full.ended()).isTrue();
        assertThat(full.rest()).isEmpty();
        assertThat(full.bare()).isTrue();
        assertThat(full.content()).contains("MAIL FROM:<evil@x>");
    }

    @Test
    void reportsLinesOver1000Octets() {
        String ok = "x".repeat(998) + "\r\n.\r\n";
        String tooLong = "x".repeat(999) + "\r\n.\r\n";
        assertSameAnyway(ok, new Decoded("x".repeat(998) + "\r\n", "", true, false, false));
        assertSameAnyway(tooLong, new Decoded("x".repeat(999) + "\r\n", "", true, false, true));
    }

    @Test
    void randomInputNeverBreaksTheDecoderAndSplitsDoNotMatter() {
        Random random = new Random(5321);
        byte[] alphabet = {'\r', '\n', '.', 'a', 0, (byte) 0xff};
        for (int round = 0; round < 2000; round++) {
            byte[] input = new byte[random.nextInt(200)];
            for (int i = 0; i < input.length; i++) input[i] = alphabet[random.nextInt(alphabet.length)];
            String s = new String(input, StandardCharsets.ISO_8859_1);
            Decoded whole = decode(s, s.length() + 1, 8192);
            assertThat(decode(s, 1 + random.nextInt(5), 2 + random.nextInt(4))).isEqualTo(whole);
            if (whole.ended()) {
                String consumed = s.substring(0, s.length() - whole.rest().length());
                assertThat(consumed).matches("(?s)(.*\r\n)?\\.\r\n");
            }
        }
    }

    /** Whether {@code input}, fed {@code chunk} octets at a time, reported a NUL. */
    private static boolean nul(String input, int chunk) {
        DataDecoder d = new DataDecoder();
        byte[] bytes = input.getBytes(StandardCharsets.ISO_8859_1);
        ByteBuffer out = ByteBuffer.allocate(8192);
        for (int pos = 0; pos < bytes.length; pos += chunk) {
            ByteBuffer in = ByteBuffer.wrap(bytes, pos, Math.min(chunk, bytes.length - pos));
            while (d.decode(in, out) == DataDecoder.Status.OUTPUT_FULL) out.clear();
            out.clear();
        }
        return d.nul();
    }

    /** RFC 5322 §3.5, RFC 2045 §2.8: text and 8bit data hold no NUL; BINARYMIME (RFC 3030) is not offered. */
    @Test
    void reportsNulAnywhereInTheContent() {
        for (String input : new String[] {"a\u0000b\r\n.\r\n", "\u0000\r\n.\r\n", ".\u0000\r\n.\r\n", "a\r\n\u0000\r\n.\r\n"}) {
            assertThat(nul(input, input.length())).as(input).isTrue();
            assertThat(nul(input, 1)).as(input).isTrue();
        }
        assertThat(nul("Subject: x\r\n\r\n\u0080\u00ff\r\n.\r\n", 1)).isFalse();
        // What follows the end of data is the next command, not content.
        assertThat(nul("x\r\n.\r\n\u0000", 100)).isFalse();
    }

    /**
     * RFC 5321 §4.5.2 removes only the leading dot: a CR that is not followed by LF, at the start of a line
     * after the dot or inside it, stays in the content (and is reported as a bare line break).
     */
    @Test
    void aBareCrStaysInTheContent() {
        assertSameAnyway("a\rb\r\n.\r\n", new Decoded("a\rb\r\n", "", true, true, false));
        assertSameAnyway(".\rX\r\n.\r\n", new Decoded("\rX\r\n", "", true, true, false));
    }

    /** RFC 1870 §6: the size a message is held to is that of its content, dots unstuffed, CRLFs counted. */
    @Test
    void countsTheOctetsOfTheUnstuffedContent() {
        DataDecoder d = new DataDecoder();
        ByteBuffer out = ByteBuffer.allocate(8192);
        assertThat(d.decode(ByteBuffer.wrap("..ab\r\nc\r\n.\r\n".getBytes(StandardCharsets.US_ASCII)), out)).isEqualTo(DataDecoder.Status.END);
        assertThat(d.contentBytes()).isEqualTo(".ab\r\nc\r\n".length());
        assertThat(out.position()).isEqualTo(".ab\r\nc\r\n".length());
    }

    /** A full output buffer stops the decoder with OUTPUT_FULL and nothing lost; it goes on once drained. */
    @Test
    void aFullOutputBufferIsReportedAndNothingIsLost() {
        DataDecoder d = new DataDecoder();
        ByteBuffer in = ByteBuffer.wrap("abc\r\n.\r\n".getBytes(StandardCharsets.US_ASCII));
        ByteBuffer out = ByteBuffer.allocate(3);
        StringBuilder content = new StringBuilder();
        java.util.List<DataDecoder.Status> statuses = new java.util.ArrayList<>();
        DataDecoder.Status s;
        do {
            s = d.decode(in, out);
            statuses.add(s);
            content.append(new String(out.array(), 0, out.position(), StandardCharsets.US_ASCII));
            out.clear();
        } while (s == DataDecoder.Status.OUTPUT_FULL);
        assertThat(statuses).startsWith(DataDecoder.Status.OUTPUT_FULL).endsWith(DataDecoder.Status.END);
        assertThat(content).hasToString("abc\r\n");
    }
}
