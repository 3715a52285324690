package org.castellan.server.imap;

import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * RFC 2177 IDLE and RFC 9051 §7: a second session sees the first one's APPEND, STORE and
 * EXPUNGE, pushed while idling.
 */
class IdleTest extends ServerPerTest {

    @Test
    void idlingSessionSeesChangesAsTheyHappen() {
        try (Transcript watcher = imap.selected(); Transcript actor = imap.selected()) {
            watcher.run("""
                    C: w1 IDLE
                    S: \\+ idling
                    """);
            actor.run("""
                    C: a1 APPEND INBOX {13+}
                    C: Subject: new
                    C:
                    S: (\\* 3 EXISTS|a1 OK .*)
                    """);
            watcher.expect("\\* 3 EXISTS");
            actor.run("""
                    C: a2 UID STORE %d +FLAGS (\\Flagged)
                    S: .*
                    """.formatted(firstUid));
            watcher.expect("\\* 1 FETCH \\(FLAGS \\(\\\\Flagged\\) UID %d\\)".formatted(firstUid));
            actor.run("""
                    C: a3 UID STORE %d +FLAGS.SILENT (\\Deleted)
                    S: .*
                    C: a4 UID EXPUNGE %d
                    """.formatted(secondUid, secondUid));
            watcher.expect("\\* 2 FETCH \\(FLAGS \\(\\\\Deleted\\) UID %d\\)".formatted(secondUid));
            watcher.expect("\\* 2 EXPUNGE");
            watcher.run("""
                    C: DONE
                    S: w1 OK IDLE terminated
                    C: w2 FETCH 2 UID
                    S: \\* 2 FETCH \\(UID %d\\)
                    S: w2 OK FETCH completed
                    """.formatted(secondUid + 1));
        }
    }

    @Test
    void badLineEndsIdle() {
        try (Transcript t = imap.selected()) {
            t.run("""
                    C: w1 IDLE
                    S: \\+ idling
                    C: w2 NOOP
                    S: w1 BAD Expected DONE
                    C: w3 NOOP
                    S: w3 OK NOOP completed
                    """);
        }
    }
}
