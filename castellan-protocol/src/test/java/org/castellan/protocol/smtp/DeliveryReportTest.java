package org.castellan.protocol.smtp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.castellan.protocol.imap.FetchAttribute;
import org.castellan.protocol.imap.MessageStructure;
import org.castellan.protocol.smtp.DeliveryReport.Action;
import org.castellan.protocol.smtp.DeliveryReport.Original;
import org.castellan.protocol.smtp.DeliveryReport.Recipient;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Delivery status notifications (RFC 3464 in RFC 6522's multipart/report) field by field, read
 * back by Castellan's own MIME parser (the one IMAP's BODYSTRUCTURE uses) and, independently, by
 * Python's email package.
 */
class DeliveryReportTest {

    private static final String HOST = "mail.example.org";
    private static final Instant ARRIVAL = Instant.parse("2026-12-01T09:15:00Z");
    private static final Instant NOW = Instant.parse("2026-12-06T09:15:30Z");
    private static final String ORIGINAL = "From: Alice <alice@example.org>\r\nTo: bob@elsewhere.example\r\n"
            + "Subject: Quarterly figures\r\nMessage-ID: <q4@example.org>\r\n\r\nThe figures are attached.\r\n.. and more.\r\n";

    @TempDir Path dir;

    private static Original original(Dsn.Ret ret) {
        return new Original("alice@example.org", Optional.of("QQ314159 +x"), ret, ARRIVAL, false, ORIGINAL.getBytes(StandardCharsets.UTF_8));
    }

    private static Recipient failed(String diagnostic) {
        return new Recipient("bob@elsewhere.example", Optional.of("rfc822;Bob+Lists@elsewhere.example"), Action.FAILED, "5.1.1",
                Optional.of("mx1.elsewhere.example"), Optional.of(diagnostic), Optional.of(NOW), Optional.empty());
    }

    private static String compose(Original original, List<Recipient> recipients) {
        return new String(DeliveryReport.compose(HOST, "r1.q42", NOW, original, recipients, "Your message could not be delivered.")
                .message(), StandardCharsets.UTF_8);
    }

    private static String header(String report) {
        return report.substring(0, report.indexOf("\r\n\r\n") + 2);
    }

    /** RFC 3464 §2.2 and §2.3, RFC 6522 §3, RFC 3834 §5: every field of a bounce in its place. */
    @Test
    void aBounceCarriesEveryFieldRfc3464Names() {
        String report = compose(original(Dsn.Ret.HDRS), List.of(failed("550 5.1.1 <bob@elsewhere.example>: Recipient address rejected")));
        assertThat(header(report)).isEqualTo("""
                From: Mail Delivery System <MAILER-DAEMON@mail.example.org>\r
                To: alice@example.org\r
                Subject: Undelivered Mail Returned to Sender\r
                Date: Sun, 6 Dec 2026 09:15:30 +0000\r
                Message-ID: <r1.q42@mail.example.org>\r
                Auto-Submitted: auto-replied\r
                MIME-Version: 1.0\r
                Content-Type: multipart/report; report-type=delivery-status;\r
                 boundary="=_castellan_report_0"\r
                """);
        assertThat(report).contains("""
                \r
                --=_castellan_report_0\r
                Content-Type: message/delivery-status\r
                \r
                Original-Envelope-Id: QQ314159 +x\r
                Reporting-MTA: dns; mail.example.org\r
                Arrival-Date: Tue, 1 Dec 2026 09:15:00 +0000\r
                \r
                Original-Recipient: rfc822;Bob+Lists@elsewhere.example\r
                Final-Recipient: rfc822;bob@elsewhere.example\r
                Action: failed\r
                Status: 5.1.1\r
                Remote-MTA: dns; mx1.elsewhere.example\r
                Diagnostic-Code: smtp; 550 5.1.1 <bob@elsewhere.example>: Recipient address\r
                 rejected\r
                Last-Attempt-Date: Sun, 6 Dec 2026 09:15:30 +0000\r
                \r
                --=_castellan_report_0\r
                Content-Type: text/rfc822-headers\r
                \r
                From: Alice <alice@example.org>\r
                To: bob@elsewhere.example\r
                Subject: Quarterly figures\r
                Message-ID: <q4@example.org>\r
                \r
                --=_castellan_report_0--\r
                """);
        assertThat(report).contains("Content-Type: text/plain; charset=us-ascii\r\n\r\nYour message could not be delivered.\r\n");
        assertThat(report).doesNotContain("The figures are attached"); // RET=HDRS
        assertWellFormed(report.getBytes(StandardCharsets.UTF_8));
    }

    /** RFC 3461 §4.3: RET=FULL returns the whole message with a failure, unchanged. */
    @Test
    void retFullReturnsTheWholeMessageWithAFailure() {
        String report = compose(original(Dsn.Ret.FULL), List.of(failed("550 no such user")));
        assertThat(report).contains("Content-Type: message/rfc822\r\n\r\n" + ORIGINAL + "\r\n--=_castellan_report_0--\r\n");
    }

    /** RFC 3461 §4.3: a report of no failure returns the header section only, whatever RET said. */
    @Test
    void delayAndSuccessReportsReturnHeadersOnly() {
        Recipient delayed = new Recipient("bob@elsewhere.example", Optional.empty(), Action.DELAYED, "4.4.1",
                Optional.of("mx1.elsewhere.example"), Optional.of("421 4.4.1 try later"), Optional.of(NOW),
                Optional.of(Instant.parse("2026-12-06T09:15:00Z")));
        String delay = compose(original(Dsn.Ret.FULL), List.of(delayed));
        assertThat(delay).contains("Subject: Delivery Status Notification (Delay)\r\n")
                .contains("Action: delayed\r\nStatus: 4.4.1\r\n")
                .contains("Will-Retry-Until: Sun, 6 Dec 2026 09:15:00 +0000\r\n")
                .contains("Content-Type: text/rfc822-headers\r\n")
                .doesNotContain("message/rfc822").doesNotContain("Original-Recipient");

        Recipient delivered = new Recipient("bob@elsewhere.example", Optional.empty(), Action.DELIVERED, "2.0.0",
                Optional.empty(), Optional.empty(), Optional.empty(), Optional.of(NOW));
        String success = compose(original(Dsn.Ret.FULL), List.of(delivered));
        assertThat(success).contains("Subject: Delivery Status Notification (Success)\r\n")
                .contains("Action: delivered\r\nStatus: 2.0.0\r\n")
                .doesNotContain("Will-Retry-Until") // RFC 3464 §2.3.9: delayed recipients only
                .doesNotContain("Remote-MTA").doesNotContain("message/rfc822");
        assertWellFormed(delay.getBytes(StandardCharsets.UTF_8));
        assertWellFormed(success.getBytes(StandardCharsets.UTF_8));
    }

    /** The report read by the MIME parser IMAP FETCH uses: three parts of the right types, the status part byte for byte. */
    @Test
    void castellansOwnMimeParserSeesThreeParts() {
        byte[] report = DeliveryReport.compose(HOST, "r1", NOW, original(Dsn.Ret.FULL), List.of(failed("550 no")),
                "Ihre Nachricht konnte nicht zugestellt werden: Grüße.\n").message();
        MessageStructure s = MessageStructure.parse(report);
        assertThat(s.bodyStructure(false, false)).startsWith("((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"utf-8\") NIL NIL \"QUOTED-PRINTABLE\"")
                .contains("(\"MESSAGE\" \"DELIVERY-STATUS\" NIL NIL NIL \"7BIT\"")
                .contains("(\"MESSAGE\" \"RFC822\" NIL NIL NIL \"7BIT\"")
                .contains("\"Quarterly figures\"")
                .endsWith(" \"REPORT\")");
        String status = new String(s.section(report, section(2)).orElseThrow(), StandardCharsets.US_ASCII);
        assertThat(status).startsWith("Original-Envelope-Id: QQ314159 +x\r\n").contains("Final-Recipient: rfc822;bob@elsewhere.example\r\n");
        assertThat(s.section(report, section(3))).hasValueSatisfying(
                b -> assertThat(new String(b, StandardCharsets.UTF_8)).isEqualTo(ORIGINAL));
        assertThat(s.binary(report, List.of(1))).isInstanceOfSatisfying(MessageStructure.BinaryContent.Decoded.class,
                d -> assertThat(new String(d.bytes(), StandardCharsets.UTF_8)).isEqualTo("Ihre Nachricht konnte nicht zugestellt werden: Grüße.\r\n"));
    }

    /** Python's email package, an independent reader: the report, its delivery-status groups and the returned message. */
    @Test
    void pythonsEmailPackageReadsTheReport() throws Exception {
        byte[] report = DeliveryReport.compose(HOST, "r1", NOW, original(Dsn.Ret.FULL),
                List.of(failed("550 5.1.1 user unknown"), new Recipient("carol@elsewhere.example", Optional.empty(), Action.DELAYED,
                        "4.7.0", Optional.empty(), Optional.of("connection timed out"), Optional.of(NOW), Optional.of(NOW))),
                DeliveryReport.explanation(HOST, List.of(failed("550 5.1.1 user unknown")))).message();
        assertThat(python(report)).containsExactly(
                "type=multipart/report",
                "report-type=delivery-status",
                "Subject=Undelivered Mail Returned to Sender",
                "From=Mail Delivery System <MAILER-DAEMON@mail.example.org>",
                "To=alice@example.org",
                "Auto-Submitted=auto-replied",
                "defects=0",
                "parts=text/plain,message/delivery-status,message/rfc822",
                "text=This is the mail system at host mail.example.org.",
                "group=Original-Envelope-Id: QQ314159 +x|Reporting-MTA: dns; mail.example.org|Arrival-Date: Tue, 1 Dec 2026 09:15:00 +0000",
                "group=Original-Recipient: rfc822;Bob+Lists@elsewhere.example|Final-Recipient: rfc822;bob@elsewhere.example"
                        + "|Action: failed|Status: 5.1.1|Remote-MTA: dns; mx1.elsewhere.example"
                        + "|Diagnostic-Code: smtp; 550 5.1.1 user unknown|Last-Attempt-Date: Sun, 6 Dec 2026 09:15:30 +0000",
                "group=Final-Recipient: rfc822;carol@elsewhere.example|Action: delayed|Status: 4.7.0"
                        + "|Diagnostic-Code: smtp; connection timed out|Last-Attempt-Date: Sun, 6 Dec 2026 09:15:30 +0000"
                        + "|Will-Retry-Until: Sun, 6 Dec 2026 09:15:30 +0000",
                "original-subject=Quarterly figures",
                "original-body=The figures are attached.\\n.. and more.\\n");
    }

    /** A remote reply with CRLF and header-like text stays inside Diagnostic-Code: it adds no field anywhere. */
    @Test
    void aHostileReplyCannotAddHeaderFields() throws Exception {
        Recipient hostile = new Recipient("bob@elsewhere.example", Optional.empty(), Action.FAILED, "5.0.0",
                Optional.of("mx.evil.example\r\nX-Injected: 1"),
                Optional.of("550 no\r\nSubject: You won\r\n\r\nAction: delivered\nFinal-Recipient: rfc822;x@y\0\u0007"),
                Optional.empty(), Optional.empty());
        byte[] report = DeliveryReport.compose(HOST, "r1", NOW, original(Dsn.Ret.HDRS), List.of(hostile), "Failed.").message();
        String text = new String(report, StandardCharsets.UTF_8);
        assertThat(text).contains("Diagnostic-Code: smtp; 550 no Subject: You won Action: delivered\r\n Final-Recipient: rfc822;x@y\r\n")
                .contains("Remote-MTA: dns; mx.evil.example X-Injected: 1\r\n")
                .doesNotContain("\0").doesNotContain("\u0007");
        assertThat(python(report)).contains("Subject=Undelivered Mail Returned to Sender",
                "group=Final-Recipient: rfc822;bob@elsewhere.example|Action: failed|Status: 5.0.0"
                        + "|Remote-MTA: dns; mx.evil.example X-Injected: 1"
                        + "|Diagnostic-Code: smtp; 550 no Subject: You won Action: delivered Final-Recipient: rfc822;x@y");
        assertWellFormed(report);
    }

    /** RFC 6533 §6: a message sent with SMTPUTF8 gets a global report, with UTF-8 addresses as they are. */
    @Test
    void smtpUtf8MessagesGetAGlobalReport() throws Exception {
        String utf8Original = "From: Jösé <jösé@例子.广告>\r\nSubject: Grüße\r\n\r\nHallo\r\n";
        Original o = new Original("jösé@例子.广告", Optional.empty(), Dsn.Ret.FULL, ARRIVAL, true, utf8Original.getBytes(StandardCharsets.UTF_8));
        Recipient r = new Recipient("用户@例子.广告", Optional.of("utf-8;用户@例子.广告"), Action.FAILED, "5.1.1",
                Optional.empty(), Optional.of("550 unknown"), Optional.empty(), Optional.empty());
        DeliveryReport.Composed c = DeliveryReport.compose(HOST, "r1", NOW, o, List.of(r), "Failed.");
        assertThat(c.smtpUtf8()).isTrue();
        assertThat(c.eightBit()).isTrue();
        String text = new String(c.message(), StandardCharsets.UTF_8);
        assertThat(text).contains("To: jösé@例子.广告\r\n")
                .contains("report-type=global-delivery-status")
                .contains("Content-Type: message/global-delivery-status\r\nContent-Transfer-Encoding: 8bit\r\n")
                .contains("Original-Recipient: utf-8;用户@例子.广告\r\nFinal-Recipient: utf-8;用户@例子.广告\r\n")
                .contains("Content-Type: message/global\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" + utf8Original);
        assertThat(python(c.message())).contains("type=multipart/report", "report-type=global-delivery-status",
                "parts=text/plain,message/global-delivery-status,message/global");
        assertWellFormed(c.message());
    }

    /** RFC 6533 §3: in a plain report a non-ASCII address is written as utf-8-addr-xtext. */
    @Test
    void nonAsciiAddressesInAPlainReportAreXtext() {
        Recipient r = new Recipient("jösé@example.org", Optional.empty(), Action.FAILED, "5.1.1",
                Optional.empty(), Optional.empty(), Optional.empty(), Optional.empty());
        DeliveryReport.Composed c = DeliveryReport.compose(HOST, "r1", NOW, original(Dsn.Ret.HDRS), List.of(r), "Failed.");
        assertThat(new String(c.message(), StandardCharsets.US_ASCII)).contains("Final-Recipient: utf-8;j\\x{F6}s\\x{E9}@example.org\r\n");
        assertThat(c.eightBit()).isFalse();
        assertThat(c.smtpUtf8()).isFalse();
    }

    /** RFC 5322 §2.1.1: no line over 998 octets, however long the reply or the original's lines. */
    @Test
    void noLineIsLongerThan998Octets() {
        String longWord = "x".repeat(5000);
        String longLineOriginal = "Subject: " + "s".repeat(1500) + "\r\nX-Ok: 1\r\n\r\n" + "b".repeat(2000) + "\r\n";
        Original o = new Original("alice@example.org", Optional.empty(), Dsn.Ret.FULL, ARRIVAL, false,
                longLineOriginal.getBytes(StandardCharsets.US_ASCII));
        byte[] report = DeliveryReport.compose(HOST, "r1", NOW, o, List.of(failed("550 " + longWord)), "Failed.").message();
        assertWellFormed(report);
        String text = new String(report, StandardCharsets.US_ASCII);
        // A whole message that cannot be carried intact is returned as its header section.
        assertThat(text).contains("Content-Type: text/rfc822-headers\r\n\r\nSubject: " + "s".repeat(DeliveryReport.MAX_LINE - 9) + "\r\nX-Ok: 1\r\n")
                .doesNotContain("bbbb");
        // The reply is cut to MAX_DIAGNOSTIC characters, and its word split across lines.
        String diagnostic = text.substring(text.indexOf("Diagnostic-Code: "), text.indexOf("\r\nLast-Attempt-Date"));
        assertThat(diagnostic.replace("\r\n ", "")).isEqualTo("Diagnostic-Code: smtp; 550" + "x".repeat(DeliveryReport.MAX_DIAGNOSTIC - 4) + "...");
    }

    /** RFC 2046 §5.1.1: the boundary occurs in no part; bare line ends of the original become CRLF. */
    @Test
    void theBoundaryNeverOccursInAPartAndLineEndsAreCrlf() {
        String tricky = "Subject: =_castellan_report_0 and =_castellan_report_1\n\n--=_castellan_report_0--\n";
        Original o = new Original("alice@example.org", Optional.empty(), Dsn.Ret.FULL, ARRIVAL, false, tricky.getBytes(StandardCharsets.US_ASCII));
        String text = new String(DeliveryReport.compose(HOST, "r1", NOW, o, List.of(failed("550 no")), "x").message(), StandardCharsets.US_ASCII);
        assertThat(text).contains("boundary=\"=_castellan_report_2\"")
                .contains("Subject: =_castellan_report_0 and =_castellan_report_1\r\n\r\n--=_castellan_report_0--\r\n");
        assertWellFormed(text.getBytes(StandardCharsets.US_ASCII));
    }

    @Test
    void refusesWhatNoReportCanSay() {
        assertThatThrownBy(() -> new Recipient("b@x.example", Optional.empty(), Action.FAILED, "4.4.1", Optional.empty(),
                Optional.empty(), Optional.empty(), Optional.empty())).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new Recipient("b@x.example", Optional.empty(), Action.DELIVERED, "2.0", Optional.empty(),
                Optional.empty(), Optional.empty(), Optional.empty())).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new Original("", Optional.empty(), Dsn.Ret.FULL, ARRIVAL, false, new byte[0]))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> DeliveryReport.compose("mail.example.org\r\nBcc: x", "r1", NOW, original(Dsn.Ret.HDRS),
                List.of(failed("550")), "x")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> DeliveryReport.compose(HOST, "r1>", NOW, original(Dsn.Ret.HDRS), List.of(failed("550")), "x"))
                .isInstanceOf(IllegalArgumentException.class);
    }

    /** The third part of a report: its header and body, up to the closing boundary. */
    private static String returnedPart(String report) {
        int third = report.indexOf("--=_castellan_report_0\r\n", report.indexOf("Content-Type: message/delivery-status"));
        return report.substring(third + "--=_castellan_report_0\r\n".length(), report.lastIndexOf("\r\n--=_castellan_report_0--"));
    }

    private static String returned(String original, Dsn.Ret ret) {
        Original o = new Original("alice@example.org", Optional.empty(), ret, ARRIVAL, false, original.getBytes(StandardCharsets.UTF_8));
        return returnedPart(compose(o, List.of(failed("550 no such user"))));
    }

    /** RFC 5322 §2.1.1: a message whose lines are at most 998 octets is returned whole (RFC 3461 §4.3); a longer line, its header only. */
    @Test
    void aLineOfExactly998OctetsStillReturnsTheWholeMessage() {
        String head = "Subject: x\r\n\r\n";
        assertThat(returned(head + "b".repeat(998) + "\r\n", Dsn.Ret.FULL))
                .isEqualTo("Content-Type: message/rfc822\r\n\r\n" + head + "b".repeat(998) + "\r\n");
        assertThat(returned(head + "b".repeat(999) + "\r\n", Dsn.Ret.FULL)).isEqualTo("Content-Type: text/rfc822-headers\r\n\r\nSubject: x\r\n");
        assertThat(returned(head + "b".repeat(999), Dsn.Ret.FULL)).isEqualTo("Content-Type: text/rfc822-headers\r\n\r\nSubject: x\r\n");
    }

    /** RFC 5322 §2.3: CR and LF occur only together; a bare CR, a bare LF and a missing last line end all become CRLF. */
    @Test
    void everyLineEndOfTheReturnedMessageBecomesCrlf() {
        assertThat(returned("Subject: x\rX-A: 1\r\n\nbody\n\nend", Dsn.Ret.FULL))
                .isEqualTo("Content-Type: message/rfc822\r\n\r\nSubject: x\r\nX-A: 1\r\n\r\nbody\r\n\r\nend\r\n");
    }

    /** RFC 6522 §3 text/rfc822-headers: the header section with each field's CRLF, and nothing of the body. */
    @Test
    void theReturnedHeaderSectionEndsWhereTheBodyBegins() {
        assertThat(returned("Subject: x\r\nX-A: 1\r\n\r\n", Dsn.Ret.HDRS)).isEqualTo("Content-Type: text/rfc822-headers\r\n\r\nSubject: x\r\nX-A: 1\r\n");
        assertThat(returned("Subject: x\r\n\r\n\r\nbody\r\n", Dsn.Ret.HDRS)).isEqualTo("Content-Type: text/rfc822-headers\r\n\r\nSubject: x\r\n");
        assertThat(returned("\r\nbody only\r\n", Dsn.Ret.HDRS)).isEqualTo("Content-Type: text/rfc822-headers\r\n\r\n");
        assertThat(returned("Subject: no body", Dsn.Ret.HDRS)).isEqualTo("Content-Type: text/rfc822-headers\r\n\r\nSubject: no body\r\n");
    }

    /** RFC 5322 §2.1.1: a returned header line over 998 octets is cut to 998, never inside a UTF-8 character; others are kept. */
    @Test
    void longHeaderLinesAreCutTo998OctetsAtACharacterBoundary() {
        String exact = "X-A: " + "a".repeat(993);
        String over = "X-B: " + "b".repeat(994);
        String utf8 = "X-C: " + "c".repeat(992) + "é";
        String part = returned(exact + "\r\n" + over + "\r\n" + utf8 + "\r\n\r\nbody\r\n", Dsn.Ret.HDRS);
        assertThat(part).isEqualTo("Content-Type: text/rfc822-headers\r\n\r\n" + exact + "\r\n" + over.substring(0, 998) + "\r\n"
                + utf8.substring(0, 997) + "\r\n");
    }

    /** RFC 2045 §6.4: a multipart holding an 8bit part is itself labelled 8bit. */
    @Test
    void aReportReturningEightBitContentSaysSo() {
        Original o = new Original("alice@example.org", Optional.empty(), Dsn.Ret.FULL, ARRIVAL, false,
                "Subject: x\r\n\r\nGrüße\r\n".getBytes(StandardCharsets.UTF_8));
        DeliveryReport.Composed c = DeliveryReport.compose(HOST, "r1", NOW, o, List.of(failed("550 no")), "x");
        assertThat(c.eightBit()).isTrue();
        assertThat(header(new String(c.message(), StandardCharsets.UTF_8))).contains("Content-Transfer-Encoding: 8bit\r\n");
        assertThat(header(compose(original(Dsn.Ret.FULL), List.of(failed("550 no"))))).doesNotContain("Content-Transfer-Encoding");
    }

    /** RFC 2046 §5.1.1: the boundary occurs nowhere in a part, its first octets included. */
    @Test
    void aPartStartingWithTheBoundaryMovesItOn() {
        String report = new String(DeliveryReport.compose(HOST, "r1", NOW, original(Dsn.Ret.HDRS), List.of(failed("550 no")),
                "=_castellan_report_0 is taken").message(), StandardCharsets.UTF_8);
        assertThat(report).contains("boundary=\"=_castellan_report_1\"");
    }

    /** The explanation says what happened to each recipient: the host and its reply, and for a delay until when it is tried. */
    @Test
    void theExplanationNamesTheHostTheReplyAndTheRetryTime() {
        Recipient delayed = new Recipient("carol@elsewhere.example", Optional.empty(), Action.DELAYED, "4.4.1",
                Optional.of("mx2.elsewhere.example"), Optional.of("421 4.4.1 try later"), Optional.of(NOW),
                Optional.of(Instant.parse("2026-12-06T09:15:00Z")));
        String both = DeliveryReport.explanation(HOST, List.of(failed("550 5.1.1 no such user"), delayed));
        assertThat(both).startsWith("This is the mail system at host mail.example.org.\r\n\r\nI'm sorry to have to inform you")
                .contains("<bob@elsewhere.example>: failed, host mx1.elsewhere.example said: 550 5.1.1 no such user\r\n")
                .contains("<carol@elsewhere.example>: delayed, host mx2.elsewhere.example said: 421 4.4.1 try later"
                        + " (trying until Sun, 6 Dec 2026 09:15:00 +0000)\r\n");
        assertThat(DeliveryReport.explanation(HOST, List.of(delayed))).contains("could not be delivered yet").doesNotContain("sorry");
        Recipient delivered = new Recipient("dave@elsewhere.example", Optional.empty(), Action.DELIVERED, "2.0.0",
                Optional.empty(), Optional.empty(), Optional.empty(), Optional.of(NOW));
        assertThat(DeliveryReport.explanation(HOST, List.of(delivered)))
                .contains("successfully delivered").endsWith("<dave@elsewhere.example>: delivered\r\n");
    }

    /** An explanation with a line of at most 998 octets goes as it is; a longer line is sent quoted-printable (RFC 2045 §6.7). */
    @Test
    void anExplanationLineOver998OctetsIsQuotedPrintable() {
        String fits = compose(original(Dsn.Ret.HDRS), List.of(failed("550 no")));
        assertThat(fits).contains("Content-Type: text/plain; charset=us-ascii\r\n\r\nYour message could not be delivered.\r\n");
        String exact = new String(DeliveryReport.compose(HOST, "r1", NOW, original(Dsn.Ret.HDRS), List.of(failed("550 no")),
                "e".repeat(998)).message(), StandardCharsets.UTF_8);
        assertThat(exact).contains("charset=us-ascii\r\n\r\n" + "e".repeat(998) + "\r\n");
        String over = new String(DeliveryReport.compose(HOST, "r1", NOW, original(Dsn.Ret.HDRS), List.of(failed("550 no")),
                "e".repeat(999)).message(), StandardCharsets.UTF_8);
        assertThat(over).contains("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n");
    }

    /** RFC 3464 §2.3.6: a reply of exactly {@link DeliveryReport#MAX_DIAGNOSTIC} characters is kept whole. */
    @Test
    void aDiagnosticOfExactlyTheLimitIsNotCut() {
        String reply = "550 " + "x".repeat(DeliveryReport.MAX_DIAGNOSTIC - 4);
        String report = compose(original(Dsn.Ret.HDRS), List.of(failed(reply)));
        String diagnostic = report.substring(report.indexOf("Diagnostic-Code: "), report.indexOf("\r\nLast-Attempt-Date"));
        // The long word is split across lines; without the folds it is the whole reply, with no "..." of a cut.
        assertThat(diagnostic.replace("\r\n ", "")).isEqualTo("Diagnostic-Code: smtp; 550" + "x".repeat(DeliveryReport.MAX_DIAGNOSTIC - 4));
    }

    /**
     * RFC 5322 §2.2.3 and §2.1.1: fields fold at spaces to keep lines within 78 characters, and only where the next word
     * would pass 78; unfolded, the value is as it was.
     */
    @Test
    void fieldsFoldOnlyWhereTheNextWordWouldPass78Characters() {
        StringBuilder words = new StringBuilder("550");
        for (int i = 0; i < 60; i++) words.append(' ').append("w".repeat(1 + i * 7 % 11));
        String report = compose(original(Dsn.Ret.HDRS), List.of(failed(words.toString())));
        String field = report.substring(report.indexOf("Diagnostic-Code: "), report.indexOf("\r\nLast-Attempt-Date"));
        List<String> lines = List.of(field.split("\r\n"));
        assertThat(lines).hasSizeGreaterThan(2).allSatisfy(l -> assertThat(l.length()).isLessThanOrEqualTo(78));
        for (int i = 0; i + 1 < lines.size(); i++) {
            String next = lines.get(i + 1).substring(1).split(" ")[0];
            assertThat(lines.get(i).length() + 1 + next.length()).as(lines.get(i)).isGreaterThan(78);
        }
        assertThat(field.replace("\r\n", "")).isEqualTo("Diagnostic-Code: smtp; " + words);
    }

    /** RFC 6533 §3: in a plain report a non-ASCII address is utf-8-addr-xtext: printable ASCII but "+", "=" and "\\" as it is. */
    @Test
    void utf8AddrXtextKeepsThePrintableRangeToItsEnds() {
        Recipient r = new Recipient("jö!~@elsewhere.example", Optional.empty(), Action.FAILED, "5.1.1", Optional.empty(),
                Optional.of("550 no"), Optional.empty(), Optional.empty());
        assertThat(compose(original(Dsn.Ret.HDRS), List.of(r))).contains("Final-Recipient: utf-8;j\\x{F6}!~@elsewhere.example\r\n");
    }

    /** RFC 5322 §2.1.1: a line of exactly 78 characters is not folded; one more character and the last word moves on. */
    @Test
    void aFieldLineOfExactly78CharactersStaysWhole() {
        String report = compose(original(Dsn.Ret.HDRS), List.of(failed("550 " + "w".repeat(51) + " next")));
        String exact = "Diagnostic-Code: smtp; 550 " + "w".repeat(51);
        assertThat(exact).hasSize(78);
        assertThat(report).contains(exact + "\r\n next\r\n");
        String over = compose(original(Dsn.Ret.HDRS), List.of(failed("550 " + "w".repeat(52) + " next")));
        assertThat(over).contains("Diagnostic-Code: smtp; 550\r\n " + "w".repeat(52) + " next\r\n");
    }

    // ---- helpers

    private static FetchAttribute.Section section(int part) {
        return new FetchAttribute.Section(List.of(part), FetchAttribute.Section.Kind.ALL, List.of());
    }

    /** CRLF line ends only, each line within 998 octets (RFC 5322 §2.1.1, §2.3). */
    private static void assertWellFormed(byte[] message) {
        int start = 0;
        for (int i = 0; i < message.length; i++) {
            if (message[i] == '\n') {
                assertThat(i > 0 && message[i - 1] == '\r').as("LF at %d is part of CRLF", i).isTrue();
                assertThat(i - 1 - start).as("line at %d", start).isLessThanOrEqualTo(DeliveryReport.MAX_LINE);
                start = i + 1;
            } else if (message[i] == '\r') {
                assertThat(i + 1 < message.length && message[i + 1] == '\n').as("CR at %d is part of CRLF", i).isTrue();
            }
        }
        assertThat(start).as("ends with CRLF").isEqualTo(message.length);
    }

    private static final String PYTHON = """
            import sys, email, re
            def one(v):
                return re.sub(r'\\r?\\n[ \\t]+', ' ', str(v))
            m = email.message_from_bytes(open(sys.argv[1], 'rb').read())
            print('type=' + m.get_content_type())
            print('report-type=' + m.get_param('report-type'))
            for name in ('Subject', 'From', 'To', 'Auto-Submitted'):
                for v in m.get_all(name, []):
                    print(name + '=' + one(v))
            print('defects=%d' % len(m.defects))
            parts = m.get_payload()
            print('parts=' + ','.join(p.get_content_type() for p in parts))
            print('text=' + parts[0].get_payload(decode=True).decode(parts[0].get_content_charset()).splitlines()[0])
            if parts[1].get_content_type() == 'message/delivery-status':
                for group in parts[1].get_payload():
                    print('group=' + '|'.join(k + ': ' + one(v) for k, v in group.items()))
            if parts[2].get_content_type() == 'message/rfc822':
                inner = parts[2].get_payload()[0]
                print('original-subject=' + inner['Subject'])
                print('original-body=' + inner.get_payload().replace('\\r\\n', '\\\\n'))
            """;

    /** What Python's email package (compat32, the default parser) makes of a message, one fact a line. */
    private List<String> python(byte[] message) throws IOException, InterruptedException {
        Path file = Files.write(dir.resolve("report.eml"), message);
        Path script = Files.writeString(dir.resolve("read.py"), PYTHON);
        ProcessBuilder pb = new ProcessBuilder("python3", script.toString(), file.toString()).redirectErrorStream(true);
        pb.environment().put("PYTHONIOENCODING", "utf-8:surrogateescape"); // raw UTF-8 header bytes come out as they are
        Process p = pb.start();
        byte[] out = p.getInputStream().readAllBytes();
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        String text = new String(out, StandardCharsets.UTF_8);
        assertThat(p.exitValue()).as(text).isZero();
        return text.lines().toList();
    }
}
