package org.castellan.server.imap;

import org.castellan.server.testing.Transcript;
import org.junit.jupiter.api.Test;

/** RFC 9051 §6.3.2 SELECT, §6.3.3 EXAMINE, §6.4.2 CLOSE, UNSELECT. */
class SelectTest extends ServerPerTest {

    @Test
    void selectReportsTheMailbox() {
        long validity = imap.store().status(imap.inbox).uidValidity();
        try (Transcript t = imap.loggedIn()) {
            t.run("""
                    C: a1 SELECT inbox
                    S: \\* 2 EXISTS
                    S: \\* 0 RECENT
                    S: \\* OK \\[UNSEEN 1\\] .*
                    S: \\* FLAGS \\(\\\\Answered \\\\Flagged \\\\Deleted \\\\Seen \\\\Draft\\)
                    S: \\* OK \\[PERMANENTFLAGS \\(\\\\Answered \\\\Flagged \\\\Deleted \\\\Seen \\\\Draft \\\\\\*\\)\\] .*
                    S: \\* OK \\[UIDVALIDITY %d\\] .*
                    S: \\* OK \\[UIDNEXT %d\\] .*
                    S: \\* OK \\[URLMECH INTERNAL\\] .*
                    S: a1 OK \\[READ-WRITE\\] SELECT completed
                    C: a2 EXAMINE Drafts (CONDSTORE)
                    S: \\* OK \\[CLOSED\\] .*
                    S: \\* 0 EXISTS
                    S: \\* 0 RECENT
                    S: \\* FLAGS .*
                    S: \\* OK \\[PERMANENTFLAGS \\(\\)\\] .*
                    S: \\* OK \\[UIDVALIDITY \\d+\\] .*
                    S: \\* OK \\[UIDNEXT 1\\] .*
                    S: \\* OK \\[HIGHESTMODSEQ \\d+\\] .*
                    S: \\* OK \\[URLMECH INTERNAL\\] .*
                    S: a2 OK \\[READ-ONLY\\] EXAMINE completed
                    C: a3 UNSELECT
                    S: a3 OK UNSELECT completed
                    C: a4 FETCH 1 FLAGS
                    S: a4 BAD Command not valid in this state
                    """.formatted(validity, secondUid + 1));
        }
    }

    @Test
    void rev2SessionGetsListAndNoRecent() {
        try (Transcript t = imap.loggedIn()) {
            t.run("""
                    C: a0 ENABLE IMAP4rev2
                    S: \\* ENABLED IMAP4rev2
                    S: a0 OK ENABLE completed
                    C: a1 SELECT INBOX
                    S: \\* 2 EXISTS
                    S: \\* FLAGS .*
                    S: \\* OK \\[PERMANENTFLAGS .*
                    S: \\* OK \\[UIDVALIDITY .*
                    S: \\* OK \\[UIDNEXT .*
                    S: \\* OK \\[URLMECH INTERNAL\\] .*
                    S: \\* LIST \\(\\) "/" INBOX
                    S: a1 OK \\[READ-WRITE\\] SELECT completed
                    """);
        }
    }

    @Test
    void missingMailboxLeavesNothingSelected() {
        try (Transcript t = imap.selected()) {
            t.run("""
                    C: a1 SELECT nosuch
                    S: \\* OK \\[CLOSED\\] .*
                    S: a1 NO \\[NONEXISTENT\\] .*
                    C: a2 FETCH 1 FLAGS
                    S: a2 BAD Command not valid in this state
                    """);
        }
    }

    @Test
    void closeExpungesSilently() {
        try (Transcript t = imap.selected()) {
            t.run("""
                    C: a1 STORE 1 +FLAGS.SILENT (\\Deleted)
                    S: a1 OK STORE completed
                    C: a2 CLOSE
                    S: a2 OK CLOSE completed
                    """);
        }
        org.assertj.core.api.Assertions.assertThat(imap.store().status(imap.inbox).messages()).isEqualTo(1);
    }
}
