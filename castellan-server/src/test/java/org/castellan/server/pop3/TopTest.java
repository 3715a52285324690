package org.castellan.server.pop3;

import org.castellan.server.testing.Transcript;
import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** RFC 1939 §7 TOP. */
class TopTest extends ServerPerTest {

    @Test
    void headerBlankLineAndNLines() {
        try (Transcript t = pop3.loggedIn()) {
            t.run("""
                    C: TOP 2 1
                    S: \\+OK.*
                    """);
            assertThat(t.readMultiline()).containsExactly("Subject: two", "From: dave@example.net", "", "line 1");
            t.run("""
                    C: TOP 2 0
                    S: \\+OK.*
                    """);
            assertThat(t.readMultiline()).containsExactly("Subject: two", "From: dave@example.net", "");
            t.run("""
                    C: TOP 1 100
                    S: \\+OK.*
                    """);
            assertThat(t.readMultiline()).containsExactly("Subject: one", "From: carol@example.net", "", "Hello",
                    "..dotted");
        }
    }

    @Test
    void errors() {
        try (Transcript t = pop3.loggedIn()) {
            t.run("""
                    C: TOP 1
                    S: -ERR TOP needs a message number and a line count
                    C: TOP 3 1
                    S: -ERR No such message
                    C: DELE 1
                    S: \\+OK .*
                    C: TOP 1 1
                    S: -ERR Message 1 already deleted
                    """);
        }
    }
}
