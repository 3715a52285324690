package org.castellan.server.pop3;

import org.castellan.server.testing.Transcript;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

/** RFC 1939 §7 UIDL: stable across sessions and restarts, unique per message. */
class UidlTest extends ServerPerTest {

    @Test
    void listingAndOne() {
        List<String> first;
        try (Transcript t = pop3.loggedIn()) {
            t.run("""
                    C: UIDL
                    S: \\+OK.*
                    """);
            first = t.readMultiline();
            assertThat(first).hasSize(2).allMatch(l -> l.matches("[12] [\\x21-\\x7e]{1,70}"));
            assertThat(first.get(0).split(" ")[1]).isNotEqualTo(first.get(1).split(" ")[1]);
            t.run("""
                    C: UIDL 2
                    S: \\+OK %s
                    C: UIDL 3
                    S: -ERR No such message
                    C: DELE 1
                    S: \\+OK .*
                    C: UIDL
                    S: \\+OK.*
                    S: %s
                    S: \\.
                    C: QUIT
                    S: \\+OK .*
                    """.formatted(first.get(1), first.get(1)));
        }
        // After the deletion, the remaining message is number 1 but keeps its id.
        try (Transcript t = pop3.loggedIn()) {
            t.run("""
                    C: UIDL 1
                    S: \\+OK 1 %s
                    """.formatted(first.get(1).split(" ")[1]));
        }
    }
}
