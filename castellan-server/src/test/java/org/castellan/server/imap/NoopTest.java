package org.castellan.server.imap;

import org.castellan.server.testing.Transcript;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * RFC 9051 §6.1.2 NOOP: a second session hears the first one's APPEND, STORE and EXPUNGE at its
 * next NOOP, and not during FETCH by sequence number (RFC 9051 §7.5.1). RFC 3501 §6.4.1 CHECK.
 */
class NoopTest extends ServerPerTest {

    /** NOOP until its untagged responses include {@code expected}; the change may still be in flight. */
    private static List<String> noopUntil(Transcript t, String expected) {
        List<String> seen = new ArrayList<>();
        await().atMost(Duration.ofSeconds(10)).until(() -> {
            t.send("n NOOP");
            for (String line; !(line = t.readLine()).startsWith("n OK"); ) seen.add(line);
            return seen.stream().anyMatch(l -> l.matches(expected));
        });
        return seen;
    }

    @Test
    void secondSessionSeesChangesAtNoop() {
        try (Transcript watcher = imap.selected(); Transcript actor = imap.selected()) {
            actor.sendRaw("a1 APPEND INBOX {14+}\r\nSubject: new\r\n\r\n");
            List<String> appendReply = new ArrayList<>();
            for (String line; !(line = actor.readLine()).startsWith("a1 OK"); ) appendReply.add(line);
            // RFC 9051 §6.3.12: the appending session hears its own EXISTS before the OK.
            assertThat(appendReply).contains("* 3 EXISTS");
            noopUntil(watcher, "\\* 3 EXISTS");
            actor.run("""
                    C: a2 STORE 2 +FLAGS (\\Answered)
                    S: \\* 2 FETCH \\(FLAGS \\(\\\\Answered\\) UID %d\\)
                    S: a2 OK STORE completed
                    """.formatted(secondUid));
            noopUntil(watcher, "\\* 2 FETCH \\(FLAGS \\(\\\\Answered\\) UID %d\\)".formatted(secondUid));
            actor.run("""
                    C: a3 STORE 1 +FLAGS.SILENT (\\Deleted)
                    S: a3 OK .*
                    C: a4 EXPUNGE
                    S: \\* 1 EXPUNGE
                    S: a4 OK EXPUNGE completed
                    """);
            // Not during FETCH by sequence number: message 1 is still message 1 for the watcher,
            // gone, and message 2 is still message 2.
            watcher.run("""
                    C: f1 FETCH 1:2 UID
                    S: \\* 2 FETCH \\(UID %d\\)
                    S: f1 NO \\[EXPUNGEISSUED\\] .*
                    """.formatted(secondUid));
            noopUntil(watcher, "\\* 1 EXPUNGE");
            watcher.run("""
                    C: f2 FETCH 1 UID
                    S: \\* 1 FETCH \\(UID %d\\)
                    S: f2 OK FETCH completed
                    """.formatted(secondUid));
        }
    }

    /**
     * RFC 3501 §6.4.1 CHECK: a command of its own (gone from IMAP4rev2, still sent by rev1
     * clients) with its own reply; with no housekeeping to do it is like NOOP, so the client
     * hears of changes. Only in the selected state.
     */
    @Test
    void checkIsItsOwnCommand() {
        try (Transcript t = imap.loggedIn(); Transcript actor = imap.selected()) {
            t.run("""
                    C: c1 CHECK
                    S: c1 BAD Command not valid in this state
                    C: c2 SELECT INBOX
                    """);
            while (!t.readLine().startsWith("c2 OK")) {
                // untagged SELECT data
            }
            t.run("""
                    C: c3 CHECK
                    S: c3 OK CHECK completed
                    """);
            actor.sendRaw("a1 APPEND INBOX {14+}\r\nSubject: new\r\n\r\n");
            while (!actor.readLine().startsWith("a1 OK")) {
                // the appending session's own EXISTS
            }
            List<String> seen = new ArrayList<>();
            await().atMost(Duration.ofSeconds(10)).until(() -> {
                t.send("c4 CHECK");
                String line;
                while (!(line = t.readLine()).startsWith("c4 ")) seen.add(line);
                assertThat(line).isEqualTo("c4 OK CHECK completed");
                return seen.contains("* 3 EXISTS");
            });
        }
    }
}
