package org.castellan.server.pop3;

import org.castellan.server.testing.Transcript;
import org.junit.jupiter.api.Test;

/** RFC 1939 §5 NOOP. */
class NoopTest extends ServerPerTest {

    @Test
    void answersOkOnlyInTransaction() {
        try (Transcript t = pop3.connect("pop3")) {
            t.run("""
                    S: \\+OK .*
                    C: NOOP
                    S: -ERR Command not valid in this state
                    """);
        }
        try (Transcript t = pop3.loggedIn()) {
            t.run("""
                    C: NOOP
                    S: \\+OK
                    C: noop
                    S: \\+OK
                    """);
        }
    }
}
