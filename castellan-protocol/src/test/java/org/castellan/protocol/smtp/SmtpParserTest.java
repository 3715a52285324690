package org.castellan.protocol.smtp;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class SmtpParserTest {

    private static SmtpParser.Result parse(String line) {
        return SmtpParser.parse(line.getBytes(StandardCharsets.UTF_8), false);
    }

    private static SmtpCommand ok(String line) {
        SmtpParser.Result r = parse(line);
        assertThat(r).isInstanceOf(SmtpParser.Ok.class);
        return ((SmtpParser.Ok) r).command();
    }

    private static String error(String line, boolean utf8) {
        SmtpParser.Result r = SmtpParser.parse(line.getBytes(StandardCharsets.UTF_8), utf8);
        assertThat(r).isInstanceOf(SmtpParser.Bad.class);
        SmtpError e = ((SmtpParser.Bad) r).error();
        return e.code() + " " + e.status();
    }

    @Test
    void parsesEveryCommand() {
        assertThat(ok("EHLO client.example")).isEqualTo(new SmtpCommand.Ehlo("client.example"));
        assertThat(ok("ehlo [192.0.2.1]")).isEqualTo(new SmtpCommand.Ehlo("[192.0.2.1]"));
        assertThat(ok("HELO my_host.example.")).isEqualTo(new SmtpCommand.Helo("my_host.example."));
        assertThat(ok("MAIL FROM:<a@b.example> SIZE=1000 BODY=8BITMIME")).isEqualTo(new SmtpCommand.Mail(
                Optional.of(new Mailbox("a", "b.example")), OptionalLong.of(1000), SmtpCommand.Body.EIGHT_BIT_MIME, false,
                Dsn.Ret.UNSPECIFIED, Optional.empty()));
        assertThat(ok("mail from: <>")).isEqualTo(
                new SmtpCommand.Mail(Optional.empty(), OptionalLong.empty(), SmtpCommand.Body.SEVEN_BIT, false, Dsn.Ret.UNSPECIFIED, Optional.empty()));
        assertThat(ok("MAIL FROM:<a@b.example> AUTH=<>")).isInstanceOf(SmtpCommand.Mail.class);
        assertThat(ok("RCPT TO:<\"john doe\"@example.org>")).isEqualTo(
                new SmtpCommand.Rcpt(new Mailbox("\"john doe\"", "example.org"), Optional.empty(), Optional.empty()));
        assertThat(ok("RCPT TO:<@relay.example:user@example.org>")).isEqualTo(
                new SmtpCommand.Rcpt(new Mailbox("user", "example.org"), Optional.empty(), Optional.empty()));
        assertThat(ok("RCPT TO:<user@[IPv6:2001:db8::1]>")).isInstanceOf(SmtpCommand.Rcpt.class);
        assertThat(ok("DATA")).isEqualTo(new SmtpCommand.Data());
        assertThat(ok("BDAT 1000")).isEqualTo(new SmtpCommand.Bdat(1000, false));
        assertThat(ok("BDAT 0 LAST")).isEqualTo(new SmtpCommand.Bdat(0, true));
        assertThat(ok("AUTH PLAIN AGEAYg==")).satisfies(c -> {
            SmtpCommand.Auth a = (SmtpCommand.Auth) c;
            assertThat(a.mechanism()).isEqualTo("PLAIN");
            assertThat(new String(a.initialResponse().orElseThrow(), StandardCharsets.UTF_8)).isEqualTo("\0a\0b");
        });
        assertThat(((SmtpCommand.Auth) ok("auth login =")).initialResponse()).hasValueSatisfying(v -> assertThat(v).isEmpty());
        assertThat(((SmtpCommand.Auth) ok("AUTH LOGIN")).initialResponse()).isEmpty();
        assertThat(ok("NOOP anything")).isEqualTo(new SmtpCommand.Noop());
        assertThat(ok("STARTTLS")).isEqualTo(new SmtpCommand.StartTls());
        assertThat(ok("QUIT")).isEqualTo(new SmtpCommand.Quit());
        assertThat(ok("RSET")).isEqualTo(new SmtpCommand.Rset());
        assertThat(ok("VRFY postmaster")).isEqualTo(new SmtpCommand.Vrfy());
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "FOO|500 5.5.1",
            "EHLO|501 5.5.4",
            "EHLO bad..domain|501 5.5.4",
            "MAIL TO:<a@b>|501 5.5.4",
            "MAIL FROM:a@b|501 5.1.7",
            "MAIL FROM:<a@b> SIZE=x|501 5.5.4",
            "MAIL FROM:<a@b> SIZE=1 SIZE=2|501 5.5.4",
            "MAIL FROM:<a@b> BODY=BINARYMIME|501 5.5.4",
            "MAIL FROM:<a@b> RET=NONE|501 5.5.4",
            "MAIL FROM:<a@b> X-RET=HDRS|555 5.5.4",
            "RCPT TO:<>|501 5.1.3",
            "RCPT TO:<a..b@example.org>|501 5.1.3",
            "RCPT TO:<a@-bad-.example>|501 5.1.3",
            "RCPT TO:<a b@example.org>|501 5.1.3",
            "RCPT TO:<a@example.org|501 5.1.3",
            "RCPT TO:<a@example.org> X-NOTIFY=NEVER|555 5.5.4",
            "RCPT TO:<a@[300.1.1.1]>|501 5.1.3",
            "DATA now|501 5.5.4",
            "BDAT|501 5.5.4",
            "BDAT 10 NOW|501 5.5.4",
            "BDAT -1|501 5.5.4",
            "AUTH PLAIN !!!|501 5.5.2",
            "AUTH|501 5.5.4",
            "STARTTLS x|501 5.5.4",
    })
    void refusesBadSyntaxWithTheRightCode(String line, String expected) {
        assertThat(error(line, false)).isEqualTo(expected);
    }

    @Test
    void refusesOverlongLocalPartsAndPaths() {
        assertThat(error("RCPT TO:<" + "a".repeat(65) + "@example.org>", false)).isEqualTo("501 5.1.3");
        assertThat(error("RCPT TO:<" + "a".repeat(10) + "@" + "b".repeat(60) + "." + "c".repeat(60) + "." + "d".repeat(60) + "."
                + "e".repeat(60) + ".example>", false)).isEqualTo("501 5.1.3");
    }

    /** RFC 5321 §4.5.3.1.1 and §4.5.3.1.3 count octets; with SMTPUTF8 a character may be up to four (RFC 6531 §3.3). */
    @Test
    void limitsCountOctetsOfUtf8NotCharacters() {
        assertThat(SmtpParser.parse(("RCPT TO:<" + "q".repeat(62) + "ï@example.org>").getBytes(StandardCharsets.UTF_8), true))
                .isInstanceOf(SmtpParser.Ok.class);
        assertThat(error("RCPT TO:<" + "q".repeat(63) + "ï@example.org>", true)).isEqualTo("501 5.1.3");
        String domain = String.join(".", "例".repeat(20), "子".repeat(20), "广".repeat(20), "告".repeat(20), "example");
        assertThat(error("RCPT TO:<" + "用".repeat(21) + "@" + domain + ">", true)).isEqualTo("501 5.1.3");
    }

    /**
     * RFC 5321 §4.1.2: a parameter name is an esmtp-keyword; anything else is a syntax error, and
     * only a keyword is ever named in a reply (RFC 5321 §4.2: reply text is printable ASCII).
     */
    @Test
    void parameterNamesAreKeywordsAndOnlyKeywordsAreEchoed() {
        SmtpParser.Result tab = parse("MAIL FROM:<a@example.org> SI\tZE=1024");
        assertThat(tab).isEqualTo(new SmtpParser.Bad(new SmtpError(501, "5.5.4", "Syntax: MAIL FROM:<address> [keyword=value ...]")));
        assertThat(SmtpParser.parse("MAIL FROM:<ü@example.org> SMTPUTF8 ÜBER=1".getBytes(StandardCharsets.UTF_8), false))
                .isEqualTo(tab);
        assertThat(parse("MAIL FROM:<a@example.org> X-FOO=1"))
                .isEqualTo(new SmtpParser.Bad(new SmtpError(555, "5.5.4", "Parameter X-FOO not supported")));
        assertThat(parse("MAIL FROM:<a@example.org> -X=1")).isEqualTo(tab);
    }

    /** RFC 3461 §4.3 and §4.4: RET=FULL|HDRS in any case, ENVID as xtext, decoded. */
    @Test
    void mailTakesRetAndEnvid() {
        SmtpCommand.Mail m = (SmtpCommand.Mail) ok("MAIL FROM:<a@b.example> ret=hdrs ENVID=QQ314159+2BA+3DB+20c");
        assertThat(m.ret()).isEqualTo(Dsn.Ret.HDRS);
        assertThat(m.envid()).hasValue("QQ314159+A=B c");
        SmtpCommand.Mail full = (SmtpCommand.Mail) ok("MAIL FROM:<> RET=Full");
        assertThat(full.ret()).isEqualTo(Dsn.Ret.FULL);
        assertThat(full.envid()).isEmpty();
        assertThat(((SmtpCommand.Mail) ok("MAIL FROM:<a@b.example>")).ret()).isEqualTo(Dsn.Ret.UNSPECIFIED);
        assertThat(((SmtpCommand.Mail) ok("MAIL FROM:<a@b.example> ENVID=" + "x".repeat(SmtpParser.MAX_ENVID))).envid())
                .hasValue("x".repeat(SmtpParser.MAX_ENVID));
    }

    /** RFC 3461 §4.1 and §4.2: NOTIFY=NEVER or a list, ORCPT=addr-type;xtext, decoded. */
    @Test
    void rcptTakesNotifyAndOrcpt() {
        SmtpCommand.Rcpt r = (SmtpCommand.Rcpt) ok("RCPT TO:<user@example.org> NOTIFY=success,Delay ORCPT=rfc822;Bob+2BLists@example.org");
        assertThat(r.notifyOn()).hasValue(Set.of(Dsn.Notify.SUCCESS, Dsn.Notify.DELAY));
        assertThat(r.orcpt()).hasValue("rfc822;Bob+Lists@example.org");
        assertThat(((SmtpCommand.Rcpt) ok("RCPT TO:<user@example.org> NOTIFY=NEVER")).notifyOn()).hasValue(Set.of());
        assertThat(((SmtpCommand.Rcpt) ok("RCPT TO:<user@example.org>")).notifyOn()).isEmpty();
        assertThat(((SmtpCommand.Rcpt) ok("RCPT TO:<user@example.org> notify=FAILURE,FAILURE")).notifyOn())
                .hasValue(Set.of(Dsn.Notify.FAILURE));
        assertThat(((SmtpCommand.Rcpt) ok("RCPT TO:<user@example.org> ORCPT=rfc822;\"John+20Doe\"@example.org")).orcpt())
                .hasValue("rfc822;\"John Doe\"@example.org");
    }

    /** RFC 6533 §3: a utf-8 ORCPT is kept as given; its unitext form (raw UTF-8) only with SMTPUTF8. */
    @Test
    void utf8OrcptIsKeptAsGiven() {
        assertThat(((SmtpCommand.Rcpt) ok("RCPT TO:<user@example.org> ORCPT=utf-8;j\\x{F6}s\\x{E9}@example.org")).orcpt())
                .hasValue("utf-8;j\\x{F6}s\\x{E9}@example.org");
        assertThat(SmtpParser.parse("RCPT TO:<user@example.org> ORCPT=UTF-8;jösé@example.org".getBytes(StandardCharsets.UTF_8), true))
                .isEqualTo(new SmtpParser.Ok(new SmtpCommand.Rcpt(new Mailbox("user", "example.org"), Optional.empty(),
                        Optional.of("UTF-8;jösé@example.org"))));
        assertThat(error("RCPT TO:<user@example.org> ORCPT=utf-8;jösé@example.org", false)).isEqualTo("501 5.5.4");
        assertThat(error("RCPT TO:<user@example.org> ORCPT=utf-8;a\\x{}@example.org", false)).isEqualTo("501 5.5.4");
        assertThat(error("RCPT TO:<user@example.org> ORCPT=utf-8;a\\y@example.org", false)).isEqualTo("501 5.5.4");
    }

    /** RFC 3461 §4 and RFC 3463 §3.6: every malformed DSN parameter is a 501 5.5.4 naming what was expected. */
    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "MAIL FROM:<a@b.example> RET=FULL RET=HDRS|Parameter RET given twice",
            "MAIL FROM:<a@b.example> RET|Syntax: RET=FULL or RET=HDRS",
            "MAIL FROM:<a@b.example> RET=|Syntax: RET=FULL or RET=HDRS",
            "MAIL FROM:<a@b.example> ENVID=a ENVID=b|Parameter ENVID given twice",
            "MAIL FROM:<a@b.example> ENVID|Syntax: ENVID=xtext of at most 100 characters",
            "MAIL FROM:<a@b.example> ENVID=|Syntax: ENVID=xtext of at most 100 characters",
            "MAIL FROM:<a@b.example> ENVID=a+2|Syntax: ENVID=xtext of at most 100 characters",
            "MAIL FROM:<a@b.example> ENVID=a+ZZb|Syntax: ENVID=xtext of at most 100 characters",
            "MAIL FROM:<a@b.example> ENVID=a+0D+0ASubject:+20x|Syntax: ENVID=xtext of at most 100 characters",
            "MAIL FROM:<a@b.example> ENVID=a+7F|Syntax: ENVID=xtext of at most 100 characters",
            "MAIL FROM:<a@b.example> ENVID=a==b|Syntax: ENVID=xtext of at most 100 characters",
            "RCPT TO:<a@example.org> NOTIFY=NEVER,SUCCESS|Syntax: NOTIFY=NEVER or NOTIFY=SUCCESS,FAILURE,DELAY",
            "RCPT TO:<a@example.org> NOTIFY=SUCCESS,NEVER|Syntax: NOTIFY=NEVER or NOTIFY=SUCCESS,FAILURE,DELAY",
            "RCPT TO:<a@example.org> NOTIFY=SUCCESS,|Syntax: NOTIFY=NEVER or NOTIFY=SUCCESS,FAILURE,DELAY",
            "RCPT TO:<a@example.org> NOTIFY=ALWAYS|Syntax: NOTIFY=NEVER or NOTIFY=SUCCESS,FAILURE,DELAY",
            "RCPT TO:<a@example.org> NOTIFY|Syntax: NOTIFY=NEVER or NOTIFY=SUCCESS,FAILURE,DELAY",
            "RCPT TO:<a@example.org> NOTIFY=DELAY NOTIFY=DELAY|Parameter NOTIFY given twice",
            "RCPT TO:<a@example.org> ORCPT=a@example.org|Syntax: ORCPT=addr-type;xtext of at most 500 characters",
            "RCPT TO:<a@example.org> ORCPT=;a@example.org|Syntax: ORCPT=addr-type;xtext of at most 500 characters",
            "RCPT TO:<a@example.org> ORCPT=rfc(822);a@example.org|Syntax: ORCPT=addr-type;xtext of at most 500 characters",
            "RCPT TO:<a@example.org> ORCPT=rfc822;a+0Ab@example.org|Syntax: ORCPT=addr-type;xtext of at most 500 characters",
            "RCPT TO:<a@example.org> ORCPT=rfc822;a@b ORCPT=rfc822;c@d|Parameter ORCPT given twice",
    })
    void refusesMalformedDsnParameters(String line, String text) {
        assertThat(parse(line)).isEqualTo(new SmtpParser.Bad(new SmtpError(501, "5.5.4", text)));
    }

    /** RFC 3461 §4.4 and §4.2 limit the values as sent. */
    @Test
    void dsnParametersHaveTheirLengthLimits() {
        assertThat(error("MAIL FROM:<a@b.example> ENVID=" + "x".repeat(SmtpParser.MAX_ENVID + 1), false)).isEqualTo("501 5.5.4");
        String orcpt = "rfc822;" + "x".repeat(SmtpParser.MAX_ORCPT - "rfc822;".length() - "@b.example".length()) + "@b.example";
        assertThat(((SmtpCommand.Rcpt) ok("RCPT TO:<a@b.example> ORCPT=" + orcpt)).orcpt()).hasValue(orcpt);
        assertThat(error("RCPT TO:<a@b.example> ORCPT=x" + orcpt, false)).isEqualTo("501 5.5.4");
    }

    /** RFC 3461 §4: xtext both ways; the decoder refuses what the DSN format could not carry. */
    @Test
    void xtextRoundTrips() {
        assertThat(Xtext.encode("a+b=c d~")).isEqualTo("a+2Bb+3Dc+20d~");
        assertThat(Xtext.decode("a+2Bb+3Dc+20d~")).hasValue("a+b=c d~");
        assertThat(Xtext.decode("a+2bb")).hasValue("a+b");
        assertThat(Xtext.decode("")).hasValue("");
        assertThat(Xtext.decode("+0D+0A")).isEmpty();
        assertThat(Xtext.decode("+٣٣")).isEmpty();
        assertThat(Xtext.decode("ü")).isEmpty();
        assertThat(Xtext.decode("a b")).isEmpty();
    }

    @Test
    void nulAndControlBytesAreRefused() {
        assertThat(SmtpParser.parse("MAIL FROM:<a\0@b>".getBytes(StandardCharsets.ISO_8859_1), false))
                .isEqualTo(new SmtpParser.Bad(new SmtpError(500, "5.5.2", "Control characters in command")));
        assertThat(SmtpParser.parse(new byte[] {'N', 'O', 'O', 'P', 0x1b}, false)).isInstanceOf(SmtpParser.Bad.class);
        assertThat(SmtpParser.parse(new byte[] {'R', 'C', 'P', 'T', ' ', (byte) 0xc3, '(', 0}, false))
                .isInstanceOf(SmtpParser.Bad.class);
    }

    @Test
    void requireTlsIsAMailParameterWithoutValue() { // RFC 8689 §4.1
        assertThat(ok("MAIL FROM:<a@b.example> REQUIRETLS")).isEqualTo(new SmtpCommand.Mail(
                Optional.of(new Mailbox("a", "b.example")), OptionalLong.empty(), SmtpCommand.Body.SEVEN_BIT, false,
                Dsn.Ret.UNSPECIFIED, Optional.empty(), true));
        assertThat(((SmtpCommand.Mail) ok("mail from:<a@b.example> requiretls BODY=8BITMIME")).requireTls()).isTrue();
        assertThat(((SmtpCommand.Mail) ok("MAIL FROM:<a@b.example>")).requireTls()).isFalse();
        assertThat(error("MAIL FROM:<a@b.example> REQUIRETLS=YES", false)).isEqualTo("501 5.5.4");
    }

    @Test
    void nonAsciiNeedsSmtpUtf8() {
        assertThat(error("MAIL FROM:<jösé@example.org>", false)).isEqualTo("553 5.6.7");
        assertThat(ok("MAIL FROM:<jösé@example.org> SMTPUTF8")).isEqualTo(new SmtpCommand.Mail(
                Optional.of(new Mailbox("jösé", "example.org")), OptionalLong.empty(), SmtpCommand.Body.SEVEN_BIT, true,
                Dsn.Ret.UNSPECIFIED, Optional.empty()));
        assertThat(error("RCPT TO:<用户@例子.广告>", false)).isEqualTo("553 5.6.7");
        assertThat(SmtpParser.parse("RCPT TO:<用户@例子.广告>".getBytes(StandardCharsets.UTF_8), true))
                .isEqualTo(new SmtpParser.Ok(new SmtpCommand.Rcpt(new Mailbox("用户", "例子.广告"), Optional.empty(), Optional.empty())));
        assertThat(error("EHLO exämple.org", false)).isEqualTo("500 5.5.2");
        assertThat(SmtpParser.parse(new byte[] {'R', 'C', 'P', 'T', ' ', (byte) 0xc3, '('}, true))
                .isEqualTo(new SmtpParser.Bad(new SmtpError(500, "5.5.2", "Invalid UTF-8 in command")));
    }

    @Test
    void mailboxConvertsToAnAccountAddressOnlyWhenItCanBeOne() {
        assertThat(new Mailbox("Alice", "Example.ORG").address()).hasValueSatisfying(a -> assertThat(a.key()).isEqualTo("alice@example.org"));
        assertThat(new Mailbox("\"a b\"", "example.org").address()).isEmpty();
        assertThat(new Mailbox("a", "[192.0.2.1]").address()).isEmpty();
    }

    /** RFC 5321 §4.1.3: an IPv4 literal is four Snum of 1 to 3 digits, each at most 255; IPv6 is "IPv6:" and hex. */
    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "[192.0.2.255]|true",
            "[255.255.255.255]|true",
            "[IPv6:::ffff:192.0.2.1]|true",
            "[192.0.2.256]|false",
            "[0192.0.2.1]|false",
            "[192.0.2]|false",
            "[192.0.2.1.5]|false",
            "[192.0.2.1|false",
            "[IPv6:zz::1]|false",
            "[IPv6:]|false",
    })
    void addressLiteralsFollowRfc5321(String literal, boolean valid) {
        SmtpParser.Result rcpt = parse("RCPT TO:<postmaster@" + literal + ">");
        SmtpParser.Result ehlo = parse("EHLO " + literal);
        if (valid) {
            assertThat(rcpt).isEqualTo(new SmtpParser.Ok(new SmtpCommand.Rcpt(new Mailbox("postmaster", literal), Optional.empty(), Optional.empty())));
            assertThat(ehlo).isEqualTo(new SmtpParser.Ok(new SmtpCommand.Ehlo(literal)));
        } else {
            assertThat(error("RCPT TO:<postmaster@" + literal + ">", false)).isEqualTo("501 5.1.3");
            assertThat(error("EHLO " + literal, false)).isEqualTo("501 5.5.4");
        }
    }

    /** RFC 4422 §3.1: sasl-mech = 1*20mech-char, mech-char = UPPER-ALPHA / DIGIT / HYPHEN / UNDERSCORE (case folded, RFC 4954 §4). */
    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "SCRAM-SHA-256|true",
            "XOAUTH2|true",
            "AZ_az09|true",
            "ABCDEFGHIJKLMNOPQRST|true",
            "ABCDEFGHIJKLMNOPQRSTU|false",
            "PL@IN|false",
            "PLAIN[|false",
            "PLAIN`|false",
            "PLAIN{|false",
            "PLAIN/|false",
            "PLAIN:|false",
            "PLAIN.|false",
    })
    void saslMechanismNamesFollowRfc4422(String mechanism, boolean valid) {
        if (valid) {
            assertThat(((SmtpCommand.Auth) ok("AUTH " + mechanism)).mechanism()).isEqualTo(mechanism.toUpperCase(java.util.Locale.ROOT));
        } else {
            assertThat(parse("AUTH " + mechanism))
                    .isEqualTo(new SmtpParser.Bad(new SmtpError(501, "5.5.4", "Syntax: AUTH mechanism [initial-response]")));
        }
    }

    /** RFC 5321 §4.1.2: esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-"); a well-formed unknown one is 555 (§4.1.1.11). */
    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "AZ=1|555 5.5.4",
            "az09-Z=1|555 5.5.4",
            "0X=1|555 5.5.4",
            "9=1|555 5.5.4",
            "@X=1|501 5.5.4",
            "X[=1|501 5.5.4",
            "X`=1|501 5.5.4",
            "X{=1|501 5.5.4",
            "X/=1|501 5.5.4",
            "X:=1|501 5.5.4",
            "X_Y=1|501 5.5.4",
    })
    void parameterKeywordsAreAlphaDigitAndHyphen(String parameter, String expected) {
        assertThat(error("MAIL FROM:<a@b.example> " + parameter, false)).isEqualTo(expected);
    }

    /** RFC 1870 §3 and RFC 3030 §2: a SIZE or BDAT count is digits; up to 18 of them fit, more are refused, not overflowed. */
    @Test
    void countsOfEighteenDigitsAreTakenAndLongerOnesRefused() {
        assertThat(ok("BDAT 999999999999999999 LAST")).isEqualTo(new SmtpCommand.Bdat(999_999_999_999_999_999L, true));
        assertThat(((SmtpCommand.Mail) ok("MAIL FROM:<a@b.example> SIZE=999999999999999999")).size())
                .isEqualTo(OptionalLong.of(999_999_999_999_999_999L));
        assertThat(error("BDAT 9999999999999999999", false)).isEqualTo("501 5.5.4");
        assertThat(error("MAIL FROM:<a@b.example> SIZE=9999999999999999999", false)).isEqualTo("501 5.5.4");
    }

    /** RFC 5321 §4.5.3.1.3: the path, brackets included, is at most 256 octets. */
    @Test
    void aPathOfExactly256OctetsIsTaken() {
        String local = "l".repeat(64);
        String domain = "a".repeat(63) + "." + "b".repeat(63) + "." + "c".repeat(53) + ".example";
        assertThat(("<" + local + "@" + domain + ">").length()).isEqualTo(SmtpParser.MAX_PATH);
        assertThat(ok("RCPT TO:<" + local + "@" + domain + ">")).isEqualTo(
                new SmtpCommand.Rcpt(new Mailbox(local, domain), Optional.empty(), Optional.empty()));
        assertThat(error("RCPT TO:<" + local + "@" + domain.replace(".c", ".cc") + ">", false)).isEqualTo("501 5.1.3");
    }

    /** RFC 5321 §4.1.2: Atom takes every atext, "!" and "~" included; a quoted local part takes quoted pairs and printable ASCII. */
    @Test
    void localPartsTakeEveryAtextAndQuotedPairs() {
        assertThat(ok("RCPT TO:<!x~@example.org>")).isEqualTo(new SmtpCommand.Rcpt(new Mailbox("!x~", "example.org"), Optional.empty(), Optional.empty()));
        assertThat(ok("RCPT TO:<\"a\\\"b~\"@example.org>")).isEqualTo(
                new SmtpCommand.Rcpt(new Mailbox("\"a\\\"b~\"", "example.org"), Optional.empty(), Optional.empty()));
        assertThat(ok("RCPT TO:<\"a\\ b\\~\"@example.org>")).isEqualTo(
                new SmtpCommand.Rcpt(new Mailbox("\"a\\ b\\~\"", "example.org"), Optional.empty(), Optional.empty()));
        assertThat(error("RCPT TO:<\"a\\", false)).isEqualTo("501 5.1.3");
        assertThat(error("RCPT TO:<\"a\\\u0080b\"@example.org>", false)).isEqualTo("501 5.1.3");
        assertThat(error("RCPT TO:<\"a\tb\"@example.org>", false)).isEqualTo("501 5.1.3");
    }

    /** RFC 5321 §3.3 and §4.1.1.3: a space after "TO:" is tolerated; "RCPT" without "TO:" is a syntax error naming the form. */
    @Test
    void rcptToleratesASpaceAfterTheColonAndNeedsTo() {
        assertThat(ok("RCPT TO: <user@example.org>")).isEqualTo(
                new SmtpCommand.Rcpt(new Mailbox("user", "example.org"), Optional.empty(), Optional.empty()));
        assertThat(parse("RCPT FROM:<user@example.org>"))
                .isEqualTo(new SmtpParser.Bad(new SmtpError(501, "5.5.4", "Syntax: RCPT TO:<address>")));
    }

    /** RFC 3463 §3.2: X.1.7 is a bad sender address, X.1.3 a bad recipient address; the text says which. */
    @Test
    void badPathsNameTheSenderOrTheRecipient() {
        assertThat(parse("MAIL FROM:<a b@example.org>"))
                .isEqualTo(new SmtpParser.Bad(new SmtpError(501, "5.1.7", "Bad sender address syntax")));
        assertThat(parse("RCPT TO:<a b@example.org>"))
                .isEqualTo(new SmtpParser.Bad(new SmtpError(501, "5.1.3", "Bad recipient address syntax")));
    }

    /** RFC 5321 §4.1.2 A-d-l and §C: a source route ends with ":" inside the brackets, or the path is malformed. */
    @Test
    void aSourceRouteWithoutItsColonIsRefused() {
        assertThat(error("RCPT TO:<@relay.example>", false)).isEqualTo("501 5.1.3");
        assertThat(error("RCPT TO:<@relay.example> X:y@example.org", false)).isEqualTo("501 5.1.3");
        assertThat(ok("RCPT TO:<@a.example,@b.example:user@example.org>")).isEqualTo(
                new SmtpCommand.Rcpt(new Mailbox("user", "example.org"), Optional.empty(), Optional.empty()));
    }

    /** RFC 6531 §3.4: SMTPUTF8 and REQUIRETLS take no value; RFC 4954 §5: AUTH= needs one. */
    @Test
    void valuelessParametersRefuseAValueAndAuthNeedsOne() {
        assertThat(parse("MAIL FROM:<a@b.example> SMTPUTF8=YES"))
                .isEqualTo(new SmtpParser.Bad(new SmtpError(501, "5.5.4", "SMTPUTF8 takes no value")));
        assertThat(parse("MAIL FROM:<a@b.example> AUTH"))
                .isEqualTo(new SmtpParser.Bad(new SmtpError(501, "5.5.4", "Syntax: AUTH=mailbox or AUTH=<>")));
    }

    /**
     * RFC 6533 §3: a utf-8 ORCPT's "\\x{HEXPOINT}" has 1 to 6 hex digits; its QCHARs are "!" to "~" but "+" and "=";
     * the address is not empty.
     */
    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "utf-8;a\\x{1}@example.org|true",
            "utf-8;a\\x{10FFFF}@example.org|true",
            "utf-8;!~@example.org|true",
            "utf-8;a\\x{1000000}@example.org|false",
            "utf-8;a\\x{G}@example.org|false",
            "utf-8;a\\x{1@example.org|false",
            "utf-8;a+b@example.org|false",
            "utf-8;a=b@example.org|false",
            "utf-8;|false",
    })
    void utf8OrcptFollowsRfc6533(String orcpt, boolean valid) {
        if (valid) {
            assertThat(((SmtpCommand.Rcpt) ok("RCPT TO:<user@example.org> ORCPT=" + orcpt)).orcpt()).hasValue(orcpt);
        } else {
            assertThat(error("RCPT TO:<user@example.org> ORCPT=" + orcpt, false)).isEqualTo("501 5.5.4");
        }
    }

    /** RFC 3461 §4: every octet from "!" to "~" but "+" and "=" stands for itself, the others as "+" and two hex digits. */
    @Test
    void xtextCoversThePrintableRangeToItsEnds() {
        assertThat(Xtext.decode("!~")).hasValue("!~");
        assertThat(Xtext.decode("+21+7E+20")).hasValue("!~ ");
        assertThat(Xtext.encode("! ~")).isEqualTo("!+20~");
        assertThat(Xtext.decode("+1F")).isEmpty();
    }

    /** RFC 5321 §4.2.1: 4yz is a transient failure, 5yz a permanent one; nothing else is an error reply. */
    @Test
    void errorRepliesAreFourOrFiveHundreds() {
        assertThat(new SmtpError(400, "4.0.0", "x").temporary()).isTrue();
        assertThat(new SmtpError(499, "4.0.0", "x").temporary()).isTrue();
        assertThat(new SmtpError(500, "5.0.0", "x").temporary()).isFalse();
        assertThat(new SmtpError(599, "5.0.0", "x")).hasToString("599 5.0.0 x");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> new SmtpError(399, "3.0.0", "x")).isInstanceOf(IllegalArgumentException.class);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> new SmtpError(600, "5.0.0", "x")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void randomLinesAlwaysGiveAResultAndNeverThrow() {
        Random random = new Random(2920);
        String[] starts = {"MAIL FROM:<", "RCPT TO:<", "EHLO ", "AUTH ", "BDAT ", ""};
        for (int i = 0; i < 20_000; i++) {
            byte[] tail = new byte[random.nextInt(60)];
            random.nextBytes(tail);
            byte[] head = starts[random.nextInt(starts.length)].getBytes(StandardCharsets.US_ASCII);
            byte[] line = new byte[head.length + tail.length];
            System.arraycopy(head, 0, line, 0, head.length);
            System.arraycopy(tail, 0, line, head.length, tail.length);
            assertThat(SmtpParser.parse(line, random.nextBoolean())).isNotNull();
        }
    }
}
