package org.castellan.server.imap;

import org.castellan.server.testing.Transcript;
import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** RFC 9051 §6.4.7 COPY with RFC 4315 COPYUID, TRYCREATE. */
class CopyTest extends ServerPerTest {

    @Test
    void copyReportsUids() {
        long next = uidNext("Archive");
        try (Transcript t = imap.selected()) {
            t.run("""
                    C: a1 COPY 1:2 Archive
                    S: a1 OK \\[COPYUID \\d+ %d,%d %d:%d\\] COPY completed
                    C: a2 UID COPY 999 Archive
                    S: a2 OK COPY completed
                    C: a3 COPY 1 Nowhere
                    S: a3 NO \\[TRYCREATE\\] .*
                    """.formatted(firstUid, secondUid, next, next + 1));
        }
        long archive = mailboxId("Archive");
        assertThat(imap.store().status(archive).messages()).isEqualTo(2);
        assertThat(imap.store().status(imap.inbox).messages()).isEqualTo(2);
    }
}
