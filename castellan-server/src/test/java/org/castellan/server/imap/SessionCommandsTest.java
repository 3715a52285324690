package org.castellan.server.imap;

import org.castellan.server.testing.Transcript;
import org.junit.jupiter.api.Test;

/** RFC 5161 ENABLE, RFC 2971 ID, RFC 9051 §6.3.10 NAMESPACE, §6.1.3 LOGOUT. */
class SessionCommandsTest extends ServerPerTest {

    @Test
    void idBeforeLoginAndEnableNamespaceLogoutAfter() {
        try (Transcript t = imap.connect("imap")) {
            t.run("""
                    S: \\* OK .*
                    C: a1 ID ("name" "test" "version" NIL)
                    S: \\* ID \\("name" "Castellan"\\)
                    S: a1 OK ID completed
                    C: a2 ENABLE IMAP4rev2
                    S: a2 BAD Command not valid in this state
                    C: a3 LOGIN %s "%s"
                    S: a3 OK .*
                    C: a4 ENABLE CONDSTORE X-UNKNOWN
                    S: \\* ENABLED CONDSTORE
                    S: a4 OK ENABLE completed
                    C: a5 NAMESPACE
                    S: \\* NAMESPACE \\(\\("" "/"\\)\\) NIL NIL
                    S: a5 OK NAMESPACE completed
                    C: a6 SELECT INBOX
                    S: \\* 2 EXISTS
                    S: \\* 0 RECENT
                    S: \\* OK \\[UNSEEN 1\\] .*
                    S: \\* FLAGS .*
                    S: \\* OK \\[PERMANENTFLAGS .*
                    S: \\* OK \\[UIDVALIDITY .*
                    S: \\* OK \\[UIDNEXT .*
                    S: \\* OK \\[HIGHESTMODSEQ \\d+\\] .*
                    S: \\* OK \\[URLMECH INTERNAL\\] .*
                    S: a6 OK .*
                    C: a7 FETCH 1 (FLAGS)
                    S: \\* 1 FETCH \\(FLAGS \\(\\) MODSEQ \\(\\d+\\)\\)
                    S: a7 OK FETCH completed
                    C: a8 LOGOUT
                    S: \\* BYE .*
                    S: a8 OK LOGOUT completed
                    S: <closed>
                    """.formatted(ImapTestServer.USER, ImapTestServer.PASSWORD));
        }
    }
}
