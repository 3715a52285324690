package org.castellan.server.pop3;

import org.castellan.server.testing.Transcript;
import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** RFC 1939 §5 RSET. */
class RsetTest extends ServerPerTest {

    @Test
    void unmarksEverything() {
        try (Transcript t = pop3.loggedIn()) {
            t.run("""
                    C: DELE 1
                    S: \\+OK .*
                    C: DELE 2
                    S: \\+OK .*
                    C: RSET
                    S: \\+OK Maildrop has 2 messages \\(%d octets\\)
                    C: RETR 1
                    S: \\+OK .*
                    """.formatted(totalSize()));
            t.readMultiline();
            t.run("""
                    C: QUIT
                    S: \\+OK .*\\(2 messages left\\)
                    """);
        }
        assertThat(pop3.uids()).containsExactly(firstUid, secondUid);
    }
}
