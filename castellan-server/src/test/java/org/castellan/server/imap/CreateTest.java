package org.castellan.server.imap;

import org.castellan.server.testing.Transcript;
import static org.assertj.core.api.Assertions.assertThat;

import org.castellan.store.SpecialUse;
import org.junit.jupiter.api.Test;

/** RFC 9051 §6.3.4 CREATE, RFC 6154 §3 CREATE-SPECIAL-USE. */
class CreateTest extends ServerPerTest {

    @Test
    void createWithParentsAndSpecialUse() {
        try (Transcript t = imap.loggedIn()) {
            t.run("""
                    C: a1 CREATE owatagusiam/
                    S: a1 OK CREATE completed
                    C: a2 CREATE owatagusiam/blurdybloop
                    S: a2 OK CREATE completed
                    C: a3 CREATE owatagusiam
                    S: a3 NO \\[ALREADYEXISTS\\] .*
                    C: a4 CREATE inbox
                    S: a4 NO \\[ALREADYEXISTS\\] .*
                    C: a5 CREATE MyFlagged (USE (\\Flagged))
                    S: a5 OK CREATE completed
                    C: a6 CREATE Odd (USE (\\Frobbed))
                    S: a6 NO \\[USEATTR\\] .*
                    C: a7 CREATE "bad*name"
                    S: a7 NO \\[CANNOT\\] .*
                    C: a8 CREATE
                    S: a8 BAD Missing argument
                    C: a9 CREATE Twice (USE (\\Flagged \\Junk))
                    S: a9 NO \\[USEATTR\\] Only one special use per mailbox
                    C: a10 CREATE INBOX/
                    S: a10 NO \\[ALREADYEXISTS\\] INBOX always exists
                    C: a11 LIST "" Twice
                    S: a11 OK LIST completed
                    """);
        }
        long account = imap.store().getMailbox(imap.inbox).orElseThrow().accountId();
        assertThat(imap.store().getMailbox(account, "MyFlagged").orElseThrow().specialUse()).contains(SpecialUse.FLAGGED);
    }

    @Test
    void modifiedUtf7ForRev1AndUtf8ForRev2() {
        try (Transcript t = imap.loggedIn()) {
            t.run("""
                    C: a1 CREATE Entw&APw-rfe
                    S: a1 OK CREATE completed
                    C: a2 LIST "" Entw*
                    S: \\* LIST \\(\\\\HasNoChildren\\) "/" Entw&APw-rfe
                    S: a2 OK LIST completed
                    C: a3 CREATE &Jjo!
                    S: a3 NO \\[CANNOT\\] .*
                    C: a4 ENABLE IMAP4rev2
                    S: \\* ENABLED IMAP4rev2
                    S: a4 OK ENABLE completed
                    C: a5 STATUS Entw&APw-rfe (MESSAGES)
                    S: a5 NO \\[NONEXISTENT\\] .*
                    C: a6 LIST "" Entw*
                    S: \\* LIST \\(\\\\HasNoChildren\\) "/" "Entw\u00c3\u00bcrfe"
                    S: a6 OK LIST completed
                    """);
        }
        long account = imap.store().getMailbox(imap.inbox).orElseThrow().accountId();
        assertThat(imap.store().getMailbox(account, "Entw\u00fcrfe")).isPresent();
    }
}
