package org.castellan.protocol.imap;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.OffsetDateTime;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;
import java.util.stream.Stream;
import org.castellan.protocol.imap.FetchAttribute.Section;
import org.castellan.protocol.imap.ImapUrl.Access;
import org.castellan.protocol.imap.ImapUrl.AccessKind;
import org.castellan.protocol.imap.ImapUrl.Form;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** RFC 5092 IMAP URLs, with RFC 4467 §3 URLAUTH: the RFCs' examples and grammar, valid and not. */
class ImapUrlTest {

    private static ImapUrl ok(String text) {
        ImapUrl.Result r = ImapUrl.parse(text);
        assertThat(r).as(text).isInstanceOf(ImapUrl.Parsed.class);
        return ((ImapUrl.Parsed) r).url();
    }

    /** One row: the text, and what the parsed URL holds (mailbox, UIDVALIDITY, UID, section, partial). */
    static Stream<Arguments> valid() {
        return Stream.of(
                // RFC 5092 §10 examples
                Arguments.of("imap://minbari.example.org/gray-council;UIDVALIDITY=385759045/;UID=20/;PARTIAL=0.1024",
                        Form.ABSOLUTE, "gray-council", 385759045L, 20L, null, "0.1024"),
                Arguments.of("imap://psicorp.example.org/~peter/%E6%97%A5%E6%9C%AC%E8%AA%9E/%E5%8F%B0%E5%8C%97",
                        Form.ABSOLUTE, "~peter/日本語/台北", null, null, null, null),
                Arguments.of("imap://;AUTH=GSSAPI@minbari.example.org/gray-council/;uid=20/;section=1.2",
                        Form.ABSOLUTE, "gray-council", null, 20L, "1.2", null),
                Arguments.of("imap://;AUTH=*@minbari.example.org/gray%20council?SUBJECT%20shadows",
                        Form.ABSOLUTE, "gray council", null, null, null, null),
                // RFC 4467 §7 examples
                Arguments.of("imap://joe@example.com/INBOX/;uid=20/;section=1.2;urlauth=submit+fred",
                        Form.ABSOLUTE, "INBOX", null, 20L, "1.2", null),
                Arguments.of("imap://joe@example.com/INBOX/;uid=20/;section=1.2;urlauth=anonymous:internal:"
                        + "91354a473744909de610943775f92055", Form.ABSOLUTE, "INBOX", null, 20L, "1.2", null),
                // RFC 4469 §5 relative forms
                Arguments.of("/Drafts;UIDVALIDITY=385759045/;UID=20/;section=HEADER",
                        Form.ABSOLUTE_PATH, "Drafts", 385759045L, 20L, "HEADER", null),
                Arguments.of("/Drafts;UIDVALIDITY=385759045/;UID=30", Form.ABSOLUTE_PATH, "Drafts", 385759045L, 30L, null, null),
                Arguments.of("//example.com/INBOX/;UID=5", Form.NETWORK_PATH, "INBOX", null, 5L, null, null),
                Arguments.of(";UID=20/;SECTION=1.MIME", Form.RELATIVE_PATH, null, null, 20L, "1.MIME", null),
                Arguments.of(";SECTION=2", Form.RELATIVE_PATH, null, null, null, "2", null),
                Arguments.of(";PARTIAL=10", Form.RELATIVE_PATH, null, null, null, null, "10"),
                Arguments.of("Sent/;UID=7", Form.RELATIVE_PATH, "Sent", null, 7L, null, null),
                // section-spec with header fields, percent-encoded
                Arguments.of("imap://h/INBOX/;UID=1/;SECTION=HEADER.FIELDS%20(FROM%20TO)", Form.ABSOLUTE, "INBOX", null, 1L,
                        "HEADER.FIELDS (FROM TO)", null),
                Arguments.of("imap://h:143/INBOX", Form.ABSOLUTE, "INBOX", null, null, null, null),
                Arguments.of("IMAP://H/INBOX/", Form.ABSOLUTE, "INBOX", null, null, null, null));
    }

    @ParameterizedTest
    @MethodSource
    void valid(String text, Form form, String mailbox, Long validity, Long uid, String section, String partial) {
        ImapUrl url = ok(text);
        assertThat(url.form()).isEqualTo(form);
        assertThat(url.mailbox()).isEqualTo(Optional.ofNullable(mailbox));
        assertThat(url.uidValidity()).isEqualTo(validity == null ? OptionalLong.empty() : OptionalLong.of(validity));
        assertThat(url.uid()).isEqualTo(uid == null ? OptionalLong.empty() : OptionalLong.of(uid));
        assertThat(url.section().map(Section::spec)).isEqualTo(Optional.ofNullable(section));
        assertThat(url.partial().map(p -> p.offset() + (p.length().isPresent() ? "." + p.length().getAsLong() : "")))
                .isEqualTo(Optional.ofNullable(partial));
    }

    static Stream<String> invalid() {
        return Stream.of(
                "", "http://example.com/INBOX", "imap://", "imap://h/INBOX/;UID=0", "imap://h/INBOX/;UID=x",
                "imap://h/INBOX/;UID=4294967296", "imap://h/INBOX;UID=1", "imap://h/;UID=1",
                "imap://h/INBOX/;UID=1;SECTION=1", "imap://h/INBOX/;UID=1/;SECTION=1.", "imap://h/INBOX/;UID=1/;SECTION=BOGUS",
                "imap://h/INBOX/;UID=1/;PARTIAL=1.0", "imap://h/INBOX/;UID=1/;FOO=1", "imap://h/IN BOX",
                "imap://h/IN%ZZBOX", "imap://h/%FF", "imap://h/IN;BOX", "imap://h/a/../b/;UID=1", "../INBOX/;UID=1",
                "imap://h/INBOX;URLAUTH=anonymous", "/INBOX/;UID=1;URLAUTH=anonymous",
                "imap://h/INBOX/;UID=1;URLAUTH=everyone", "imap://h/INBOX/;UID=1;URLAUTH=submit+",
                "imap://h/INBOX/;UID=1;URLAUTH=anonymous:internal:abc",
                "imap://h/INBOX/;UID=1;URLAUTH=anonymous:internal:91354a473744909de610943775f9205z",
                "imap://h/INBOX/;UID=1;URLAUTH=anonymous:internal", "imap://h/INBOX/;UID=1;EXPIRE=2026-01-01T00:00:00Z",
                "imap://h/INBOX/;UID=1;EXPIRE=tomorrow;URLAUTH=anonymous", "imap://h:99999/INBOX", "imap://h/INBOX/;UID=1/",
                "imap://h/INBOX/;UID=1?ALL", "imap://h/INBOX\u00e9");
    }

    @ParameterizedTest
    @MethodSource
    void invalid(String text) {
        assertThat(ImapUrl.parse(text)).as(text).isInstanceOf(ImapUrl.Invalid.class);
    }

    @Test
    void serverUserAndAuthTypeAreDecoded() {
        ImapUrl url = ok("imap://alice%40example.org;AUTH=SCRAM-SHA-256@mail.example.org:993/INBOX");
        assertThat(url.server().orElseThrow()).isEqualTo(new ImapUrl.Server(Optional.of("alice@example.org"),
                Optional.of("SCRAM-SHA-256"), "mail.example.org", OptionalInt.of(993)));
    }

    @Test
    void urlAuthParts() {
        String rump = "imap://joe@example.com/INBOX/;uid=20/;section=1.2;EXPIRE=2026-12-31T23:59:59Z;urlauth=submit+fred";
        ImapUrl full = ok(rump + ":INTERNAL:01AB354a473744909de610943775f92055ff00aa");
        ImapUrl.UrlAuth auth = full.urlAuth().orElseThrow();
        assertThat(auth.rump()).isEqualTo(rump);
        assertThat(auth.access()).isEqualTo(new Access(AccessKind.SUBMIT, Optional.of("fred")));
        assertThat(auth.expire()).contains(OffsetDateTime.parse("2026-12-31T23:59:59Z"));
        assertThat(auth.mechanism()).contains("INTERNAL");
        assertThat(auth.token()).contains("01ab354a473744909de610943775f92055ff00aa");
        assertThat(auth.toString()).doesNotContain("01ab");
        assertThat(full.messagePart()).isTrue();

        ImapUrl rumpOnly = ok(rump);
        assertThat(rumpOnly.urlAuth().orElseThrow().verified()).isFalse();
        assertThat(rumpOnly.urlAuth().orElseThrow().rump()).isEqualTo(rump);

        for (String access : List.of("authuser", "ANONYMOUS", "user+joe%40example.com")) {
            assertThat(ok("imap://h/INBOX/;UID=1;URLAUTH=" + access).urlAuth()).isPresent();
        }
        assertThat(ok("imap://h/INBOX/;UID=1;URLAUTH=user+joe%40example.com").urlAuth().orElseThrow().access())
                .isEqualTo(new Access(AccessKind.USER, Optional.of("joe@example.com")));
    }

    private static String invalidReason(String text) {
        ImapUrl.Result r = ImapUrl.parse(text);
        assertThat(r).as(text).isInstanceOf(ImapUrl.Invalid.class);
        return ((ImapUrl.Invalid) r).reason();
    }

    /** RFC 3986 §3.2.3: a port is at most 65535; RFC 5092 §3.2: ";AUTH=" names a mechanism or "*". */
    @Test
    void portsRunTo65535AndAuthNeedsAType() {
        assertThat(ok("imap://h:65535/INBOX").server().orElseThrow().port()).isEqualTo(OptionalInt.of(65535));
        assertThat(ok("imap://h:0/INBOX").server().orElseThrow().port()).isEqualTo(OptionalInt.of(0));
        assertThat(invalidReason("imap://h:65536/INBOX")).isEqualTo("invalid port");
        assertThat(invalidReason("imap://h:123456/INBOX")).isEqualTo("invalid port");
        assertThat(invalidReason("imap://;AUTH=@h/INBOX")).isEqualTo("empty ;AUTH=");
        assertThat(ok("imap://fred;auth=*@h/INBOX").server().orElseThrow())
                .isEqualTo(new ImapUrl.Server(Optional.of("fred"), Optional.of("*"), "h", OptionalInt.empty()));
        assertThat(ok("imap://[2001:db8::1]:993/INBOX").server().orElseThrow())
                .isEqualTo(new ImapUrl.Server(Optional.empty(), Optional.empty(), "[2001:db8::1]", OptionalInt.of(993)));
    }

    /** RFC 5092 §11 achar and bchar: letters and digits to their ends, the listed marks, and "%" with two hex digits for the rest. */
    @Test
    void urlCharactersAreTheRfcClassesToTheirEnds() {
        assertThat(ok("imap://aAzZ09-._~!$'()*+,&=@h/INBOX").server().orElseThrow().user()).hasValue("aAzZ09-._~!$'()*+,&=");
        assertThat(ok("imap://h/aAzZ09:@").mailbox()).hasValue("aAzZ09:@");
        assertThat(ok("imap://h/a%41").mailbox()).hasValue("aA");
        assertThat(invalidReason("imap://h/a%4")).isEqualTo("truncated percent-encoding");
        assertThat(invalidReason("imap://h/a%zz")).isEqualTo("invalid percent-encoding");
        assertThat(ImapUrl.parse("imap://h/a[b")).isInstanceOf(ImapUrl.Invalid.class);
        assertThat(ImapUrl.parse("imap://h/a`b")).isInstanceOf(ImapUrl.Invalid.class);
        assertThat(ImapUrl.parse("imap://h/a{b")).isInstanceOf(ImapUrl.Invalid.class);
        assertThat(ImapUrl.parse("imap://h/a/b\u007f")).isInstanceOf(ImapUrl.Invalid.class);
        assertThat(ImapUrl.parse("imap://h/a b")).isInstanceOf(ImapUrl.Invalid.class);
        assertThat(ImapUrl.parse("imap://h/" + "a".repeat(ImapUrl.MAX_LENGTH))).isInstanceOf(ImapUrl.Invalid.class);
        assertThat(ImapUrl.parse("imap://h/" + "a".repeat(ImapUrl.MAX_LENGTH - "imap://h/".length()))).isInstanceOf(ImapUrl.Parsed.class);
    }

    /** RFC 4467 §3: the token is 32 to 256 hex digits; it authorizes whoever holds it, so it never shows in a log line. */
    @Test
    void urlAuthTokensHaveTheirLengthsAndStayOutOfLogs() {
        String base = "imap://joe@example.com/INBOX/;uid=20;urlauth=anonymous:internal:";
        assertThat(ok(base + "a".repeat(ImapUrl.MIN_TOKEN_HEX)).urlAuth().orElseThrow().verified()).isTrue();
        ImapUrl.UrlAuth longest = ok(base + "B".repeat(ImapUrl.MAX_TOKEN_HEX)).urlAuth().orElseThrow();
        assertThat(longest.token()).hasValue("b".repeat(ImapUrl.MAX_TOKEN_HEX));
        assertThat(longest.toString()).doesNotContain("bbbb").contains("***");
        assertThat(invalidReason(base + "a".repeat(ImapUrl.MIN_TOKEN_HEX - 1))).isEqualTo("invalid URLAUTH token");
        assertThat(invalidReason(base + "a".repeat(ImapUrl.MAX_TOKEN_HEX + 1))).isEqualTo("invalid URLAUTH token");
    }

    /** RFC 5092 imessagepart: a mailbox and a UID, and no search; anything less names no message. */
    @Test
    void onlyAMailboxWithAUidAndNoSearchNamesAMessage() {
        assertThat(ok("imap://h/INBOX/;UID=1").messagePart()).isTrue();
        assertThat(ok("imap://h/INBOX").messagePart()).isFalse();
        assertThat(ok("imap://h/INBOX?SEEN").messagePart()).isFalse();
    }

    @Test
    void relativeUrlsResolveAgainstTheSelectedMailbox() {
        ImapUrl base = ok("imap://alice@h/Lists/ietf");
        assertThat(ok(";UID=20/;SECTION=1").resolve(base)).isEqualTo(ok("imap://alice@h/Lists/ietf/;UID=20/;SECTION=1"));
        assertThat(ok("/Drafts/;UID=3").resolve(base)).isEqualTo(ok("imap://alice@h/Drafts/;UID=3"));
        assertThat(ok("imap-wg/;UID=3").resolve(base)).isEqualTo(ok("imap://alice@h/Lists/imap-wg/;UID=3"));
        assertThat(ok("//other/INBOX/;UID=3").resolve(base)).isEqualTo(ok("imap://other/INBOX/;UID=3"));
        ImapUrl message = ok("imap://alice@h/INBOX;UIDVALIDITY=9/;UID=4");
        assertThat(ok(";SECTION=2.TEXT").resolve(message)).isEqualTo(ok("imap://alice@h/INBOX;UIDVALIDITY=9/;UID=4/;SECTION=2.TEXT"));
        assertThat(ok(";UID=5").resolve(ok("imap://alice@h/INBOX")).mailbox()).contains("INBOX");
    }

    @Test
    void sectionSpecAloneUsesTheFetchGrammar() {
        assertThat(ImapParser.section("1.2.MIME")).contains(new Section(List.of(1, 2), Section.Kind.MIME, List.of()));
        assertThat(ImapParser.section("")).contains(new Section(List.of(), Section.Kind.ALL, List.of()));
        assertThat(ImapParser.section("1]")).isEmpty();
        assertThat(ImapParser.section("MIME")).isEmpty();
    }
}
