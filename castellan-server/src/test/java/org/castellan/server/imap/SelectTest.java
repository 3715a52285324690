package org.castellan.server.imap;

import org.castellan.server.testing.Transcript;
import org.junit.jupiter.api.Test;

/** RFC 9051 §6.3.2 SELECT, §6.3.3 EXAMINE, §6.4.2 CLOSE, UNSELECT. */
class SelectTest extends ServerPerTest {

    @Test
    void selectReportsTheMailbox() {
        long validity = imap.store().status(imap.inbox).uidValidity();
        long next = uidNext();
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
                    S: \\* OK \\[UIDNEXT %d\\] .*
                    S: \\* OK \\[HIGHESTMODSEQ \\d+\\] .*
                    S: \\* OK \\[URLMECH INTERNAL\\] .*
                    S: a2 OK \\[READ-ONLY\\] EXAMINE completed
                    C: a3 UNSELECT
                    S: a3 OK UNSELECT completed
                    C: a4 FETCH 1 FLAGS
                    S: a4 BAD Command not valid in this state
                    """.formatted(validity, next, uidNext("Drafts")));
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

    /**
     * RFC 3501 §5.1.3: "&Jjo!" and "&U,BTFw-&ZeVnLIqe-" are not valid modified UTF-7 ("&AGE-"
     * encodes a printable "a"). A mailbox name is an astring (§9), so the commands are well formed:
     * no BAD, but no mailbox has such a name, and none can be given it.
     */
    @Test
    void namesNotValidModifiedUtf7NameNoMailbox() {
        try (Transcript t = imap.selected()) {
            t.run("""
                    C: a1 COPY 1 "&Jjo!"
                    S: a1 NO \\[NONEXISTENT\\] .*
                    C: a2 MOVE 1 &AGE-
                    S: a2 NO \\[NONEXISTENT\\] .*
                    C: a3 STATUS "&Jjo!" (MESSAGES)
                    S: a3 NO \\[NONEXISTENT\\] .*
                    C: a4 APPEND "&Jjo!" {5+}
                    C: Hello
                    S: a4 NO \\[NONEXISTENT\\] .*
                    C: a5 DELETE "&Jjo!"
                    S: a5 NO \\[NONEXISTENT\\] .*
                    C: a6 RENAME "&Jjo!" Elsewhere
                    S: a6 NO \\[NONEXISTENT\\] .*
                    C: a7 RENAME Drafts &U,BTFw-&ZeVnLIqe-
                    S: a7 NO \\[CANNOT\\] .*
                    C: a8 CREATE &AGE-
                    S: a8 NO \\[CANNOT\\] .*
                    C: a9 SUBSCRIBE "&Jjo!"
                    S: a9 NO \\[CANNOT\\] .*
                    C: b1 UNSUBSCRIBE "&Jjo!"
                    S: b1 NO \\[NONEXISTENT\\] .*
                    C: b2 GETQUOTAROOT "&Jjo!"
                    S: b2 NO \\[NONEXISTENT\\] .*
                    # RFC 5258 §3: a pattern the server does not accept matches nothing; the others still do.
                    C: b3 LIST "" ("&Jjo!" INBOX)
                    S: \\* LIST \\(\\\\HasNoChildren\\) "/" INBOX
                    S: b3 OK LIST completed
                    C: b4 LIST "" "&Jjo!*"
                    S: b4 OK LIST completed
                    # The well-formed names still work, and the mailbox is still selected.
                    C: b5 FETCH 1 UID
                    S: \\* 1 FETCH \\(UID %d\\)
                    S: b5 OK FETCH completed
                    # RFC 9051 §6.3.2: a SELECT that fails closes the mailbox that was selected.
                    C: b6 SELECT "&Jjo!"
                    S: \\* OK \\[CLOSED\\] .*
                    S: b6 NO \\[NONEXISTENT\\] .*
                    C: b7 FETCH 1 UID
                    S: b7 BAD Command not valid in this state
                    C: b8 EXAMINE &U,BTFw-&ZeVnLIqe-
                    S: b8 NO \\[NONEXISTENT\\] .*
                    """.formatted(firstUid));
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
