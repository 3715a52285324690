package org.castellan.server.imap;

import org.castellan.server.testing.Transcript;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** RFC 9051 §6.3.11 STATUS with SIZE (RFC 8438), DELETED and HIGHESTMODSEQ (RFC 7162). */
class StatusTest extends ServerPerTest {

    @Test
    void statusItems() {
        imap.append(imap.inbox, "Subject: x\r\n\r\ny\r\n", Set.of("\\Deleted", "\\Seen"));
        long validity = imap.store().status(imap.inbox).uidValidity();
        long next = uidNext();
        try (Transcript t = imap.loggedIn()) {
            t.run("""
                    C: a1 STATUS INBOX (MESSAGES UIDNEXT UIDVALIDITY UNSEEN DELETED SIZE HIGHESTMODSEQ)
                    S: \\* STATUS INBOX \\(MESSAGES 3 UIDNEXT %d UIDVALIDITY %d UNSEEN 2 DELETED 1 SIZE %d HIGHESTMODSEQ \\d+\\)
                    S: a1 OK STATUS completed
                    C: a2 STATUS nosuch (MESSAGES)
                    S: a2 NO \\[NONEXISTENT\\] .*
                    C: a3 STATUS INBOX (FROB)
                    S: a3 BAD Unknown STATUS item FROB
                    """.formatted(next, validity, size(FIRST) + size(SECOND) + 17));
        }
    }
}
