package org.castellan.server.pop3;

import org.castellan.server.testing.Transcript;
import org.junit.jupiter.api.Test;

/** RFC 1939 §5 STAT. */
class StatTest extends ServerPerTest {

    @Test
    void countsAndOctetsWithCrlfLineEnds() {
        try (Transcript t = pop3.loggedIn()) {
            t.run("""
                    C: STAT
                    S: \\+OK 2 %d
                    """.formatted(totalSize()));
        }
    }

    @Test
    void deletedMessagesAreNotCountedAndNewMailWaitsForTheNextSession() {
        try (Transcript t = pop3.loggedIn()) {
            pop3.append("Subject: three\r\n\r\nlate\r\n");
            t.run("""
                    C: DELE 1
                    S: \\+OK .*
                    C: STAT
                    S: \\+OK 1 %d
                    """.formatted(wireSize(SECOND)));
        }
    }
}
