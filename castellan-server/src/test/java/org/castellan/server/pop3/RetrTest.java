package org.castellan.server.pop3;

import org.castellan.server.testing.Transcript;
import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** RFC 1939 §5 RETR: byte-stuffing, CRLF, streaming of large messages. */
class RetrTest extends ServerPerTest {

    @Test
    void retrievesWithDotStuffingAndCrlf() {
        try (Transcript t = pop3.loggedIn()) {
            t.run("""
                    C: RETR 1
                    S: \\+OK %d octets
                    S: Subject: one
                    S: From: carol@example.net
                    S:
                    S: Hello
                    S: \\.\\.dotted
                    S: \\.
                    C: RETR 2
                    S: \\+OK %d octets
                    """.formatted(wireSize(FIRST), wireSize(SECOND)));
            assertThat(t.readMultiline()).containsExactly("Subject: two", "From: dave@example.net", "",
                    "line 1", "line 2", "line 3");
        }
    }

    @Test
    void bareLineFeedsGoOutAsCrlf() throws Exception {
        try (Transcript t = pop3.loggedIn()) {
            t.send("RETR 2");
            var in = t.socket().getInputStream();
            byte[] expected = ("+OK " + wireSize(SECOND) + " octets\r\n" + SECOND.replace("\n", "\r\n") + ".\r\n")
                    .getBytes(java.nio.charset.StandardCharsets.US_ASCII);
            assertThat(in.readNBytes(expected.length)).isEqualTo(expected);
        }
    }

    @Test
    void missingAndDeletedMessages() {
        try (Transcript t = pop3.loggedIn()) {
            t.run("""
                    C: RETR 9
                    S: -ERR No such message
                    C: DELE 1
                    S: \\+OK Message 1 deleted
                    C: RETR 1
                    S: -ERR Message 1 already deleted
                    C: RETR x
                    S: -ERR Invalid message number
                    """);
        }
    }

    @Test
    void largeMessageIsStreamedWhole() {
        StringBuilder big = new StringBuilder("Subject: big\r\n\r\n");
        for (int i = 0; i < 60_000; i++) big.append(i % 7 == 0 ? ".starts with a dot " : "line ").append(i).append("\r\n");
        pop3.append(big.toString());
        try (Transcript t = pop3.loggedIn()) {
            t.run("""
                    C: RETR 3
                    S: \\+OK %d octets
                    """.formatted(wireSize(big.toString())));
            var lines = t.readMultiline();
            assertThat(lines).hasSize(60_002);
            assertThat(lines.get(2)).isEqualTo("..starts with a dot 0");
            assertThat(lines.get(60_001)).isEqualTo("line 59999");
            t.run("""
                    C: NOOP
                    S: \\+OK
                    """);
        }
    }
}
