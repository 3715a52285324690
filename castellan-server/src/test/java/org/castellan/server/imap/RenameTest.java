package org.castellan.server.imap;

import org.castellan.server.testing.Transcript;
import org.junit.jupiter.api.Test;

/** RFC 9051 §6.3.6 RENAME. */
class RenameTest extends ServerPerTest {

    @Test
    void renameMovesChildrenAndInboxMovesMessages() {
        try (Transcript t = imap.loggedIn()) {
            t.run("""
                    C: a0 CREATE foo/bar
                    S: a0 OK CREATE completed
                    C: a1 RENAME foo zap
                    S: a1 OK RENAME completed
                    C: a2 LIST "" zap*
                    S: \\* LIST \\(\\\\HasChildren\\) "/" zap
                    S: \\* LIST \\(\\\\HasNoChildren\\) "/" zap/bar
                    S: a2 OK LIST completed
                    C: a3 RENAME nosuch other
                    S: a3 NO \\[NONEXISTENT\\] .*
                    C: a4 RENAME zap Drafts
                    S: a4 NO \\[ALREADYEXISTS\\] .*
                    C: a5 RENAME INBOX Old
                    S: a5 OK RENAME completed
                    C: a6 STATUS Old (MESSAGES)
                    S: \\* STATUS Old \\(MESSAGES 2\\)
                    S: a6 OK STATUS completed
                    C: a7 STATUS INBOX (MESSAGES)
                    S: \\* STATUS INBOX \\(MESSAGES 0\\)
                    S: a7 OK STATUS completed
                    """);
        }
    }
}
