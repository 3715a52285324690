package org.castellan.protocol.pop3;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

/**
 * Jazzer fuzz targets for POP3 (bad input gets {@code -ERR}, never an exception): the command
 * parser, in both of its modes, and the encoder of RETR and TOP responses. {@code ./mvnw verify}
 * runs them in regression mode over {@code Pop3FuzzTestInputs}; {@code JAZZER_FUZZ=1} fuzzes for
 * real (docs/testing.md).
 */
class Pop3FuzzTest {

    /** Results per input before the loop is declared stuck; each needs at least one byte. */
    private static final int MAX_STEPS = 100_000;

    /**
     * {@link Pop3Parser} on any bytes, split anywhere, switching between command and SASL mode
     * where the fuzzer says: it only ever returns results and consumes input; an error text fits
     * after "-ERR " on one line; a command names the keyword its line starts with, its numbers
     * are positive, and written out again it parses to the same command, as does a SASL answer.
     */
    @FuzzTest(maxDuration = "30s")
    void commands(FuzzedDataProvider data) {
        int chunk = data.consumeInt(1, 300);
        long modes = data.consumeLong();
        byte[] input = data.consumeRemainingAsBytes();
        Pop3Parser parser = new Pop3Parser();
        ByteBuffer in = ByteBuffer.wrap(input, 0, Math.min(chunk, input.length));
        Pop3Parser.Mode mode = Pop3Parser.Mode.COMMAND;
        for (int steps = 0; ; steps++) {
            assertThat(steps).as("results without progress").isLessThan(MAX_STEPS);
            int before = in.position();
            Pop3Parser.Result r = parser.next(in, mode);
            switch (r) {
                case Pop3Parser.NeedMore n -> {
                    assertThat(in.hasRemaining()).as("NeedMore with input left").isFalse();
                    if (in.limit() == input.length) return;
                    in.limit(Math.min(input.length, in.limit() + chunk));
                    continue;
                }
                case Pop3Parser.Error e -> assertThat(e.message()).matches("[\\x20-\\x7e]+");
                case Pop3Parser.Command c -> {
                    assertThat(mode).isEqualTo(Pop3Parser.Mode.COMMAND);
                    assertSensible(c.command());
                    assertReparses(canonical(c.command()), Pop3Parser.Mode.COMMAND, r);
                }
                case Pop3Parser.SaslData d -> {
                    assertThat(mode).isEqualTo(Pop3Parser.Mode.SASL_RESPONSE);
                    String line = d.data().length == 0 ? "=" : Base64.getEncoder().encodeToString(d.data());
                    assertReparses(line, Pop3Parser.Mode.SASL_RESPONSE, r);
                }
                case Pop3Parser.SaslCancel c -> assertThat(mode).isEqualTo(Pop3Parser.Mode.SASL_RESPONSE);
            }
            assertThat(in.position()).as("a result consumes input").isGreaterThan(before);
            // The session changes mode only between lines; so does the fuzzer.
            mode = ((modes >>> (steps & 63)) & 1) == 0 ? Pop3Parser.Mode.COMMAND : Pop3Parser.Mode.SASL_RESPONSE;
        }
    }

    /**
     * {@link MessageEncoder} on any message, split anywhere, for RETR or TOP: the response body
     * ends in CRLF "." CRLF and, read back as RFC 1939 §3 says a client does (lines end at CRLF,
     * a leading "." is removed, the lone "." ends it), is the message with its line ends made CRLF
     * — for TOP the header, the blank line and at most the requested number of body lines.
     */
    @FuzzTest(maxDuration = "30s")
    void messages(FuzzedDataProvider data) {
        boolean top = data.consumeBoolean();
        int lines = data.consumeInt(0, 20);
        int chunk = data.consumeInt(1, 300);
        byte[] message = data.consumeRemainingAsBytes();
        MessageEncoder encoder = top ? MessageEncoder.top(lines) : MessageEncoder.whole();
        ByteArrayOutputStream wire = new ByteArrayOutputStream();
        for (int from = 0; from < message.length && !encoder.done(); from += chunk) {
            int n = Math.min(chunk, message.length - from);
            byte[] out = new byte[MessageEncoder.maxOutput(n)];
            wire.write(out, 0, encoder.encode(message, from, n, out, 0));
        }
        wire.writeBytes(encoder.finish());
        byte[] sent = wire.toByteArray();
        byte[] received = readMultiLine(sent);
        byte[] expected = normalized(message, top ? lines : -1);
        assertThat(received).isEqualTo(expected);
        // The size LIST reports: what was sent but the CRLF finish() adds to an unfinished last line.
        int added = message.length == 0 || message[message.length - 1] == '\n' ? 0 : message[message.length - 1] == '\r' ? 1 : 2;
        if (!top) assertThat(encoder.contentOctets()).isEqualTo(expected.length - added);
    }

    // ---- what the targets compare with

    private static void assertSensible(Pop3Command command) {
        switch (command) {
            case Pop3Command.List l -> l.message().ifPresent(n -> assertThat(n).isPositive());
            case Pop3Command.Uidl u -> u.message().ifPresent(n -> assertThat(n).isPositive());
            case Pop3Command.Retr r -> assertThat(r.message()).isPositive();
            case Pop3Command.Dele d -> assertThat(d.message()).isPositive();
            case Pop3Command.Top t -> {
                assertThat(t.message()).isPositive();
                assertThat(t.lines()).isNotNegative();
            }
            case Pop3Command.Auth a -> a.mechanism().ifPresent(m -> assertThat(Pop3Parser.validMechanism(m)).isTrue());
            case Pop3Command.User u -> assertThat(u.name()).isNotEmpty().doesNotContain(" ");
            case Pop3Command.Pass p -> assertThat(p.password()).isNotEmpty();
            default -> { }
        }
    }

    /** The command as a client would write it, without its line end. */
    private static String canonical(Pop3Command command) {
        return switch (command) {
            case Pop3Command.User u -> "USER " + u.name();
            case Pop3Command.Pass p -> "PASS " + new String(p.password());
            case Pop3Command.List l -> "LIST" + l.message().stream().mapToObj(n -> " " + n).findFirst().orElse("");
            case Pop3Command.Uidl u -> "UIDL" + u.message().stream().mapToObj(n -> " " + n).findFirst().orElse("");
            case Pop3Command.Retr r -> "RETR " + r.message();
            case Pop3Command.Dele d -> "DELE " + d.message();
            case Pop3Command.Top t -> "TOP " + t.message() + " " + t.lines();
            case Pop3Command.Auth a -> "AUTH" + a.mechanism().map(m -> " " + m).orElse("") + a.initialResponse()
                    .map(ir -> " " + (ir.length == 0 ? "=" : Base64.getEncoder().encodeToString(ir))).orElse("");
            default -> command.keyword().name();
        };
    }

    /**
     * The canonical line parses to {@code expected}, unless it is longer than the original could
     * have been: invalid UTF-8 comes back as U+FFFD (three octets for one), unpadded base64 padded.
     */
    private static void assertReparses(String line, Pop3Parser.Mode mode, Pop3Parser.Result expected) {
        byte[] bytes = (line + "\r\n").getBytes(StandardCharsets.UTF_8);
        int limit = mode == Pop3Parser.Mode.COMMAND ? Pop3Parser.MAX_COMMAND_LINE : Pop3Parser.MAX_SASL_LINE;
        if (bytes.length > limit) return;
        ByteBuffer in = ByteBuffer.wrap(bytes);
        assertThat(new Pop3Parser().next(in, mode)).as(line).isEqualTo(expected);
        assertThat(in.hasRemaining()).as(line).isFalse();
    }

    /** RFC 1939 §3 from the client's side: the body of a multi-line response, dot-unstuffed, with its CRLFs. */
    private static byte[] readMultiLine(byte[] sent) {
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        int start = 0;
        while (true) {
            int crlf = indexOfCrlf(sent, start);
            assertThat(crlf).as("a line end before the terminating dot").isNotNegative();
            if (crlf - start == 1 && sent[start] == '.') {
                assertThat(crlf + 2).as("nothing after the terminating dot").isEqualTo(sent.length);
                return body.toByteArray();
            }
            int from = crlf > start && sent[start] == '.' ? start + 1 : start;
            if (from > start) assertThat(sent[from]).as("only stuffed lines start with a dot").isEqualTo((byte) '.');
            body.write(sent, from, crlf + 2 - from);
            start = crlf + 2;
        }
    }

    /**
     * The message as a client must receive it: every LF preceded by a CR, a CRLF added to an
     * unfinished last line; for TOP ({@code bodyLines} ≥ 0) cut after the blank line ending the
     * header and that many further lines.
     */
    private static byte[] normalized(byte[] message, int bodyLines) {
        List<byte[]> lines = new ArrayList<>();
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        for (int i = 0; i < message.length; i++) {
            if (message[i] == '\n') {
                byte[] b = line.toByteArray();
                int len = b.length > 0 && b[b.length - 1] == '\r' ? b.length - 1 : b.length;
                lines.add(java.util.Arrays.copyOf(b, len));
                line.reset();
            } else {
                line.write(message[i]);
            }
        }
        if (line.size() > 0) { // an unfinished last line: finish() ends it, completing a trailing CR
            byte[] b = line.toByteArray();
            lines.add(java.util.Arrays.copyOf(b, b[b.length - 1] == '\r' ? b.length - 1 : b.length));
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        boolean inHeader = true;
        int body = 0;
        for (int i = 0; i < lines.size(); i++) {
            if (bodyLines >= 0 && !inHeader && body++ >= bodyLines) break;
            byte[] l = lines.get(i);
            out.writeBytes(l);
            out.write('\r');
            out.write('\n');
            // A header ends at its first empty line; a line holding only CRs counts as empty too.
            if (inHeader && onlyCarriageReturns(l)) inHeader = false;
            if (bodyLines == 0 && !inHeader) break;
        }
        return out.toByteArray();
    }

    private static boolean onlyCarriageReturns(byte[] line) {
        for (byte b : line) if (b != '\r') return false;
        return true;
    }

    private static int indexOfCrlf(byte[] b, int from) {
        for (int i = from; i + 1 < b.length; i++) if (b[i] == '\r' && b[i + 1] == '\n') return i;
        return -1;
    }
}
