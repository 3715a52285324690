package org.castellan.protocol.imap;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.List;
import org.castellan.protocol.imap.FetchAttribute.Section;
import org.junit.jupiter.api.Test;

/** Sections, ENVELOPE and BODYSTRUCTURE cut from the stored bytes (RFC 9051 §6.4.5, §7.5.2). */
class MessageStructureTest {

    private static final String NESTED = "From: a@example.org\r\nSubject: outer\r\nContent-Type: multipart/mixed; boundary=X\r\n\r\n"
            + "--X\r\nContent-Type: text/plain\r\n\r\nfirst\r\n"
            + "--X\r\nContent-Type: message/rfc822\r\n\r\nSubject: inner\r\nContent-Type: multipart/alternative; boundary=Y\r\n\r\n"
            + "--Y\r\n\r\nplain\r\n--Y\r\nContent-Type: text/html\r\n\r\n<p>html</p>\r\n--Y--\r\n"
            + "--X--\r\n";

    private static String section(String message, String spec, Section.Kind kind, String... fields) {
        byte[] bytes = message.getBytes(StandardCharsets.UTF_8);
        List<Integer> part = spec.isEmpty() ? List.of() : java.util.Arrays.stream(spec.split("\\.")).map(Integer::valueOf).toList();
        return MessageStructure.parse(bytes).section(bytes, new Section(part, kind, List.of(fields)))
                .map(b -> new String(b, StandardCharsets.UTF_8)).orElse(null);
    }

    @Test
    void contentWithoutAHeaderIsBody() {
        // RFC 3516 §4.4: literal8 may carry binary data; a line that cannot be a header field starts the body.
        String raw = "\u0000\u0001binary\r\nmore: not a header\r\n";
        assertThat(section(raw, "1", Section.Kind.ALL)).isEqualTo(raw);
        assertThat(section(raw, "", Section.Kind.TEXT)).isEqualTo(raw);
        assertThat(section(raw, "", Section.Kind.HEADER)).isEmpty();
        String part = "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\u0000\u00ffdata\r\n--b--\r\n";
        assertThat(section(part, "1", Section.Kind.ALL)).isEqualTo("\u0000\u00ffdata");
        // Usual headers, obsolete space before the colon and continuations are still headers.
        String usual = "Subject : hi\r\n folded\r\nX-A: 1\r\n\r\nbody\r\n";
        assertThat(section(usual, "", Section.Kind.TEXT)).isEqualTo("body\r\n");
        assertThat(MessageStructure.parse(usual.getBytes(StandardCharsets.UTF_8)).header("X-A")).hasValue("1");
    }

    @Test
    void nestedSections() {
        assertThat(section(NESTED, "1", Section.Kind.ALL)).isEqualTo("first");
        assertThat(section(NESTED, "2.HEADER".replace(".HEADER", ""), Section.Kind.HEADER))
                .isEqualTo("Subject: inner\r\nContent-Type: multipart/alternative; boundary=Y\r\n\r\n");
        assertThat(section(NESTED, "2.1", Section.Kind.ALL)).isEqualTo("plain");
        assertThat(section(NESTED, "2.2", Section.Kind.ALL)).isEqualTo("<p>html</p>");
        assertThat(section(NESTED, "2.2", Section.Kind.MIME)).isEqualTo("Content-Type: text/html\r\n\r\n");
        assertThat(section(NESTED, "", Section.Kind.HEADER_FIELDS_NOT, "CONTENT-TYPE", "FROM")).isEqualTo("Subject: outer\r\n\r\n");
        assertThat(section(NESTED, "3", Section.Kind.ALL)).isNull();
        assertThat(section(NESTED, "1", Section.Kind.TEXT)).isNull();
    }

    @Test
    void nonMultipartPartOneIsTheBody() {
        assertThat(section("Subject: x\r\n\r\nbody\r\n", "1", Section.Kind.ALL)).isEqualTo("body\r\n");
    }

    @Test
    void bodyStructureOfNestedMessage() {
        String bs = MessageStructure.parse(NESTED.getBytes(StandardCharsets.UTF_8)).bodyStructure(false, false);
        assertThat(bs).startsWith("((\"TEXT\" \"PLAIN\" NIL NIL NIL \"7BIT\" 5 1)(\"MESSAGE\" \"RFC822\" NIL NIL NIL \"7BIT\" ")
                .contains("(NIL \"inner\" NIL NIL NIL NIL NIL NIL NIL NIL)")
                .contains("\"ALTERNATIVE\")")
                .endsWith(" \"MIXED\")");
    }

    @Test
    void envelopeWithGroupsAndEncodedNames() {
        String msg = "From: \"Smith, J\" <j@example.org>\r\nTo: team: a@x.org, b@y.org;\r\nSubject: hi\r\n\r\n";
        String env = MessageStructure.parse(msg.getBytes(StandardCharsets.UTF_8)).envelope(false);
        assertThat(env).isEqualTo("(NIL \"hi\" ((\"Smith, J\" NIL \"j\" \"example.org\")) ((\"Smith, J\" NIL \"j\" \"example.org\")) "
                + "((\"Smith, J\" NIL \"j\" \"example.org\")) ((NIL NIL \"team\" NIL)(NIL NIL \"a\" \"x.org\")(NIL NIL \"b\" \"y.org\")"
                + "(NIL NIL NIL NIL)) NIL NIL NIL NIL)");
    }

    /** The octets a FETCH sends straight from the store are those the section names, for every part and kind (RFC 9051 §6.4.5). */
    @Test
    void sectionRangesCutTheSameOctetsAsSections() {
        byte[] bytes = NESTED.getBytes(StandardCharsets.UTF_8);
        MessageStructure m = MessageStructure.parse(bytes);
        for (List<Integer> part : List.of(List.<Integer>of(), List.of(1), List.of(2), List.of(2, 1), List.of(2, 2), List.of(3))) {
            for (Section.Kind kind : List.of(Section.Kind.ALL, Section.Kind.MIME, Section.Kind.HEADER, Section.Kind.TEXT)) {
                if (part.isEmpty() && kind == Section.Kind.MIME) continue; // RFC 9051 §6.4.5: MIME names a part
                Section section = new Section(part, kind, List.of());
                java.util.Optional<String> cut = m.section(bytes, section).map(b -> new String(b, StandardCharsets.UTF_8));
                java.util.Optional<String> ranged = m.sectionRange(section, bytes.length)
                        .map(r -> new String(bytes, (int) r.from(), (int) r.length(), StandardCharsets.UTF_8));
                assertThat(ranged).as(part + " " + kind).isEqualTo(cut);
            }
        }
        assertThat(m.sectionRange(new Section(List.of(2), Section.Kind.TEXT, List.of()), bytes.length).orElseThrow().length())
                .isEqualTo(section(NESTED, "2", Section.Kind.TEXT).length());
    }

    /** RFC 2183 §2 in RFC 9051 §7.5.2 body-fld-dsp: the disposition in upper case with its parameters; none gives NIL. */
    @Test
    void extensibleBodyStructureCarriesTheDisposition() {
        String attachment = "Content-Type: text/plain; charset=utf-8; flowed\r\nContent-Disposition: attachment; filename=\"a.txt\"\r\n\r\nx\r\n";
        assertThat(MessageStructure.parse(attachment.getBytes(StandardCharsets.UTF_8)).bodyStructure(true, false))
                .contains("(\"CHARSET\" \"utf-8\")")
                .contains("(\"ATTACHMENT\" (\"FILENAME\" \"a.txt\"))");
        String inline = "Content-Type: text/plain\r\nContent-Disposition: inline\r\n\r\nx\r\n";
        assertThat(MessageStructure.parse(inline.getBytes(StandardCharsets.UTF_8)).bodyStructure(true, false))
                .contains("(\"INLINE\" NIL)");
        String none = "Content-Type: text/plain\r\n\r\nx\r\n";
        assertThat(MessageStructure.parse(none.getBytes(StandardCharsets.UTF_8)).bodyStructure(true, false))
                .doesNotContain("INLINE").doesNotContain("ATTACHMENT");
    }

    /** RFC 5322 §2.2 and §3.6.8: a field name is printable ASCII from "!" to "~" but ":", and not empty; anything else starts the body. */
    @Test
    void fieldNamesAreThePrintableRangeAndNotEmpty() {
        String edges = "!X~: 1\r\n\r\nbody\r\n";
        assertThat(section(edges, "", Section.Kind.HEADER)).isEqualTo("!X~: 1\r\n\r\n");
        assertThat(MessageStructure.parse(edges.getBytes(StandardCharsets.UTF_8)).header("!X~")).hasValue("1");
        assertThat(MessageStructure.parse(edges.getBytes(StandardCharsets.UTF_8)).bodyOffset()).isEqualTo("!X~: 1\r\n\r\n".length());
        String emptyName = ": no name\r\nX-A: 1\r\n\r\nbody\r\n";
        assertThat(section(emptyName, "", Section.Kind.TEXT)).isEqualTo(emptyName);
        String del = "X\u007fA: 1\r\n\r\nbody\r\n";
        assertThat(section(del, "", Section.Kind.TEXT)).isEqualTo(del);
    }

    /** RFC 5322 §2.2.3: a field continues on lines starting with space or tab; a bare-LF message is read the same way. */
    @Test
    void foldedFieldsAndBareLfHeadersAreRead() {
        MessageStructure m = MessageStructure.parse("Subject: a\n\tb\nX-A: 1\n\nX-B: body\n".getBytes(StandardCharsets.UTF_8));
        assertThat(m.header("Subject")).hasValue("a\tb");
        assertThat(m.header("X-A")).hasValue("1");
        assertThat(m.header("X-B")).isEmpty();
    }

    @Test
    void malformedMimeNeverThrows() {
        for (String bad : List.of("", "no header end", "Content-Type: multipart/mixed; boundary=Z\r\n\r\n--Z\r\nunterminated",
                "Content-Type: multipart/mixed\r\n\r\nno boundary", "Content-Type: ;;;\r\n\r\nx", ":\r\n\r\n",
                // bare CR and LF inside fields, which mime4j's value parsers refuse with an exception
                "Content-Type: message/rfc822\rS\n\n\rubject: x\r\n\r\nbody\r\n",
                "Content-Disposition: attachment\r; filename=x\r\nDate: Mon, 1 Jan 2024\r 10:00:00 +0000\r\n\r\nx",
                // parameters without a value, which mime4j gives as null
                "Content-Type: multipart/mixed; boundary\u001dp4\r\nContent-Disposition: inline; size\r\n\r\nx")) {
            MessageStructure s = MessageStructure.parse(bad.getBytes(StandardCharsets.UTF_8));
            assertThat(s.bodyStructure(true, false)).startsWith("(");
            assertThat(s.envelope(false)).startsWith("(");
            s.sentDate();
        }
    }

    @Test
    void storedFormGivesTheSameAnswers() {
        String signed = "From: =?UTF-8?Q?Ren=C3=A9?= <r@example.org>\r\nDate: Tue, 2 Jan 2024 10:00:00 +0100\r\n"
                + "Content-Type: multipart/mixed; boundary=\"b 1\"; x=\"\u00e9\"\r\n\r\n--b 1\r\n\r\nx\r\n--b 1--\r\n";
        for (String msg : List.of(NESTED, signed, "", "no header end")) {
            byte[] bytes = msg.getBytes(StandardCharsets.UTF_8);
            MessageStructure parsed = MessageStructure.parse(bytes);
            MessageStructure stored = MessageStructure.decode(parsed.encode()).orElseThrow();
            assertThat(stored.envelope(true)).isEqualTo(parsed.envelope(true));
            assertThat(stored.bodyStructure(true, false)).isEqualTo(parsed.bodyStructure(true, false));
            assertThat(stored.bodyOffset()).isEqualTo(parsed.bodyOffset());
            assertThat(stored.searchText(bytes)).isEqualTo(parsed.searchText(bytes));
            assertThat(stored.encode()).isEqualTo(parsed.encode());
        }
        assertThat(section(NESTED, "2.2", Section.Kind.MIME)).isEqualTo("Content-Type: text/html\r\n\r\n");
    }

    @Test
    void damagedStoredFormIsRefusedNotThrown() {
        byte[] good = MessageStructure.parse(NESTED.getBytes(StandardCharsets.UTF_8)).encode();
        assertThat(MessageStructure.decode(null)).isEmpty();
        assertThat(MessageStructure.decode(new byte[0])).isEmpty();
        assertThat(MessageStructure.decode(new byte[] {9})).isEmpty(); // another format version
        for (int cut = 1; cut < good.length; cut++) {
            assertThat(MessageStructure.decode(java.util.Arrays.copyOf(good, cut))).isEmpty();
        }
        byte[] huge = good.clone();
        huge[5] = (byte) 0xFF; // a count far beyond the bytes left
        assertThat(MessageStructure.decode(huge)).satisfiesAnyOf(d -> assertThat(d).isEmpty(), d -> assertThat(d).isPresent());
    }

    @Test
    void searchTextDecodesTransferEncodingsCharsetsAndEncodedWords() {
        String msg = "Subject: =?ISO-8859-1?Q?caf=E9?=\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\n"
                + "--B\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n"
                + java.util.Base64.getMimeEncoder().encodeToString("Grüße aus Köln".getBytes(StandardCharsets.UTF_8)) + "\r\n"
                + "--B\r\nContent-Type: text/html; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
                + "na=EFve soft=\r\nbreak\r\n"
                + "--B\r\nContent-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n\r\naGlkZGVu\r\n"
                + "--B--\r\n";
        byte[] bytes = msg.getBytes(StandardCharsets.ISO_8859_1);
        SearchText t = MessageStructure.parse(bytes).searchText(bytes);
        assertThat(t.header()).contains("Subject: café");
        assertThat(t.bodyContains("GRÜSSE".substring(0, 3))).isTrue();
        assertThat(t.bodyContains("köln")).isTrue();
        assertThat(t.bodyContains("naïve softbreak")).isTrue();
        assertThat(t.bodyContains("hidden")).isFalse(); // an image is not text
        assertThat(t.textContains("CAFÉ")).isTrue();
        assertThat(t.bodyContains("café")).isFalse();
    }

    @Test
    void sortValues() {
        String msg = "From: \"Zed\" <Zed@Example.org>, b@x.org\r\nCc: undisclosed:;\r\nDate: Mon, 1 Jan 2024 23:30:00 -0200\r\n\r\n";
        MessageStructure s = MessageStructure.parse(msg.getBytes(StandardCharsets.UTF_8));
        assertThat(s.firstAddress("From")).contains(new MessageStructure.FirstAddress("Zed", "Zed", "Example.org"));
        // RFC 5256 §3 sorts by the first address structure; a group's is its start marker (RFC 9051 §7.5.2).
        assertThat(s.firstAddress("Cc")).contains(new MessageStructure.FirstAddress(null, "undisclosed", null));
        assertThat(s.firstAddress("To")).isEmpty();
        assertThat(s.sentDate()).contains(java.time.Instant.parse("2024-01-02T01:30:00Z"));
        assertThat(MessageStructure.parse("Date: yesterday\r\n\r\n".getBytes(StandardCharsets.UTF_8)).sentDate()).isEmpty();
    }
}
