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

    @Test
    void malformedMimeNeverThrows() {
        for (String bad : List.of("", "no header end", "Content-Type: multipart/mixed; boundary=Z\r\n\r\n--Z\r\nunterminated",
                "Content-Type: multipart/mixed\r\n\r\nno boundary", "Content-Type: ;;;\r\n\r\nx", ":\r\n\r\n")) {
            MessageStructure s = MessageStructure.parse(bad.getBytes(StandardCharsets.UTF_8));
            assertThat(s.bodyStructure(true, false)).startsWith("(");
            assertThat(s.envelope(false)).startsWith("(");
        }
    }
}
