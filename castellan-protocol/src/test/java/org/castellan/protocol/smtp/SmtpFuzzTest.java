package org.castellan.protocol.smtp;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.EnumSet;
import java.util.List;
import java.util.stream.Collectors;
import org.castellan.protocol.mail.EmailAddress;

/**
 * Jazzer fuzz targets for what reads an SMTP client's bytes (bad input gets a reply, never an
 * exception): the command parser, the line framer and the DATA decoder, each checked against
 * what it must produce, not only for not throwing. {@code ./mvnw verify} runs them in regression
 * mode over {@code SmtpFuzzTestInputs}; {@code JAZZER_FUZZ=1} fuzzes for real (docs/testing.md).
 */
class SmtpFuzzTest {

    /**
     * {@link SmtpParser#parse}: a refusal is a 5xx reply with an enhanced status code and one line
     * of printable ASCII; an accepted command names the verb the line starts with, keeps paths
     * within RFC 5321's limits, and written out again in canonical form parses to the same command.
     */
    @FuzzTest(maxDuration = "30s")
    void commands(FuzzedDataProvider data) {
        boolean utf8 = data.consumeBoolean();
        byte[] line = data.consumeRemainingAsBytes();
        SmtpParser.Result result = SmtpParser.parse(line, utf8);
        switch (result) {
            case SmtpParser.Bad bad -> assertWellFormed(bad.error());
            case SmtpParser.Ok ok -> {
                SmtpCommand command = ok.command();
                // RFC 5321 §2.4: the verb is the line's first word, in ASCII, in any case.
                String verb = command.verb();
                assertThat(new String(line, 0, Math.min(line.length, verb.length()), StandardCharsets.ISO_8859_1))
                        .isEqualToIgnoringCase(verb);
                assertThat(line.length == verb.length() || line[verb.length()] == ' ').as("the verb is a whole word").isTrue();
                switch (command) {
                    case SmtpCommand.Mail m -> m.from().ifPresent(SmtpFuzzTest::assertWithinLimits);
                    case SmtpCommand.Rcpt r -> assertWithinLimits(r.to());
                    case SmtpCommand.Helo h -> assertThat(h.domain().length()).isLessThanOrEqualTo(EmailAddress.MAX_DOMAIN);
                    case SmtpCommand.Ehlo e -> assertThat(e.domain().length()).isLessThanOrEqualTo(EmailAddress.MAX_DOMAIN);
                    case SmtpCommand.Auth a -> assertThat(a.mechanism().length()).isBetween(1, SmtpParser.MAX_MECHANISM);
                    case SmtpCommand.Bdat b -> assertThat(b.size()).isNotNegative();
                    default -> { }
                }
                String canonical = canonical(command);
                if (canonical != null) {
                    SmtpParser.Result again = SmtpParser.parse(canonical.getBytes(StandardCharsets.UTF_8), utf8);
                    assertThat(again).as(canonical).isInstanceOf(SmtpParser.Ok.class);
                    assertSame(command, ((SmtpParser.Ok) again).command());
                }
            }
        }
    }

    /**
     * {@link LineDecoder} on any split of any bytes, with either limit: exactly the lines and
     * refusals of a plain reading of the bytes (a line ends at LF, one CR before it is dropped, a
     * line is too long when it and its CRLF exceed the limit), and never more held than the limit.
     */
    @FuzzTest(maxDuration = "30s")
    void lines(FuzzedDataProvider data) {
        int max = switch (data.consumeInt(0, 2)) {
            case 0 -> LineDecoder.MAX_COMMAND_LINE;
            case 1 -> LineDecoder.MAX_AUTH_LINE;
            default -> data.consumeInt(2, 64);
        };
        int chunk = data.consumeInt(1, 600);
        byte[] input = data.consumeRemainingAsBytes();
        LineDecoder decoder = new LineDecoder();
        List<String> seen = new ArrayList<>();
        for (int from = 0; from < input.length; from += chunk) {
            ByteBuffer in = ByteBuffer.wrap(input, from, Math.min(chunk, input.length - from));
            while (true) {
                LineDecoder.Result r = decoder.next(in, max);
                if (r instanceof LineDecoder.NeedMore) {
                    assertThat(in.hasRemaining()).as("NeedMore with input left").isFalse();
                    break;
                }
                seen.add(r instanceof LineDecoder.Line l ? "L" + Arrays.toString(l.bytes()) : "T");
            }
        }
        assertThat(seen).isEqualTo(expectedLines(input, max));
    }

    /**
     * {@link DataDecoder} on any content followed by the end-of-data marker, split anywhere, into
     * an output buffer of any size from two octets: exactly the unstuffed content of RFC 5321
     * §4.5.2 up to the first CRLF "." CRLF, nothing read after it, and the right verdicts on bare
     * line breaks and long lines.
     */
    @FuzzTest(maxDuration = "30s")
    void data(FuzzedDataProvider data) {
        int chunk = data.consumeInt(1, 300);
        int outSize = data.consumeInt(2, 80);
        byte[] content = data.consumeRemainingAsBytes();
        byte[] input = Arrays.copyOf(content, content.length + 5);
        System.arraycopy(new byte[] {'\r', '\n', '.', '\r', '\n'}, 0, input, content.length, 5);

        DataDecoder decoder = new DataDecoder();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteBuffer buffer = ByteBuffer.allocate(outSize);
        int consumed = -1;
        for (int from = 0; from < input.length && consumed < 0; from += chunk) {
            ByteBuffer in = ByteBuffer.wrap(input, from, Math.min(chunk, input.length - from));
            while (true) {
                DataDecoder.Status s = decoder.decode(in, buffer);
                buffer.flip();
                out.write(buffer.array(), 0, buffer.limit());
                buffer.clear();
                if (s == DataDecoder.Status.END) {
                    consumed = in.position();
                    break;
                }
                if (s == DataDecoder.Status.NEED_INPUT) {
                    assertThat(in.hasRemaining()).isFalse();
                    break;
                }
            }
        }
        Unstuffed expected = unstuff(input);
        assertThat(consumed).as("where the content ends").isEqualTo(expected.end);
        assertThat(out.toByteArray()).isEqualTo(expected.content.toByteArray());
        assertThat(decoder.contentBytes()).isEqualTo(expected.content.size());
        assertThat(decoder.bareLineBreak()).as("bare line break").isEqualTo(expected.bare);
        assertThat(decoder.lineTooLong()).as("long line").isEqualTo(expected.longLine);
    }

    /** {@link FromHeader#originators} on any bytes: claims only for originator fields, never an exception. */
    @FuzzTest(maxDuration = "30s")
    void fromHeaders(FuzzedDataProvider data) {
        byte[] message = data.consumeRemainingAsBytes();
        switch (FromHeader.originators(message, message.length)) {
            case FromHeader.Originators.Malformed m -> assertThat(FromHeader.FIELDS).contains(m.field());
            case FromHeader.Originators.HeaderTooLong t -> assertThat(message.length).isGreaterThanOrEqualTo(t.limit());
            case FromHeader.Originators.Claims c -> {
                for (FromHeader.Claim claim : c.claims()) {
                    assertThat(FromHeader.FIELDS).contains(claim.field());
                    assertThat(claim.address()).contains("@");
                }
                assertThat(c.fromAddresses()).isLessThanOrEqualTo(c.claims().size());
            }
        }
    }

    // ---- what the targets compare with

    /** RFC 5321 §4.2 and RFC 3463: a code, a status class matching it, and text a reply line can carry. */
    static void assertWellFormed(SmtpError e) {
        assertThat(e.code()).isBetween(500, 599);
        assertThat(e.status()).matches("5\\.[0-9]{1,3}\\.[0-9]{1,3}");
        assertThat(e.text()).isNotBlank().matches("[\\x20-\\x7e]+");
    }

    /** RFC 5321 §4.5.3.1.1 and §4.5.3.1.3 count octets, with SMTPUTF8 octets of UTF-8 (RFC 6531 §3.3). */
    private static void assertWithinLimits(Mailbox m) {
        assertThat(octets(m.localPart())).isBetween(1, EmailAddress.MAX_LOCAL_PART);
        assertThat(octets("<" + m + ">")).isLessThanOrEqualTo(SmtpParser.MAX_PATH);
    }

    private static int octets(String s) {
        return s.getBytes(StandardCharsets.UTF_8).length;
    }

    /** The command as a client would write it in the simplest form; null for those without arguments worth checking. */
    private static String canonical(SmtpCommand command) {
        return switch (command) {
            case SmtpCommand.Helo h -> "HELO " + h.domain();
            case SmtpCommand.Ehlo e -> "EHLO " + e.domain();
            case SmtpCommand.Mail m -> "MAIL FROM:<" + m.from().map(Mailbox::toString).orElse("") + ">"
                    + m.size().stream().mapToObj(n -> " SIZE=" + n).findFirst().orElse("")
                    + (m.body() == SmtpCommand.Body.EIGHT_BIT_MIME ? " BODY=8BITMIME" : "")
                    + (m.smtpUtf8() ? " SMTPUTF8" : "")
                    + (m.ret() == Dsn.Ret.UNSPECIFIED ? "" : " RET=" + m.ret())
                    + m.envid().map(id -> " ENVID=" + Xtext.encode(id)).orElse("")
                    + (m.requireTls() ? " REQUIRETLS" : "");
            case SmtpCommand.Rcpt r -> "RCPT TO:<" + r.to() + ">"
                    + r.notifyOn().map(n -> " NOTIFY=" + (n.isEmpty() ? "NEVER"
                            : EnumSet.copyOf(n).stream().map(Enum::name).collect(Collectors.joining(",")))).orElse("")
                    + r.orcpt().map(SmtpFuzzTest::orcpt).orElse("");
            case SmtpCommand.Bdat b -> "BDAT " + b.size() + (b.last() ? " LAST" : "");
            case SmtpCommand.Auth a -> "AUTH " + a.mechanism() + a.initialResponse()
                    .map(ir -> " " + (ir.length == 0 ? "=" : Base64.getEncoder().encodeToString(ir))).orElse("");
            default -> null;
        };
    }

    /** RFC 3461 §4.2: the address in xtext; a utf-8 address (RFC 6533 §3) was kept as given. */
    private static String orcpt(String value) {
        int semi = value.indexOf(';');
        String type = value.substring(0, semi);
        return " ORCPT=" + type + ";" + (type.equalsIgnoreCase("utf-8") ? value.substring(semi + 1) : Xtext.encode(value.substring(semi + 1)));
    }

    private static void assertSame(SmtpCommand first, SmtpCommand again) {
        if (first instanceof SmtpCommand.Auth a && again instanceof SmtpCommand.Auth b) {
            assertThat(b.mechanism()).isEqualTo(a.mechanism());
            assertThat(b.initialResponse().isPresent()).isEqualTo(a.initialResponse().isPresent());
            a.initialResponse().ifPresent(ir -> assertThat(b.initialResponse().get()).isEqualTo(ir));
        } else {
            assertThat(again).isEqualTo(first);
        }
    }

    /** Lines and refusals ("T") as {@link LineDecoder}'s documentation describes them. */
    private static List<String> expectedLines(byte[] input, int max) {
        List<String> out = new ArrayList<>();
        int start = 0;
        for (int i = 0; i < input.length; i++) {
            if (input[i] != '\n') continue;
            int raw = i - start;
            int len = raw > 0 && input[i - 1] == '\r' ? raw - 1 : raw;
            // A CR may still come, so the decoder holds at most max - 1 octets of a line.
            boolean tooLong = raw > max - 1 || len + 2 > max;
            out.add(tooLong ? "T" : "L" + Arrays.toString(Arrays.copyOfRange(input, start, start + len)));
            start = i + 1;
        }
        return out;
    }

    private record Unstuffed(ByteArrayOutputStream content, int end, boolean bare, boolean longLine) {}

    /**
     * RFC 5321 §4.5.2 read the simple way: lines end at CRLF only; the content ends at the first
     * line that is a lone "."; a leading "." of any other line is dropped; any other CR or LF is
     * bare; a line is too long when it, its stuffing dot and its CRLF exceed 1000 octets.
     */
    private static Unstuffed unstuff(byte[] in) {
        ByteArrayOutputStream content = new ByteArrayOutputStream();
        boolean bare = false;
        boolean longLine = false;
        int start = 0;
        while (true) {
            int crlf = start;
            while (!(in[crlf] == '\r' && in[crlf + 1] == '\n')) crlf++;
            if (crlf - start == 1 && in[start] == '.') return new Unstuffed(content, crlf + 2, bare, longLine);
            for (int i = start; i < crlf; i++) bare |= in[i] == '\r' || in[i] == '\n';
            longLine |= crlf - start + 2 > DataDecoder.MAX_TEXT_LINE;
            int from = in[start] == '.' && crlf > start ? start + 1 : start;
            content.write(in, from, crlf + 2 - from);
            start = crlf + 2;
        }
    }
}
