package org.castellan.server.imap;

import org.castellan.server.testing.Transcript;
import org.junit.jupiter.api.Test;

/** RFC 9051 §6.3.5 DELETE. */
class DeleteTest extends ServerPerTest {

    @Test
    void deleteKeepsChildrenAndRefusesInbox() {
        try (Transcript t = imap.loggedIn()) {
            t.run("""
                    C: a0 CREATE foo/bar
                    S: a0 OK CREATE completed
                    C: a1 DELETE foo
                    S: a1 OK DELETE completed
                    C: a2 LIST "" foo*
                    S: \\* LIST \\(\\\\Noselect \\\\HasChildren\\) "/" foo
                    S: \\* LIST \\(\\\\HasNoChildren\\) "/" foo/bar
                    S: a2 OK LIST completed
                    C: a3 DELETE foo
                    S: a3 NO \\[NONEXISTENT\\] .*
                    C: a4 DELETE INBOX
                    S: a4 NO \\[CANNOT\\] .*
                    """);
        }
    }
}
