package org.castellan.protocol.imap;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import org.castellan.protocol.imap.FetchAttribute.Section;
import org.castellan.protocol.imap.MessageStructure.BinaryContent;
import org.castellan.testkit.TestMessages;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Part numbers of nested messages (RFC 3501 §6.4.5, RFC 9051 §6.4.5): every section of the RFC's
 * own example message, then encapsulated messages at the top level, message/rfc822 inside
 * message/rfc822, multipart/digest inside message/rfc822 (parts default to message/rfc822, RFC 2046
 * §5.1.5), and nested boundaries where one is a prefix of the other (RFC 2046 §5.1.1).
 */
class PartNumbersTest {

    /** The structure of the RFC 3501 §6.4.5 example, part for part, with short bodies. */
    static final String RFC_EXAMPLE = TestMessages.load("rfc3501-example");

    static final String THREE_HEADER = "Subject: three\r\nContent-Type: MULTIPART/MIXED; BOUNDARY=\"b\"\r\n\r\n";
    static final String THREE_TEXT = crlf("""
            --b
            Content-Type: TEXT/PLAIN

            three.one
            --b
            Content-Type: APPLICATION/OCTET-STREAM
            Content-Transfer-Encoding: BASE64

            My4y
            --b--""");
    static final String FOUR_TWO_HEADER = "Subject: four.two\r\nContent-Type: MULTIPART/MIXED; BOUNDARY=\"d\"\r\n\r\n";
    static final String FOUR_TWO_TWO = crlf("""
            --e
            Content-Type: TEXT/PLAIN

            four.two.two.one
            --e
            Content-Type: TEXT/RICHTEXT

            <bold>four.two.two.two</bold>
            --e--""");
    static final String FOUR_TWO_TEXT = crlf("""
            --d
            Content-Type: TEXT/PLAIN

            four.two.one
            --d
            Content-Type: MULTIPART/ALTERNATIVE; BOUNDARY="e"

            """) + FOUR_TWO_TWO + "\r\n--d--";

    static String crlf(String s) {
        return s.replace("\n", "\r\n");
    }

    /** BODY[section] of a message as text, null for NIL; {@code spec} is "4.2.HEADER", "1", "" … */
    static String section(String message, String spec) {
        byte[] bytes = message.getBytes(StandardCharsets.UTF_8);
        return MessageStructure.parse(bytes).section(bytes, parse(spec)).map(b -> new String(b, StandardCharsets.UTF_8))
                .orElse(null);
    }

    static Section parse(String spec) {
        List<String> items = spec.isEmpty() ? List.of() : Arrays.asList(spec.split("\\."));
        int numbers = 0;
        while (numbers < items.size() && items.get(numbers).chars().allMatch(Character::isDigit)) numbers++;
        List<Integer> part = items.subList(0, numbers).stream().map(Integer::valueOf).toList();
        String rest = String.join(".", items.subList(numbers, items.size()));
        Section.Kind kind = switch (rest) {
            case "" -> Section.Kind.ALL;
            case "HEADER" -> Section.Kind.HEADER;
            case "TEXT" -> Section.Kind.TEXT;
            case "MIME" -> Section.Kind.MIME;
            case "HEADER.FIELDS" -> Section.Kind.HEADER_FIELDS;
            default -> throw new IllegalArgumentException(spec);
        };
        return new Section(part, kind, kind == Section.Kind.HEADER_FIELDS ? List.of("SUBJECT") : List.of());
    }

    /** One table row: {@code expected} writes CRLF as the four characters \r\n, and is null for NIL. */
    static void check(String message, String spec, String expected) {
        assertThat(section(message, spec)).isEqualTo(expected == null ? null : expected.replace("\\r\\n", "\r\n"));
    }

    static String binary(String message, Integer... part) {
        byte[] bytes = message.getBytes(StandardCharsets.UTF_8);
        return switch (MessageStructure.parse(bytes).binary(bytes, List.of(part))) {
            case BinaryContent.Decoded d -> new String(d.bytes(), StandardCharsets.UTF_8);
            case BinaryContent.Missing m -> null;
            case BinaryContent.UnknownEncoding u -> "unknown " + u.encoding();
        };
    }

    /** RFC 3501 §6.4.5: the example's table, every row, and what the rows imply about MIME. */
    @Test
    void theRfcExampleSectionBySection() {
        String m = RFC_EXAMPLE;
        assertThat(section(m, "HEADER")).isEqualTo(m.substring(0, m.indexOf("\r\n\r\n") + 4));
        assertThat(section(m, "TEXT")).isEqualTo(m.substring(m.indexOf("\r\n\r\n") + 4));
        assertThat(section(m, "1")).isEqualTo("one");
        assertThat(section(m, "2")).isEqualTo("dHdv");
        assertThat(section(m, "3")).isEqualTo(THREE_HEADER + THREE_TEXT);
        assertThat(section(m, "3.HEADER")).isEqualTo(THREE_HEADER);
        assertThat(section(m, "3.TEXT")).isEqualTo(THREE_TEXT);
        assertThat(section(m, "3.1")).isEqualTo("three.one");
        assertThat(section(m, "3.2")).isEqualTo("My4y");
        assertThat(section(m, "4")).startsWith("--c\r\n").endsWith("\r\n--d--\r\n--c--");
        assertThat(section(m, "4.1")).isEqualTo("R0lGODlh");
        assertThat(section(m, "4.1.MIME")).isEqualTo("Content-Type: IMAGE/GIF\r\nContent-Transfer-Encoding: BASE64\r\n\r\n");
        assertThat(section(m, "4.2")).isEqualTo(FOUR_TWO_HEADER + FOUR_TWO_TEXT);
        assertThat(section(m, "4.2.HEADER")).isEqualTo(FOUR_TWO_HEADER);
        assertThat(section(m, "4.2.TEXT")).isEqualTo(FOUR_TWO_TEXT);
        assertThat(section(m, "4.2.1")).isEqualTo("four.two.one");
        assertThat(section(m, "4.2.2")).isEqualTo(FOUR_TWO_TWO);
        assertThat(section(m, "4.2.2.1")).isEqualTo("four.two.two.one");
        assertThat(section(m, "4.2.2.2")).isEqualTo("<bold>four.two.two.two</bold>");
    }

    @ParameterizedTest(name = "BODY[{0}]")
    @CsvSource(delimiter = '|', nullValues = "NIL", value = {
        "1.MIME|Content-Type: TEXT/PLAIN\\r\\n\\r\\n",
        "3.MIME|Content-Type: MESSAGE/RFC822\\r\\n\\r\\n",
        "3.1.MIME|Content-Type: TEXT/PLAIN\\r\\n\\r\\n",
        "3.HEADER.FIELDS|Subject: three\\r\\n\\r\\n",
        "4.MIME|Content-Type: MULTIPART/MIXED; BOUNDARY=\"c\"\\r\\n\\r\\n",
        "4.2.MIME|Content-Type: MESSAGE/RFC822\\r\\n\\r\\n",
        "4.2.HEADER.FIELDS|Subject: four.two\\r\\n\\r\\n",
        "4.2.2.MIME|Content-Type: MULTIPART/ALTERNATIVE; BOUNDARY=\"e\"\\r\\n\\r\\n",
        "4.2.2.2.MIME|Content-Type: TEXT/RICHTEXT\\r\\n\\r\\n",
        // Parts that do not exist, and HEADER/TEXT of parts that are not messages.
        "5|NIL", "1.1|NIL", "3.3|NIL", "4.3|NIL", "4.1.1|NIL", "4.2.3|NIL", "4.2.2.3|NIL", "4.2.2.1.1|NIL",
        "1.HEADER|NIL", "4.2.1.TEXT|NIL", "4.HEADER|NIL",
    })
    void theRfcExampleMimeHeadersAndMissingParts(String spec, String expected) {
        check(RFC_EXAMPLE, spec, expected);
    }

    @Test
    void theRfcExampleBinary() {
        assertThat(binary(RFC_EXAMPLE, 2)).isEqualTo("two");
        assertThat(binary(RFC_EXAMPLE, 3, 1)).isEqualTo("three.one");
        assertThat(binary(RFC_EXAMPLE, 3, 2)).isEqualTo("3.2");
        assertThat(binary(RFC_EXAMPLE, 4, 1)).isEqualTo("GIF89a");
        assertThat(binary(RFC_EXAMPLE, 4, 2, 2, 2)).isEqualTo("<bold>four.two.two.two</bold>");
        assertThat(binary(RFC_EXAMPLE, 3, 3)).isNull();
        assertThat(binary(RFC_EXAMPLE, 1, 1)).isNull();
    }

    /** RFC 9051 §7.5.2: the body structure nests as the example's table does, in its order. */
    @Test
    void theRfcExampleBodyStructure() {
        String bs = MessageStructure.parse(RFC_EXAMPLE.getBytes(StandardCharsets.UTF_8)).bodyStructure(false, false);
        assertThat(bs).isEqualTo("((\"TEXT\" \"PLAIN\" NIL NIL NIL \"7BIT\" 3 1)"
                + "(\"APPLICATION\" \"OCTET-STREAM\" NIL NIL NIL \"BASE64\" 4)"
                + "(\"MESSAGE\" \"RFC822\" NIL NIL NIL \"7BIT\" " + (THREE_HEADER + THREE_TEXT).length()
                + " (NIL \"three\" NIL NIL NIL NIL NIL NIL NIL NIL)"
                + " ((\"TEXT\" \"PLAIN\" NIL NIL NIL \"7BIT\" 9 1)(\"APPLICATION\" \"OCTET-STREAM\" NIL NIL NIL \"BASE64\" 4) \"MIXED\") 13)"
                + "((\"IMAGE\" \"GIF\" NIL NIL NIL \"BASE64\" 8)"
                + "(\"MESSAGE\" \"RFC822\" NIL NIL NIL \"7BIT\" " + (FOUR_TWO_HEADER + FOUR_TWO_TEXT).length()
                + " (NIL \"four.two\" NIL NIL NIL NIL NIL NIL NIL NIL)"
                + " ((\"TEXT\" \"PLAIN\" NIL NIL NIL \"7BIT\" 12 1)"
                + "((\"TEXT\" \"PLAIN\" NIL NIL NIL \"7BIT\" 16 1)(\"TEXT\" \"RICHTEXT\" NIL NIL NIL \"7BIT\" 29 1) \"ALTERNATIVE\")"
                + " \"MIXED\") 20) \"MIXED\") \"MIXED\")");
    }

    /** A message whose own body is a message: part 1 is that message, 1.1 its body (RFC 3501 §6.4.5). */
    static final String TOP_LEVEL_RFC822 = TestMessages.load("top-level-rfc822");

    @ParameterizedTest(name = "BODY[{0}]")
    @CsvSource(delimiter = '|', nullValues = "NIL", value = {
        "1|Subject: inner\\r\\n\\r\\ninner body\\r\\n",
        "1.HEADER|Subject: inner\\r\\n\\r\\n",
        "1.TEXT|inner body\\r\\n",
        "1.1|inner body\\r\\n",
        "1.1.MIME|Subject: inner\\r\\n\\r\\n",
        "TEXT|Subject: inner\\r\\n\\r\\ninner body\\r\\n",
        "1.2|NIL", "2|NIL", "1.1.1|NIL",
    })
    void anEncapsulatedMessageAtTheTopLevel(String spec, String expected) {
        check(TOP_LEVEL_RFC822, spec, expected);
    }

    /** The same with a multipart inside: 1.2 is its second part, 1.1 a message again. */
    static final String TOP_LEVEL_RFC822_MULTIPART = TestMessages.load("top-level-rfc822-multipart");

    @ParameterizedTest(name = "BODY[{0}]")
    @CsvSource(delimiter = '|', nullValues = "NIL", value = {
        "1.1|Subject: deepest\\r\\n\\r\\ndeepest body",
        "1.1.MIME|Content-Type: message/rfc822\\r\\n\\r\\n",
        "1.1.HEADER|Subject: deepest\\r\\n\\r\\n",
        "1.1.TEXT|deepest body",
        "1.1.1|deepest body",
        "1.2|inner two",
        "1.2.MIME|\\r\\n",
        "1.HEADER|Subject: inner\\r\\nContent-Type: multipart/mixed; boundary=i\\r\\n\\r\\n",
        "1.3|NIL", "1.2.1|NIL", "1.1.2|NIL", "1.2.HEADER|NIL",
    })
    void anEncapsulatedMultipartAtTheTopLevel(String spec, String expected) {
        check(TOP_LEVEL_RFC822_MULTIPART, spec, expected);
    }

    @Test
    void anEncapsulatedMultipartAtTheTopLevelBodyStructure() {
        String bs = MessageStructure.parse(TOP_LEVEL_RFC822_MULTIPART.getBytes(StandardCharsets.UTF_8)).bodyStructure(false, false);
        assertThat(bs).startsWith("(\"MESSAGE\" \"RFC822\" NIL NIL NIL \"7BIT\" ")
                .contains(" (NIL \"inner\" NIL NIL NIL NIL NIL NIL NIL NIL) ((\"MESSAGE\" \"RFC822\" ")
                .contains(" (NIL \"deepest\" NIL NIL NIL NIL NIL NIL NIL NIL) (\"TEXT\" \"PLAIN\" NIL NIL NIL \"7BIT\" 12 1) 3)")
                .contains("(\"TEXT\" \"PLAIN\" NIL NIL NIL \"7BIT\" 9 1) \"MIXED\") ");
    }

    /** message/rfc822 whose body is itself message/rfc822, inside a multipart. */
    static final String RFC822_IN_RFC822 = TestMessages.load("rfc822-in-rfc822");

    @ParameterizedTest(name = "BODY[{0}]")
    @CsvSource(delimiter = '|', nullValues = "NIL", value = {
        "1.HEADER|Subject: m1\\r\\nContent-Type: message/rfc822\\r\\n\\r\\n",
        "1.MIME|Content-Type: message/rfc822\\r\\n\\r\\n",
        "1.1.HEADER|Subject: m2\\r\\nContent-Type: multipart/alternative; boundary=y\\r\\n\\r\\n",
        "1.1.MIME|Subject: m1\\r\\nContent-Type: message/rfc822\\r\\n\\r\\n",
        "1.1.1|m2 part one",
        "1.1.1.MIME|\\r\\n",
        "1.1.2|<p>m2 part =3D two</p>",
        "1.1.2.MIME|Content-Type: text/html\\r\\nContent-Transfer-Encoding: quoted-printable\\r\\n\\r\\n",
        "1.2|NIL", "1.1.3|NIL", "2|NIL", "1.1.1.HEADER|NIL",
    })
    void messageInsideMessage(String spec, String expected) {
        check(RFC822_IN_RFC822, spec, expected);
    }

    @Test
    void messageInsideMessageWholeSectionsAndBinary() {
        String m = RFC822_IN_RFC822;
        String m2 = m.substring(m.indexOf("Subject: m2"), m.indexOf("\r\n--x--"));
        assertThat(section(m, "1")).isEqualTo("Subject: m1\r\nContent-Type: message/rfc822\r\n\r\n" + m2);
        assertThat(section(m, "1.TEXT")).isEqualTo(m2);
        assertThat(section(m, "1.1")).isEqualTo(m2);
        assertThat(section(m, "1.1.TEXT")).isEqualTo(m2.substring(m2.indexOf("--y")));
        assertThat(binary(m, 1, 1, 2)).isEqualTo("<p>m2 part = two</p>");
        String bs = MessageStructure.parse(m.getBytes(StandardCharsets.UTF_8)).bodyStructure(false, false);
        assertThat(bs).startsWith("((\"MESSAGE\" \"RFC822\" NIL NIL NIL \"7BIT\" ")
                .contains(" (NIL \"m1\" NIL NIL NIL NIL NIL NIL NIL NIL) (\"MESSAGE\" \"RFC822\" NIL NIL NIL \"7BIT\" ")
                .contains(" (NIL \"m2\" NIL NIL NIL NIL NIL NIL NIL NIL) ((\"TEXT\" \"PLAIN\" ")
                .contains("(\"TEXT\" \"HTML\" NIL NIL NIL \"QUOTED-PRINTABLE\" 22 1) \"ALTERNATIVE\")")
                .endsWith(" \"MIXED\")");
    }

    /** RFC 2046 §5.1.5: a digest's parts are message/rfc822 unless they say otherwise. */
    static final String DIGEST_IN_RFC822 = TestMessages.load("digest-in-rfc822");

    @ParameterizedTest(name = "BODY[{0}]")
    @CsvSource(delimiter = '|', nullValues = "NIL", value = {
        "1.1|Subject: first\\r\\n\\r\\nfirst body",
        "1.1.MIME|\\r\\n",
        "1.1.HEADER|Subject: first\\r\\n\\r\\n",
        "1.1.TEXT|first body",
        "1.1.1|first body",
        "1.2.HEADER|Subject: second\\r\\nContent-Type: multipart/mixed; boundary=s\\r\\n\\r\\n",
        "1.2.1|second part one",
        "1.2.2|second part two",
        "1.2.2.MIME|Content-Type: text/plain\\r\\n\\r\\n",
        "1.3|not a message",
        "1.3.MIME|Content-Type: text/plain\\r\\n\\r\\n",
        "1.3.HEADER|NIL", "1.4|NIL", "1.1.2|NIL", "1.2.3|NIL",
    })
    void digestInsideMessage(String spec, String expected) {
        check(DIGEST_IN_RFC822, spec, expected);
    }

    @Test
    void digestPartsAreMessagesInTheBodyStructure() {
        String bs = MessageStructure.parse(DIGEST_IN_RFC822.getBytes(StandardCharsets.UTF_8)).bodyStructure(false, false);
        assertThat(bs).contains("((\"MESSAGE\" \"RFC822\" NIL NIL NIL \"7BIT\" 28 (NIL \"first\" NIL NIL NIL NIL NIL NIL NIL NIL)"
                        + " (\"TEXT\" \"PLAIN\" NIL NIL NIL \"7BIT\" 10 1) 3)")
                .contains("(\"TEXT\" \"PLAIN\" NIL NIL NIL \"7BIT\" 13 1) \"DIGEST\")");
    }

    /**
     * RFC 2046 §5.1.1 compares a line's beginning with the boundary; when the boundaries of nested
     * multiparts share a prefix ("p4", "p42"), the longest one that matches is the line's.
     */
    static final String PREFIX_BOUNDARIES = TestMessages.load("prefix-boundaries");

    @ParameterizedTest(name = "BODY[{0}]")
    @CsvSource(delimiter = '|', nullValues = "NIL", value = {
        "1.1|inner one", "1.2|inner two", "2|outer two", "3|NIL", "1.3|NIL",
    })
    void nestedBoundariesSharingAPrefix(String spec, String expected) {
        assertThat(section(PREFIX_BOUNDARIES, spec)).isEqualTo(expected);
    }
}
