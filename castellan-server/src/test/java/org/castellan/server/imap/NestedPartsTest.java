package org.castellan.server.imap;

import static org.assertj.core.api.Assertions.assertThat;

import jakarta.mail.Folder;
import jakarta.mail.Multipart;
import jakarta.mail.Store;
import jakarta.mail.internet.MimeMessage;
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

    /**
     * HEADER.FIELDS of an encapsulated message deep in the body, alone in its FETCH, so that it is
     * cut from the stored octets up to that header's end (not from a whole read): the fields, the
     * .NOT form, and NIL for a part that is no message.
     */
    @Test
    void headerFieldsOfAnEncapsulatedMessageAlone() {
        imap.append(TestMessages.load("rfc3501-example"));
        try (Transcript t = imap.selected()) {
            t.run("""
                    C: a1 FETCH 3 (BODY.PEEK[3.HEADER.FIELDS (SUBJECT)] BODY.PEEK[3.HEADER.FIELDS.NOT (SUBJECT)] BODY.PEEK[1.HEADER.FIELDS (SUBJECT)])
                    S: \\* 3 FETCH \\(BODY\\[3.HEADER.FIELDS \\(SUBJECT\\)\\] \\{18\\}
                    S: Subject: three
                    S:
                    S:  BODY\\[3.HEADER.FIELDS.NOT \\(SUBJECT\\)\\] \\{47\\}
                    S: Content-Type: MULTIPART/MIXED; BOUNDARY="b"
                    S:
                    S:  BODY\\[1.HEADER.FIELDS \\(SUBJECT\\)\\] NIL\\)
                    S: a1 OK FETCH completed
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

    /**
     * Angus Mail (Jakarta Mail) walks a nested message the way it reads BODYSTRUCTURE, fetching
     * each part by the number it computes (RFC 9051 §6.4.5): the two must agree.
     */
    @Test
    void angusMailReadsTheNestedMessages() throws Exception {
        imap.append(TestMessages.load("top-level-rfc822-multipart"));
        Store store = imap.angusSession().getStore("imaps");
        store.connect("localhost", imap.port("imaps"), ImapTestServer.USER, ImapTestServer.PASSWORD);
        try {
            Folder inbox = store.getFolder("INBOX");
            inbox.open(Folder.READ_ONLY);
            MimeMessage inner = (MimeMessage) inbox.getMessage(3).getContent();
            assertThat(inner.getSubject()).isEqualTo("inner");
            Multipart parts = (Multipart) inner.getContent();
            assertThat(parts.getCount()).isEqualTo(2);
            MimeMessage deepest = (MimeMessage) parts.getBodyPart(0).getContent();
            assertThat(deepest.getSubject()).isEqualTo("deepest");
            assertThat(deepest.getContent()).isEqualTo("deepest body");
            assertThat(parts.getBodyPart(1).getContent()).isEqualTo("inner two");
        } finally {
            store.close();
        }
    }
}
