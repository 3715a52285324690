package org.castellan.server.imap;

import org.castellan.server.testing.Transcript;
import org.junit.jupiter.api.Test;

/**
 * RFC 2177 IDLE and RFC 9051 §7: a second session sees the first one's APPEND, STORE and
 * EXPUNGE, pushed while idling.
 */
class IdleTest extends ServerPerTest {

    @Test
    void idlingSessionSeesChangesAsTheyHappen() {
        long third = uidNext();
        try (Transcript watcher = imap.selected(); Transcript actor = imap.selected()) {
            watcher.run("""
                    C: w1 IDLE
                    S: \\+ idling
                    """);
            actor.sendRaw("a1 APPEND INBOX {14+}\r\nSubject: new\r\n\r\n");
            untilTagged(actor, "a1");
            watcher.expect("\\* 3 EXISTS");
            // RFC 3501 §7.3.2; which of the two sessions is told of it first decides the count.
            watcher.expect("\\* [01] RECENT");
            actor.send("a2 UID STORE %d +FLAGS (\\Flagged)".formatted(firstUid));
            untilTagged(actor, "a2");
            watcher.expect("\\* 1 FETCH \\(FLAGS \\(\\\\Flagged\\) UID %d\\)".formatted(firstUid));
            actor.send("a3 UID STORE %d +FLAGS.SILENT (\\Deleted)".formatted(secondUid));
            untilTagged(actor, "a3");
            watcher.expect("\\* 2 FETCH \\(FLAGS \\(\\\\Deleted\\) UID %d\\)".formatted(secondUid));
            actor.send("a4 UID EXPUNGE %d".formatted(secondUid));
            untilTagged(actor, "a4");
            watcher.expect("\\* 2 EXPUNGE");
            watcher.run("""
                    C: DONE
                    S: w1 OK IDLE terminated
                    C: w2 FETCH 2 UID
                    S: \\* 2 FETCH \\(UID %d\\)
                    S: w2 OK FETCH completed
                    """.formatted(third));
        }
    }

    /** Reads untagged lines up to the tagged OK of {@code tag}. */
    private static void untilTagged(Transcript t, String tag) {
        for (String line; !(line = t.readLine()).startsWith(tag + " OK"); ) {
            org.assertj.core.api.Assertions.assertThat(line).startsWith("* ");
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
