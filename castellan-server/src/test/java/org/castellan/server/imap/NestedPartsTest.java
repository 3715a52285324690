package org.castellan.server.imap;

import org.castellan.server.testing.Transcript;
import org.castellan.testkit.TestMessages;
import org.junit.jupiter.api.Test;

/**
 * FETCH of part numbers inside encapsulated messages (RFC 9051 §6.4.5): the RFC 3501 §6.4.5
 * example message, a message whose body is a message holding a multipart, and a digest forwarded
 * as a message/rfc822 part (RFC 2046 §5.1.5), each through BODY[...], BINARY[...] and BODYSTRUCTURE.
 */
class NestedPartsTest extends ServerPerTest {

    @Test
    void partsOfTheRfcExample() {
        imap.append(TestMessages.load("rfc3501-example"));
        try (Transcript t = imap.selected()) {
            t.run("""
                    C: a1 FETCH 3 (BODY.PEEK[4.2.2.1] BODY.PEEK[4.1.MIME] BINARY.PEEK[3.2] BODY.PEEK[3.HEADER.FIELDS (SUBJECT)] BODY.PEEK[1.1])
                    S: \\* 3 FETCH \\(BODY\\[4.2.2.1\\] \\{16\\}
                    S: four.two.two.one BODY\\[4.1.MIME\\] \\{62\\}
                    S: Content-Type: IMAGE/GIF
                    S: Content-Transfer-Encoding: BASE64
                    S:
                    S:  BINARY\\[3.2\\] \\{3\\}
                    S: 3.2 BODY\\[3.HEADER.FIELDS \\(SUBJECT\\)\\] \\{18\\}
                    S: Subject: three
                    S:
                    S:  BODY\\[1.1\\] NIL\\)
                    S: a1 OK FETCH completed
                    C: a2 FETCH 3 (BODY.PEEK[4.2.TEXT]<0.3> BODY.PEEK[4.2.2.2] BINARY.SIZE[4.1])
                    S: \\* 3 FETCH \\(BODY\\[4.2.TEXT\\]<0> \\{3\\}
                    S: --d BODY\\[4.2.2.2\\] \\{29\\}
                    S: <bold>four.two.two.two</bold> BINARY.SIZE\\[4.1\\] 6\\)
                    S: a2 OK FETCH completed
                    """);
        }
    }

    @Test
    void partsOfAMessageWhoseBodyIsAMessage() {
        imap.append(TestMessages.load("top-level-rfc822-multipart"));
        try (Transcript t = imap.selected()) {
            t.run("""
                    C: a1 FETCH 3 (BODY.PEEK[1.2] BODY.PEEK[1.1.HEADER] BODY.PEEK[1.1.TEXT] BODY.PEEK[1.1.MIME] BODY.PEEK[1.3])
                    S: \\* 3 FETCH \\(BODY\\[1.2\\] \\{9\\}
                    S: inner two BODY\\[1.1.HEADER\\] \\{20\\}
                    S: Subject: deepest
                    S:
                    S:  BODY\\[1.1.TEXT\\] \\{12\\}
                    S: deepest body BODY\\[1.1.MIME\\] \\{32\\}
                    S: Content-Type: message/rfc822
                    S:
                    S:  BODY\\[1.3\\] NIL\\)
                    S: a1 OK FETCH completed
                    C: a2 FETCH 3 BODYSTRUCTURE
                    S: \\* 3 FETCH \\(BODYSTRUCTURE \\("MESSAGE" "RFC822" NIL NIL NIL "7BIT" \\d+ \\(NIL "inner" NIL NIL NIL NIL NIL NIL NIL NIL\\) \\(\\("MESSAGE" "RFC822" NIL NIL NIL "7BIT" 32 \\(NIL "deepest" NIL NIL NIL NIL NIL NIL NIL NIL\\) \\("TEXT" "PLAIN" NIL NIL NIL "7BIT" 12 1 NIL NIL NIL NIL\\) 3 NIL NIL NIL NIL\\)\\("TEXT" "PLAIN" NIL NIL NIL "7BIT" 9 1 NIL NIL NIL NIL\\) "MIXED" \\("BOUNDARY" "i"\\) NIL NIL NIL\\) \\d+ NIL NIL NIL NIL\\)\\)
                    S: a2 OK FETCH completed
                    """);
        }
    }

    @Test
    void partsOfAForwardedDigest() {
        imap.append(TestMessages.load("digest-in-rfc822"));
        try (Transcript t = imap.selected()) {
            t.run("""
                    C: a1 FETCH 3 (BODY.PEEK[1.1.TEXT] BODY.PEEK[1.2.2] BINARY.PEEK[1.3] BODY.PEEK[1.3.HEADER] BODY.PEEK[1.1.MIME])
                    S: \\* 3 FETCH \\(BODY\\[1.1.TEXT\\] \\{10\\}
                    S: first body BODY\\[1.2.2\\] \\{15\\}
                    S: second part two BINARY\\[1.3\\] \\{13\\}
                    S: not a message BODY\\[1.3.HEADER\\] NIL BODY\\[1.1.MIME\\] \\{2\\}
                    S:
                    S: \\)
                    S: a1 OK FETCH completed
                    """);
        }
    }
}
