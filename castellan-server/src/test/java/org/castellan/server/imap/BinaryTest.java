package org.castellan.server.imap;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import org.castellan.server.testing.Transcript;
import org.castellan.store.Flags;
import org.castellan.store.UidRange;
import org.junit.jupiter.api.Test;

/**
 * RFC 3516 BINARY: FETCH BINARY[part]&lt;partial&gt;, BINARY.PEEK and BINARY.SIZE with the
 * transfer encoding undone, literal8 where the content holds NUL, NO [UNKNOWN-CTE], and APPEND
 * of a literal8.
 */
class BinaryTest extends ServerPerTest {

    static final String ENCODED = "From: erin@example.net\r\nSubject: encoded\r\nMIME-Version: 1.0\r\n"
            + "Content-Type: multipart/mixed; boundary=\"q\"\r\n\r\n"
            + "--q\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
            + "a=3Db =\r\nc\r\n"
            + "--q\r\nContent-Type: application/x-old\r\nContent-Transfer-Encoding: x-uuencode\r\n\r\nbegin 644 f\r\n"
            + "--q--\r\n";

    @Test
    void binaryDecodesAndBinarySizeMeasuresTheDecodedPart() {
        try (Transcript t = imap.selected()) {
            // SECOND's part 2 is base64 "AAEC": three octets, NUL among them, so literal8 (RFC 3516 §4.2).
            t.run("""
                    C: a1 FETCH 2 (BINARY.SIZE[2] BINARY.SIZE[1] BINARY.PEEK[2])
                    S: \\* 2 FETCH \\(BINARY.SIZE\\[2\\] 3 BINARY.SIZE\\[1\\] 8 BINARY\\[2\\] ~\\{3\\}
                    S: \\x00\\x01\\x02\\)
                    S: a1 OK FETCH completed
                    C: a2 FETCH 2 BINARY.PEEK[1]
                    S: \\* 2 FETCH \\(BINARY\\[1\\] \\{8\\}
                    S: part one\\)
                    S: a2 OK FETCH completed
                    C: a3 FETCH 2 BINARY.PEEK[3]
                    S: \\* 2 FETCH \\(BINARY\\[3\\] NIL\\)
                    S: a3 OK FETCH completed
                    C: a4 FETCH 2 BINARY[1]<5.3>
                    S: \\* 2 FETCH \\(BINARY\\[1\\]<5> \\{3\\}
                    S: one FLAGS \\(\\\\Seen\\)\\)
                    S: a4 OK FETCH completed
                    C: a5 FETCH 2 BINARY[1.TEXT]
                    S: a5 BAD .*
                    """);
        }
        assertThat(imap.store().listMessages(imap.inbox, UidRange.of(secondUid)).get(0).flags()).containsExactly(Flags.SEEN);
    }

    @Test
    void quotedPrintableIsDecodedAndAnUnknownEncodingIsRefused() {
        long uid = imap.append(ENCODED);
        try (Transcript t = imap.selected()) {
            t.run("""
                    C: a1 UID FETCH %d BINARY.PEEK[1]
                    S: \\* 3 FETCH \\(UID %d BINARY\\[1\\] \\{5\\}
                    S: a=b c\\)
                    S: a1 OK FETCH completed
                    C: a2 UID FETCH %d BINARY.PEEK[2]
                    S: a2 NO \\[UNKNOWN-CTE\\] .*
                    C: a3 UID FETCH %d BINARY.SIZE[2]
                    S: a3 NO \\[UNKNOWN-CTE\\] .*
                    """.formatted(uid, uid, uid, uid));
        }
    }

    @Test
    void appendTakesALiteral8() throws IOException {
        long next = uidNext();
        try (Transcript t = imap.selected()) {
            t.sendRaw("a1 APPEND INBOX ~{10}\r\n");
            t.expect("\\+ Ready for literal data");
            t.sendRaw("X: 1\r\n\r\n\u0000!\r\n");
            t.expect("\\* 3 EXISTS");
            t.expect("\\* 1 RECENT");
            t.expect("a1 OK \\[APPENDUID \\d+ " + next + "\\] APPEND completed");
        }
        try (InputStream in = imap.store().openMessage(imap.inbox, next)) {
            assertThat(in.readAllBytes()).containsExactly('X', ':', ' ', '1', '\r', '\n', '\r', '\n', 0, '!');
        }
    }

    @Test
    void aBinaryPartAppendedAsLiteral8ComesBackByteForByte() throws IOException {
        // RFC 3516 §4.4: APPEND with literal8; the part is stored as sent and BODY[1] is its octets.
        for (int size : new int[] {300, 400_000}) {
            byte[] part = new byte[size];
            for (int i = 0; i < size; i++) part[i] = (byte) (i % 7 == 0 ? 0 : i % 11 == 0 ? '\n' : i % 13 == 0 ? '\r' : i);
            java.io.ByteArrayOutputStream m = new java.io.ByteArrayOutputStream();
            m.writeBytes(("From: erin@example.net\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"=b=\"\r\n\r\n"
                    + "--=b=\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n\r\n").getBytes());
            m.writeBytes(part);
            m.writeBytes("\r\n--=b=\r\nContent-Type: text/plain\r\n\r\nsecond\r\n--=b=--\r\n".getBytes());
            byte[] message = m.toByteArray();
            try (Transcript t = imap.loggedIn()) {
                t.sendRaw("a1 APPEND INBOX ~{" + message.length + "+}\r\n");
                t.socket().getOutputStream().write(message);
                t.sendRaw("\r\n");
                String ok = t.expect("a1 OK \\[APPENDUID \\d+ \\d+\\] APPEND completed");
                long uid = Long.parseLong(ok.replaceAll(".* (\\d+)\\] .*", "$1"));
                var structure = imap.store().structure(imap.inbox, uid).orElseThrow();
                try (InputStream in = imap.store().openMessage(imap.inbox, uid)) {
                    byte[] stored = in.readAllBytes();
                    assertThat(stored).isEqualTo(message);
                    var body1 = structure.section(stored, new org.castellan.protocol.imap.FetchAttribute.Section(
                            java.util.List.of(1), org.castellan.protocol.imap.FetchAttribute.Section.Kind.ALL, java.util.List.of()));
                    assertThat(body1).hasValueSatisfying(b -> assertThat(b).isEqualTo(part));
                }
                t.send("a2 EXAMINE INBOX");
                while (!t.readLine().startsWith("a2 OK")) {
                    // EXAMINE data
                }
                t.send("a3 UID FETCH " + uid + " (BINARY.SIZE[1] BODY.PEEK[2])");
                t.expect("\\* \\d+ FETCH \\(UID " + uid + " BINARY.SIZE\\[1\\] " + size + " BODY\\[2\\] \\{6\\}");
                t.expect("second\\)");
                t.expect("a3 OK FETCH completed");
            }
        }
    }

    @Test
    void binaryContentWithoutAHeaderComesBackAsPartOne() {
        // RFC 3516 §4.4 literal8 of data that has no header: it is all body, and BODY[1] of a
        // non-multipart message is its body (RFC 9051 §6.4.5), not an empty string.
        long next = uidNext();
        try (Transcript t = imap.selected()) {
            t.sendRaw("a1 APPEND INBOX ~{15}\r\n");
            t.expect("\\+ Ready for literal data");
            t.sendRaw("\u0000\u0001binary data\r\n\r\n");
            t.expect("\\* 3 EXISTS");
            t.expect("\\* \\d+ RECENT");
            t.expect("a1 OK \\[APPENDUID \\d+ " + next + "\\] APPEND completed");
            t.run("""
                    C: a2 FETCH 3 (BODY.PEEK[1] BINARY.SIZE[1])
                    S: \\* 3 FETCH \\(BODY\\[1\\] \\{15\\}
                    S: \\x00\\x01binary data
                    S:  BINARY.SIZE\\[1\\] 15\\)
                    S: a2 OK FETCH completed
                    """);
        }
    }

    @Test
    void capabilityAdvertisesBinary() {
        try (Transcript t = imap.loggedIn()) {
            assertThat(t.run("C: a1 CAPABILITY").expect("\\* CAPABILITY .*").split(" ")).contains("BINARY");
            t.expect("a1 OK CAPABILITY completed");
        }
    }
}
