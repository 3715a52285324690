package org.castellan.server.pop3;

import org.castellan.server.testing.Transcript;
import org.junit.jupiter.api.Test;

/** RFC 1939 §5 LIST, with the RFC's examples. */
class ListTest extends ServerPerTest {

    @Test
    void scanListingOfAllAndOne() {
        try (Transcript t = pop3.loggedIn()) {
            t.run("""
                    C: LIST
                    S: \\+OK 2 messages \\(%d octets\\)
                    S: 1 %d
                    S: 2 %d
                    S: \\.
                    C: LIST 2
                    S: \\+OK 2 %d
                    C: LIST 3
                    S: -ERR No such message
                    C: LIST 0
                    S: -ERR Invalid message number
                    """.formatted(totalSize(), wireSize(FIRST), wireSize(SECOND), wireSize(SECOND)));
        }
    }

    @Test
    void deletedMessagesAreLeftOut() {
        try (Transcript t = pop3.loggedIn()) {
            t.run("""
                    C: DELE 1
                    S: \\+OK .*
                    C: LIST
                    S: \\+OK 1 messages .*
                    S: 2 %d
                    S: \\.
                    C: LIST 1
                    S: -ERR Message 1 already deleted
                    """.formatted(wireSize(SECOND)));
        }
    }
}
