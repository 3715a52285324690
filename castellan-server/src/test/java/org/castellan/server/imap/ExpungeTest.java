package org.castellan.server.imap;

import org.castellan.server.testing.Transcript;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** RFC 9051 §6.4.3 EXPUNGE and UID EXPUNGE (RFC 4315). */
class ExpungeTest extends ServerPerTest {

    @Test
    void expungeAndUidExpunge() {
        long third = imap.append(imap.inbox, "Subject: 3\r\n\r\nx\r\n", Set.of("\\Deleted"));
        try (Transcript t = imap.selected()) {
            t.run("""
                    C: a1 STORE 1:2 +FLAGS.SILENT (\\Deleted)
                    S: a1 OK STORE completed
                    C: a2 UID EXPUNGE %d
                    S: \\* 2 EXPUNGE
                    S: a2 OK EXPUNGE completed
                    C: a3 EXPUNGE
                    S: \\* 2 EXPUNGE
                    S: \\* 1 EXPUNGE
                    S: a3 OK EXPUNGE completed
                    C: a4 FETCH 1 FLAGS
                    S: a4 BAD Invalid message sequence number
                    """.formatted(secondUid));
        }
    }
}
