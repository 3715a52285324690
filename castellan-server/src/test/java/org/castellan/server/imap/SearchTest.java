package org.castellan.server.imap;

import org.castellan.server.testing.Transcript;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** RFC 9051 §6.4.4 SEARCH, UID SEARCH, RFC 4731 ESEARCH, RFC 5182 SEARCHRES. */
class SearchTest extends ServerPerTest {

    @Test
    void keys() {
        imap.append(imap.inbox, "Subject: three\r\nFrom: eve@example.com\r\n\r\nSomething long " + "x".repeat(500) + "\r\n",
                Set.of("\\Flagged"));
        try (Transcript t = imap.selected()) {
            t.run("""
                    C: a1 SEARCH ALL
                    S: \\* SEARCH 1 2 3
                    S: a1 OK SEARCH completed
                    C: a2 SEARCH FLAGGED
                    S: \\* SEARCH 3
                    S: a2 OK SEARCH completed
                    C: a3 SEARCH OR FROM carol SUBJECT TWO
                    S: \\* SEARCH 1 2
                    S: a3 OK SEARCH completed
                    C: a4 SEARCH NOT BODY "hello" LARGER 200
                    S: \\* SEARCH 2 3
                    S: a4 OK SEARCH completed
                    C: a5 SEARCH TEXT "part one" 2:*
                    S: \\* SEARCH 2
                    S: a5 OK SEARCH completed
                    C: a6 SEARCH SENTON 1-Feb-2024 SINCE 1-Feb-2024 BEFORE 2-Feb-2024
                    S: \\* SEARCH 1
                    S: a6 OK SEARCH completed
                    C: a7 UID SEARCH HEADER Message-ID "<1@example.net>"
                    S: \\* SEARCH %d
                    S: a7 OK SEARCH completed
                    C: a8 SEARCH UNSEEN UNFLAGGED UID 1:* SMALLER 1000 NEW
                    S: \\* SEARCH
                    S: a8 OK SEARCH completed
                    C: a9 SEARCH RETURN (MIN MAX COUNT ALL) UNFLAGGED
                    S: \\* ESEARCH \\(TAG "a9"\\) MIN 1 MAX 2 COUNT 2 ALL 1:2
                    S: a9 OK SEARCH completed
                    C: b1 SEARCH CHARSET KOI8-R ALL
                    S: b1 NO \\[BADCHARSET \\(US-ASCII UTF-8\\)\\] .*
                    C: b2 SEARCH FROB
                    S: b2 BAD Unknown search key FROB
                    C: b3 UID SEARCH RETURN (COUNT) CHARSET UTF-8 TEXT {5+}
                    C: there
                    S: \\* ESEARCH \\(TAG "b3"\\) UID COUNT 1
                    S: b3 OK SEARCH completed
                    """.formatted(firstUid));
        }
    }

    @Test
    void savedResult() {
        try (Transcript t = imap.selected()) {
            t.run("""
                    C: a1 FETCH $ UID
                    S: a1 OK FETCH completed
                    C: a2 SEARCH RETURN (SAVE) SUBJECT two
                    S: a2 OK SEARCH completed
                    C: a3 FETCH $ (UID)
                    S: \\* 2 FETCH \\(UID %1$d\\)
                    S: a3 OK FETCH completed
                    C: a4 UID SEARCH OR $ 1
                    S: \\* SEARCH %2$d %1$d
                    S: a4 OK SEARCH completed
                    C: a5 SEARCH RETURN (SAVE MIN COUNT) ALL
                    S: \\* ESEARCH \\(TAG "a5"\\) MIN 1 COUNT 2
                    S: a5 OK SEARCH completed
                    # RFC 5182 §2.1: with COUNT (or ALL) "$" holds every message found, MIN or not.
                    C: a6 UID STORE $ +FLAGS (\\Seen)
                    S: \\* 1 FETCH \\(FLAGS \\(\\\\Seen\\) UID %2$d\\)
                    S: \\* 2 FETCH \\(FLAGS \\(\\\\Seen\\) UID %1$d\\)
                    S: a6 OK STORE completed
                    # With MIN alone, only the MIN message.
                    C: a7 SEARCH RETURN (SAVE MIN) UNSEEN
                    S: \\* ESEARCH \\(TAG "a7"\\)
                    S: a7 OK SEARCH completed
                    C: a8 SEARCH RETURN (SAVE MIN) SEEN
                    S: \\* ESEARCH \\(TAG "a8"\\) MIN 1
                    S: a8 OK SEARCH completed
                    C: a9 FETCH $ UID
                    S: \\* 1 FETCH \\(UID %2$d\\)
                    S: a9 OK FETCH completed
                    """.formatted(secondUid, firstUid));
        }
    }

    @Test
    void textKeysCompareDecodedText() {
        long uid = imap.append("Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=\r\nContent-Type: text/plain; charset=utf-8\r\n"
                + "Content-Transfer-Encoding: base64\r\n\r\n"
                + java.util.Base64.getMimeEncoder().encodeToString("Ein Leuchtturm in Köln".getBytes(java.nio.charset.StandardCharsets.UTF_8))
                + "\r\n");
        // Once indexed and before: the same answers.
        if (imap.store() instanceof org.castellan.store.embedded.EmbeddedMailStore embedded) embedded.catchUpTextIndex();
        try (Transcript t = imap.selected()) {
            t.run("""
                    C: a1 UID SEARCH CHARSET UTF-8 BODY {10+}
                    C: LEUCHTTURM
                    S: \\* SEARCH %1$d
                    S: a1 OK SEARCH completed
                    C: a2 UID SEARCH CHARSET UTF-8 SUBJECT {7+}
                    C: grüße
                    S: \\* SEARCH %1$d
                    S: a2 OK SEARCH completed
                    C: a3 UID SEARCH CHARSET UTF-8 TEXT {5+}
                    C: kÖln
                    S: \\* SEARCH %1$d
                    S: a3 OK SEARCH completed
                    C: a4 SEARCH BODY RWlu
                    S: \\* SEARCH
                    S: a4 OK SEARCH completed
                    C: a5 SEARCH TEXT o
                    S: \\* SEARCH 1 2 3
                    S: a5 OK SEARCH completed
                    C: a6 SEARCH NOT BODY turm OR BODY "part one" BODY hello
                    S: \\* SEARCH 1 2
                    S: a6 OK SEARCH completed
                    """.formatted(uid));
        }
    }

    /** RFC 9051 §6.4.4: once IMAP4rev2 is enabled, SEARCH always answers ESEARCH (no RETURN means ALL). */
    @Test
    void rev2SearchAnswersEsearch() {
        long junk = imap.append(imap.inbox, "Subject: junk\r\n\r\nbuy\r\n", Set.of("$Junk"));
        try (Transcript t = imap.loggedIn()) {
            t.run("""
                    C: a0 ENABLE IMAP4rev2
                    S: \\* ENABLED IMAP4rev2
                    S: a0 OK ENABLE completed
                    C: a1 SELECT INBOX
                    """);
            for (String line; !(line = t.readLine()).startsWith("a1 OK"); ) {
                org.assertj.core.api.Assertions.assertThat(line).startsWith("* ");
            }
            t.run("""
                    C: A283 SEARCH RETURN () UNDELETED UNKEYWORD $Junk
                    S: \\* ESEARCH \\(TAG "A283"\\) ALL 1:2
                    S: A283 OK SEARCH completed
                    C: A284 SEARCH TEXT "string not in mailbox"
                    S: \\* ESEARCH \\(TAG "A284"\\)
                    S: A284 OK SEARCH completed
                    C: A285 UID SEARCH KEYWORD $Junk
                    S: \\* ESEARCH \\(TAG "A285"\\) UID ALL %d
                    S: A285 OK SEARCH completed
                    """.formatted(junk));
        }
    }
}
