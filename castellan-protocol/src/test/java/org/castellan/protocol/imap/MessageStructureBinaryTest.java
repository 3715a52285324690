package org.castellan.protocol.imap;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.List;
import org.castellan.protocol.imap.MessageStructure.BinaryContent;
import org.junit.jupiter.api.Test;

/** RFC 3516 §4.2 BINARY[part]: the part's content with its transfer encoding undone. */
class MessageStructureBinaryTest {

    private static final String MESSAGE = "Subject: parts\r\nContent-Type: multipart/mixed; boundary=X\r\n\r\n"
            + "--X\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\nAAEC\r\n/wA=\r\n"
            + "--X\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: Quoted-Printable\r\n\r\n"
            + "caf=C3=A9 =\r\nsoft break=3D\r\n"
            + "--X\r\nContent-Type: text/plain\r\n\r\nplain 8bit \u00e9\r\n"
            + "--X\r\nContent-Type: application/x-thing\r\nContent-Transfer-Encoding: x-uuencode\r\n\r\nbegin 644 x\r\n"
            + "--X--\r\n";

    private static BinaryContent binary(Integer... part) {
        byte[] bytes = MESSAGE.getBytes(StandardCharsets.UTF_8);
        return MessageStructure.parse(bytes).binary(bytes, List.of(part));
    }

    private static byte[] decoded(Integer... part) {
        return ((BinaryContent.Decoded) binary(part)).bytes();
    }

    @Test
    void base64AndQuotedPrintableAreDecodedOtherEncodingsKeptOrRefused() {
        assertThat(decoded(1)).containsExactly(0, 1, 2, 0xff, 0);
        assertThat(new String(decoded(2), StandardCharsets.UTF_8)).isEqualTo("caf\u00e9 soft break=");
        assertThat(new String(decoded(3), StandardCharsets.UTF_8)).isEqualTo("plain 8bit \u00e9");
        assertThat(binary(4)).isEqualTo(new BinaryContent.UnknownEncoding("x-uuencode"));
        assertThat(binary(5)).isInstanceOf(BinaryContent.Missing.class);
        assertThat(binary(1, 2)).isInstanceOf(BinaryContent.Missing.class);
        assertThat(decoded()).isEqualTo(MESSAGE.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void aSinglePartMessageIsPartOne() {
        byte[] bytes = "Content-Transfer-Encoding: base64\r\n\r\naGVsbG8=\r\n".getBytes(StandardCharsets.US_ASCII);
        assertThat(((BinaryContent.Decoded) MessageStructure.parse(bytes).binary(bytes, List.of(1))).bytes())
                .isEqualTo("hello".getBytes(StandardCharsets.US_ASCII));
    }
}
