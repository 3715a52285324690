package org.castellan.server.imap;

import org.castellan.server.testing.Transcript;
import static org.assertj.core.api.Assertions.assertThat;

import org.castellan.store.Flags;
import org.castellan.store.UidRange;
import org.junit.jupiter.api.Test;

/** RFC 9051 §6.4.5 FETCH and UID FETCH. */
class FetchTest extends ServerPerTest {

    @Test
    void flagsUidSizeAndDate() {
        try (Transcript t = imap.selected()) {
            t.run("""
                    C: a1 FETCH 1:* (FLAGS UID RFC822.SIZE INTERNALDATE)
                    S: \\* 1 FETCH \\(FLAGS \\(\\) UID %d RFC822.SIZE %d INTERNALDATE "01-Feb-2024 10:00:00 \\+0000"\\)
                    S: \\* 2 FETCH \\(FLAGS \\(\\) UID %d RFC822.SIZE %d INTERNALDATE ".*"\\)
                    S: a1 OK FETCH completed
                    C: a2 UID FETCH %d:* FLAGS
                    S: \\* 2 FETCH \\(UID %d FLAGS \\(\\)\\)
                    S: a2 OK FETCH completed
                    C: a3 FETCH 3 FLAGS
                    S: a3 BAD Invalid message sequence number
                    C: a4 UID FETCH 999 FLAGS
                    S: a4 OK FETCH completed
                    """.formatted(firstUid, size(FIRST), secondUid, size(SECOND), secondUid + 5, secondUid));
        }
    }

    @Test
    void bodyPeekLeavesSeenAloneAndBodySetsIt() {
        try (Transcript t = imap.selected()) {
            t.run("""
                    C: a1 FETCH 1 BODY.PEEK[]
                    S: \\* 1 FETCH \\(BODY\\[\\] \\{%d\\}
                    S: Date: .*
                    S: From: Carol <carol@example.net>
                    S: To: alice@example.org
                    S: Subject: one
                    S: Message-ID: <1@example.net>
                    S:
                    S: Hello there
                    S: \\)
                    S: a1 OK FETCH completed
                    C: a2 FETCH 1 BODY[TEXT]<6.5>
                    S: \\* 1 FETCH \\(BODY\\[TEXT\\]<6> \\{5\\}
                    S: there\\)? ?FLAGS \\(\\\\Seen\\)\\)
                    S: a2 OK FETCH completed
                    """.formatted(size(FIRST)));
        }
        assertThat(imap.store().listMessages(imap.inbox, UidRange.of(firstUid)).get(0).flags()).containsExactly(Flags.SEEN);
    }

    @Test
    void headerFieldsAndEnvelope() {
        try (Transcript t = imap.selected()) {
            t.run("""
                    C: a1 FETCH 1 (BODY.PEEK[HEADER.FIELDS (SUBJECT FROM)])
                    S: \\* 1 FETCH \\(BODY\\[HEADER.FIELDS \\(SUBJECT FROM\\)\\] \\{49\\}
                    S: From: Carol <carol@example.net>
                    S: Subject: one
                    S:
                    S: \\)
                    S: a1 OK FETCH completed
                    C: a2 FETCH 1 ENVELOPE
                    S: \\* 1 FETCH \\(ENVELOPE \\("Thu, 1 Feb 2024 09:00:00 \\+0100" "one" \\(\\("Carol" NIL "carol" "example.net"\\)\\) \\(\\("Carol" NIL "carol" "example.net"\\)\\) \\(\\("Carol" NIL "carol" "example.net"\\)\\) \\(\\(NIL NIL "alice" "example.org"\\)\\) NIL NIL NIL "<1@example.net>"\\)\\)
                    S: a2 OK FETCH completed
                    """);
        }
    }

    @Test
    void multipartStructureAndSections() {
        try (Transcript t = imap.selected()) {
            t.run("""
                    C: a1 FETCH 2 BODYSTRUCTURE
                    S: \\* 2 FETCH \\(BODYSTRUCTURE \\(\\("TEXT" "PLAIN" \\("CHARSET" "us-ascii"\\) NIL NIL "7BIT" 8 1 NIL NIL NIL NIL\\)\\("APPLICATION" "OCTET-STREAM" NIL NIL NIL "BASE64" 4 NIL NIL NIL NIL\\) "MIXED" \\("BOUNDARY" "b1"\\) NIL NIL NIL\\)\\)
                    S: a1 OK FETCH completed
                    C: a2 FETCH 2 (BODY.PEEK[1] BODY.PEEK[2.MIME] BODY)
                    S: \\* 2 FETCH \\(BODY\\[1\\] \\{8\\}
                    S: part one BODY\\[2.MIME\\] \\{77\\}
                    S: Content-Type: application/octet-stream
                    S: Content-Transfer-Encoding: base64
                    S:
                    S:  BODY \\(\\("TEXT" "PLAIN" \\("CHARSET" "us-ascii"\\) NIL NIL "7BIT" 8 1\\)\\("APPLICATION" "OCTET-STREAM" NIL NIL NIL "BASE64" 4\\) "MIXED"\\)\\)
                    S: a2 OK FETCH completed
                    C: a3 FETCH 2 BODY.PEEK[3]
                    S: \\* 2 FETCH \\(BODY\\[3\\] NIL\\)
                    S: a3 OK FETCH completed
                    C: a4 FETCH 1 (FLAGS BODY[HEADER.FIELDS
                    S: a4 BAD .*
                    """);
        }
    }

    @Test
    void examineNeverSetsSeenAndPipelinedCommandsRunInOrder() {
        try (Transcript t = imap.loggedIn()) {
            t.sendRaw("e1 EXAMINE INBOX\r\ne2 FETCH 1 (BODY[TEXT])\r\ne3 FETCH 1 FLAGS\r\n");
            while (!t.readLine().startsWith("e1 OK")) { }
            t.run("""
                    S: \\* 1 FETCH \\(BODY\\[TEXT\\] \\{13\\}
                    S: Hello there
                    S: \\)
                    S: e2 OK FETCH completed
                    S: \\* 1 FETCH \\(FLAGS \\(\\)\\)
                    S: e3 OK FETCH completed
                    """);
        }
    }

    /**
     * HEADER.FIELDS of a multi-megabyte message, whose body the store keeps in a file of its own:
     * the fields come from the stored header alone, the .NOT form too, and the whole message is
     * still there after them, to its last octet.
     */
    @Test
    void headerFieldsOfAMultiMegabyteMessage() {
        String body = ("x".repeat(76) + "\r\n").repeat(5 * 1024 * 1024 / 78);
        String message = "From: Carol <carol@example.net>\r\nSubject: big\r\nX-Tail: last\r\n\r\n" + body;
        imap.append(message);
        try (Transcript t = imap.selected()) {
            t.run("""
                    C: a1 FETCH 3 (BODY.PEEK[HEADER.FIELDS (SUBJECT X-TAIL)] BODY.PEEK[HEADER.FIELDS.NOT (SUBJECT X-TAIL)] RFC822.SIZE)
                    S: \\* 3 FETCH \\(BODY\\[HEADER.FIELDS \\(SUBJECT X-TAIL\\)\\] \\{30\\}
                    S: Subject: big
                    S: X-Tail: last
                    S:
                    S:  BODY\\[HEADER.FIELDS.NOT \\(SUBJECT X-TAIL\\)\\] \\{35\\}
                    S: From: Carol <carol@example.net>
                    S:
                    S:  RFC822.SIZE %d\\)
                    S: a1 OK FETCH completed
                    """.formatted(size(message)));
            t.send("a2 FETCH 3 BODY.PEEK[TEXT]<%d.10>".formatted(size(body) - 10));
            assertThat(t.readLine()).isEqualTo("* 3 FETCH (BODY[TEXT]<%d> {10}".formatted(size(body) - 10));
            assertThat(t.readLine()).isEqualTo("xxxxxxxx");
        }
    }
}
