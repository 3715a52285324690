package org.castellan.protocol.pop3;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class MessageEncoderTest {

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', quoteCharacter = '"', textBlock = """
            crlf message            | "A: b\\r\\n\\r\\nbody\\r\\n"         | "A: b\\r\\n\\r\\nbody\\r\\n.\\r\\n"       | 14
            bare LF becomes CRLF    | "A: b\\n\\nbody\\n"                 | "A: b\\r\\n\\r\\nbody\\r\\n.\\r\\n"       | 14
            dots are stuffed        | "A: b\\r\\n\\r\\n.\\r\\n..x\\n.y"   | "A: b\\r\\n\\r\\n..\\r\\n...x\\r\\n..y\\r\\n.\\r\\n" | 18
            no final line end       | "A: b\\r\\n\\r\\nbody"              | "A: b\\r\\n\\r\\nbody\\r\\n.\\r\\n"       | 12
            ends with a lone CR     | "A: b\\r\\n\\r\\nbody\\r"           | "A: b\\r\\n\\r\\nbody\\r\\n.\\r\\n"       | 13
            empty message           | ""                                  | ".\\r\\n"                                 | 0
            """)
    void retrEncodesWholeMessages(String name, String stored, String sent, long octets) {
        for (int chunk : new int[] {1, 2, 3, 4096}) {
            MessageEncoder e = MessageEncoder.whole();
            assertThat(run(e, unescape(stored), chunk)).as("chunk %d", chunk).isEqualTo(unescape(sent));
            assertThat(e.contentOctets()).isEqualTo(octets);
        }
    }

    @ParameterizedTest(name = "TOP {1}")
    @CsvSource(delimiter = '|', quoteCharacter = '"', textBlock = """
            "A: 1\\nB: 2\\n\\nl1\\nl2\\nl3\\n" | 0  | "A: 1\\r\\nB: 2\\r\\n\\r\\n.\\r\\n"
            "A: 1\\nB: 2\\n\\nl1\\nl2\\nl3\\n" | 2  | "A: 1\\r\\nB: 2\\r\\n\\r\\nl1\\r\\nl2\\r\\n.\\r\\n"
            "A: 1\\nB: 2\\n\\nl1\\nl2\\nl3\\n" | 10 | "A: 1\\r\\nB: 2\\r\\n\\r\\nl1\\r\\nl2\\r\\nl3\\r\\n.\\r\\n"
            "A: 1\\r\\n\\r\\n.dot\\r\\nx"      | 1  | "A: 1\\r\\n\\r\\n..dot\\r\\n.\\r\\n"
            "A: 1\\r\\nB: 2"                   | 0  | "A: 1\\r\\nB: 2\\r\\n.\\r\\n"
            """)
    void topSendsHeaderBlankLineAndNLines(String stored, int lines, String sent) {
        for (int chunk : new int[] {1, 5, 4096}) {
            assertThat(run(MessageEncoder.top(lines), unescape(stored), chunk)).isEqualTo(unescape(sent));
        }
    }

    private static String run(MessageEncoder e, String stored, int chunk) {
        byte[] in = stored.getBytes(StandardCharsets.ISO_8859_1);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] buf = new byte[MessageEncoder.maxOutput(chunk)];
        for (int i = 0; i < in.length && !e.done(); i += chunk) {
            int n = e.encode(in, i, Math.min(chunk, in.length - i), buf, 0);
            out.write(buf, 0, n);
        }
        out.writeBytes(e.finish());
        return out.toString(StandardCharsets.ISO_8859_1);
    }

    private static String unescape(String s) {
        return s.replace("\\r", "\r").replace("\\n", "\n");
    }
}
