package org.castellan.server.outbound;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Reply lines (RFC 5321 §4.2) as the client session reads them, one at a time. */
class ReplyTest {

    private static Reply.Line parse(String line) {
        byte[] bytes = line.getBytes(StandardCharsets.UTF_8);
        return Reply.parseLine(bytes, bytes.length);
    }

    @Test
    void codesContinuationAndText() {
        assertThat(parse("250-mx.example.net")).isEqualTo(new Reply.Line(250, true, "mx.example.net"));
        assertThat(parse("250 PIPELINING")).isEqualTo(new Reply.Line(250, false, "PIPELINING"));
        assertThat(parse("354")).isEqualTo(new Reply.Line(354, false, ""));
    }

    @Test
    void whatIsNotAReplyLineIsNull() {
        for (String bad : List.of("", "25", "2500 x", "abc text", "199 too low", "600 too high", "250_x")) {
            assertThat(parse(bad)).as(bad).isNull();
        }
    }

    @Test
    void controlCharactersCannotReachTheLog() {
        assertThat(parse("550 5.1.1 no\rINFO forged line\u001b[31m").text()).isEqualTo("5.1.1 no?INFO forged line?[31m");
    }

    @Test
    void theEnhancedStatusCodeIsTakenWhenItMatchesTheClass() {
        assertThat(new Reply(550, List.of("5.1.1 <x@example.net>: user unknown")).status()).isEqualTo("5.1.1");
        assertThat(new Reply(451, List.of("5.1.1 wrong class")).status()).isEqualTo("4.0.0");
        assertThat(new Reply(452, List.of("mailbox full")).status()).isEqualTo("4.0.0");
        assertThat(new Reply(250, List.of("first", "second")).oneLine()).isEqualTo("250 first second");
    }
}
