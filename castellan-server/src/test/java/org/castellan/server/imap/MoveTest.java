package org.castellan.server.imap;

import org.castellan.server.testing.Transcript;
import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** RFC 6851 MOVE and UID MOVE: COPYUID in an untagged OK, then EXPUNGE. */
class MoveTest extends ServerPerTest {

    @Test
    void moveExpungesFromTheSource() {
        long next = uidNext("Trash");
        try (Transcript t = imap.selected()) {
            t.run("""
                    C: a1 MOVE 1 Trash
                    S: \\* OK \\[COPYUID \\d+ %d %d\\] Moved
                    S: \\* 1 EXPUNGE
                    S: a1 OK MOVE completed
                    C: a2 UID MOVE %d Trash
                    S: \\* OK \\[COPYUID \\d+ %d %d\\] Moved
                    S: \\* 1 EXPUNGE
                    S: a2 OK MOVE completed
                    C: a3 NOOP
                    S: a3 OK NOOP completed
                    """.formatted(firstUid, next, secondUid, secondUid, next + 1));
        }
        assertThat(imap.store().status(imap.inbox).messages()).isZero();
    }
}
