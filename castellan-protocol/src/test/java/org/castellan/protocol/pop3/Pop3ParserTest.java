package org.castellan.protocol.pop3;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.stream.Stream;
import org.castellan.protocol.pop3.Pop3Parser.Command;
import org.castellan.protocol.pop3.Pop3Parser.Error;
import org.castellan.protocol.pop3.Pop3Parser.ErrorKind;
import org.castellan.protocol.pop3.Pop3Parser.Mode;
import org.castellan.protocol.pop3.Pop3Parser.NeedMore;
import org.castellan.protocol.pop3.Pop3Parser.Result;
import org.castellan.protocol.pop3.Pop3Parser.SaslCancel;
import org.castellan.protocol.pop3.Pop3Parser.SaslData;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class Pop3ParserTest {

    static Stream<Arguments> lines() {
        return Stream.of(
                Arguments.of("USER mrose", cmd(new Pop3Command.User("mrose"))),
                Arguments.of("user mrose", cmd(new Pop3Command.User("mrose"))),
                Arguments.of("PASS secret with  spaces ", cmd(new Pop3Command.Pass("secret with  spaces ".toCharArray()))),
                Arguments.of("STAT", cmd(new Pop3Command.Stat())),
                Arguments.of("LIST", cmd(new Pop3Command.List(OptionalInt.empty()))),
                Arguments.of("LIST 2", cmd(new Pop3Command.List(OptionalInt.of(2)))),
                Arguments.of("RETR 1", cmd(new Pop3Command.Retr(1))),
                Arguments.of("DELE 1", cmd(new Pop3Command.Dele(1))),
                Arguments.of("NOOP", cmd(new Pop3Command.Noop())),
                Arguments.of("RSET", cmd(new Pop3Command.Rset())),
                Arguments.of("QUIT", cmd(new Pop3Command.Quit())),
                Arguments.of("TOP 1 10", cmd(new Pop3Command.Top(1, 10))),
                Arguments.of("TOP 1 0", cmd(new Pop3Command.Top(1, 0))),
                Arguments.of("UIDL", cmd(new Pop3Command.Uidl(OptionalInt.empty()))),
                Arguments.of("UIDL 2", cmd(new Pop3Command.Uidl(OptionalInt.of(2)))),
                Arguments.of("CAPA", cmd(new Pop3Command.Capa())),
                Arguments.of("STLS", cmd(new Pop3Command.Stls())),
                Arguments.of("AUTH", cmd(new Pop3Command.Auth(Optional.empty(), Optional.empty()))),
                Arguments.of("AUTH plain", cmd(new Pop3Command.Auth(Optional.of("PLAIN"), Optional.empty()))),
                Arguments.of("AUTH PLAIN =", cmd(new Pop3Command.Auth(Optional.of("PLAIN"), Optional.of(new byte[0])))),
                Arguments.of("AUTH PLAIN AGEAYg==", cmd(new Pop3Command.Auth(Optional.of("PLAIN"),
                        Optional.of(new byte[] {0, 'a', 0, 'b'})))),
                Arguments.of("XTND XMIT", new Error(ErrorKind.UNKNOWN_COMMAND, "Unknown command")),
                Arguments.of("", new Error(ErrorKind.UNKNOWN_COMMAND, "Unknown command")),
                Arguments.of("RETR", new Error(ErrorKind.BAD_ARGUMENTS, "Invalid message number")),
                Arguments.of("RETR 0", new Error(ErrorKind.BAD_ARGUMENTS, "Invalid message number")),
                Arguments.of("RETR -1", new Error(ErrorKind.BAD_ARGUMENTS, "Invalid message number")),
                Arguments.of("RETR 1 2", new Error(ErrorKind.BAD_ARGUMENTS, "Invalid message number")),
                Arguments.of("DELE 99999999999", new Error(ErrorKind.BAD_ARGUMENTS, "Invalid message number")),
                Arguments.of("LIST x", new Error(ErrorKind.BAD_ARGUMENTS, "Invalid message number")),
                Arguments.of("LIST 1 2", new Error(ErrorKind.BAD_ARGUMENTS, "Too many arguments")),
                Arguments.of("STAT 1", new Error(ErrorKind.BAD_ARGUMENTS, "No arguments expected")),
                Arguments.of("TOP 1", new Error(ErrorKind.BAD_ARGUMENTS, "TOP needs a message number and a line count")),
                Arguments.of("USER", new Error(ErrorKind.BAD_ARGUMENTS, "USER needs a name")),
                Arguments.of("PASS", new Error(ErrorKind.BAD_ARGUMENTS, "PASS needs a password")),
                Arguments.of("AUTH PL@IN", new Error(ErrorKind.BAD_ARGUMENTS, "Invalid mechanism name")),
                Arguments.of("AUTH PLAIN !!!", new Error(ErrorKind.BAD_ARGUMENTS, "Invalid base64")));
    }

    @ParameterizedTest
    @MethodSource("lines")
    void wholeLine(String line, Result expected) {
        assertThat(parseAll(line + "\r\n", Mode.COMMAND, false)).containsExactly(expected);
    }

    @ParameterizedTest
    @MethodSource("lines")
    void oneByteAtATimeNeedsMoreUntilTheLineEnds(String line, Result expected) {
        assertThat(parseAll(line + "\r\n", Mode.COMMAND, true)).containsExactly(expected);
    }

    @ParameterizedTest
    @MethodSource("lines")
    void bareLineFeedEndsALineToo(String line, Result expected) {
        assertThat(parseAll(line + "\n", Mode.COMMAND, true)).containsExactly(expected);
    }

    @Test
    void pipelinedCommandsComeOutOneByOne() {
        assertThat(parseAll("STAT\r\nLIST\r\nQUIT\r\n", Mode.COMMAND, false)).containsExactly(
                cmd(new Pop3Command.Stat()), cmd(new Pop3Command.List(OptionalInt.empty())), cmd(new Pop3Command.Quit()));
    }

    @Test
    void lineOfExactly255OctetsIsAcceptedAnd256IsTooLong() {
        String ok = "USER " + "a".repeat(Pop3Parser.MAX_COMMAND_LINE - 7);
        assertThat(ok.length() + 2).isEqualTo(255);
        assertThat(parseAll(ok + "\r\n", Mode.COMMAND, true)).containsExactly(cmd(new Pop3Command.User(ok.substring(5))));
        String tooLong = ok + "a";
        assertThat(parseAll(tooLong + "\r\nNOOP\r\n", Mode.COMMAND, true))
                .containsExactly(new Error(ErrorKind.LINE_TOO_LONG, "Line too long"), cmd(new Pop3Command.Noop()));
    }

    @Test
    void endlessLineIsReportedOnceAndNeverBufferedBeyondTheLimit() {
        Pop3Parser parser = new Pop3Parser();
        ByteBuffer in = ByteBuffer.wrap("x".repeat(100_000).getBytes(StandardCharsets.US_ASCII));
        assertThat(parser.next(in, Mode.COMMAND)).isEqualTo(new Error(ErrorKind.LINE_TOO_LONG, "Line too long"));
        assertThat(in.position()).isEqualTo(Pop3Parser.MAX_COMMAND_LINE - 1);
        assertThat(parser.next(in, Mode.COMMAND)).isInstanceOf(NeedMore.class);
        assertThat(in.hasRemaining()).isFalse();
    }

    @Test
    void saslResponsesMayBeLongerThanACommandLine() {
        byte[] token = new byte[6000];
        for (int i = 0; i < token.length; i++) token[i] = (byte) i;
        String line = java.util.Base64.getEncoder().encodeToString(token);
        assertThat(parseAll(line + "\r\n", Mode.SASL_RESPONSE, true)).containsExactly(new SaslData(token));
        assertThat(parseAll(line + "\r\n", Mode.COMMAND, false).get(0))
                .isEqualTo(new Error(ErrorKind.LINE_TOO_LONG, "Line too long"));
        String huge = "A".repeat(Pop3Parser.MAX_SASL_LINE);
        assertThat(parseAll(huge + "\r\n", Mode.SASL_RESPONSE, false))
                .containsExactly(new Error(ErrorKind.LINE_TOO_LONG, "Line too long"));
    }

    @Test
    void saslCancelEmptyAndBadBase64() {
        assertThat(parseAll("*\r\n\r\n=\r\n%%\r\n", Mode.SASL_RESPONSE, true)).containsExactly(
                new SaslCancel(), new SaslData(new byte[0]), new SaslData(new byte[0]),
                new Error(ErrorKind.BAD_ARGUMENTS, "Invalid base64"));
    }

    @Test
    void resetDropsAPartialLine() {
        Pop3Parser parser = new Pop3Parser();
        assertThat(parser.next(ByteBuffer.wrap("USER eve".getBytes(StandardCharsets.US_ASCII)), Mode.COMMAND))
                .isInstanceOf(NeedMore.class);
        parser.reset();
        assertThat(parser.next(ByteBuffer.wrap("CAPA\r\n".getBytes(StandardCharsets.US_ASCII)), Mode.COMMAND))
                .isEqualTo(cmd(new Pop3Command.Capa()));
    }

    @Test
    void utf8UserNamesAndPasswordsSurvive() {
        assertThat(parseAll("USER jörg@example.org\r\nPASS pässwörd\r\n", Mode.COMMAND, true)).containsExactly(
                cmd(new Pop3Command.User("jörg@example.org")), cmd(new Pop3Command.Pass("pässwörd".toCharArray())));
    }

    @Test
    void secretsAreNeverInToString() {
        assertThat(new Pop3Command.Pass("hunter2".toCharArray()).toString()).doesNotContain("hunter2");
        assertThat(new SaslData("hunter2".getBytes(StandardCharsets.US_ASCII)).toString()).doesNotContain("hunter2");
    }

    /**
     * Random input (fixed seeds, so failures reproduce) split at random points gives the same
     * results as the whole input, in both modes, and never throws.
     */
    @Test
    void randomInputSplitAnywhereParsesTheSameAsWhole() {
        String[] pieces = {"USER a", "PASS b c", "RETR 1", "TOP 1 2", "AUTH PLAIN =", "*", "LIST", "\r", "\n", "\r\n",
                " ", ".", "\0", "\u00ff", "x".repeat(300), "AGEAYg==", "quit"};
        for (long seed = 0; seed < 200; seed++) {
            java.util.Random random = new java.util.Random(seed);
            StringBuilder input = new StringBuilder();
            for (int i = random.nextInt(40); i > 0; i--) input.append(pieces[random.nextInt(pieces.length)]);
            byte[] bytes = input.toString().getBytes(StandardCharsets.UTF_8);
            for (Mode mode : Mode.values()) {
                List<Result> whole = feed(bytes, mode, new int[] {bytes.length});
                int[] cuts = random.ints(random.nextInt(10) + 1, 1, 50).toArray();
                assertThat(feed(bytes, mode, cuts)).as("seed %d, %s", seed, mode).isEqualTo(whole);
            }
        }
    }

    /** Feeds {@code bytes} in chunks of the given sizes, cycling through them. */
    private static List<Result> feed(byte[] bytes, Mode mode, int[] chunkSizes) {
        Pop3Parser parser = new Pop3Parser();
        List<Result> out = new ArrayList<>();
        int at = 0;
        for (int c = 0; at < bytes.length; c++) {
            int n = Math.max(1, Math.min(chunkSizes[c % chunkSizes.length], bytes.length - at));
            ByteBuffer in = ByteBuffer.wrap(bytes, at, n);
            while (in.hasRemaining()) {
                Result r = parser.next(in, mode);
                if (!(r instanceof NeedMore)) out.add(r);
            }
            at += n;
        }
        return out;
    }

    /** A password or an initial response never shows in a command's text form, which logs print; equal commands still compare equal. */
    @Test
    void secretsStayOutOfTheTextForm() {
        Pop3Command.Pass pass = new Pop3Command.Pass("s3cret pass".toCharArray());
        assertThat(pass.toString()).doesNotContain("s3cret").isEqualTo("Pass[***]");
        assertThat(pass).isEqualTo(new Pop3Command.Pass("s3cret pass".toCharArray())).isNotEqualTo(new Pop3Command.Pass("other".toCharArray()));
        Pop3Command.Auth auth = new Pop3Command.Auth(Optional.of("PLAIN"), Optional.of("\0u\0s3cret".getBytes(StandardCharsets.UTF_8)));
        assertThat(auth.toString()).isEqualTo("Auth[PLAIN ***]");
        assertThat(new Pop3Command.Auth(Optional.of("PLAIN"), Optional.empty())).hasToString("Auth[PLAIN]")
                .isNotEqualTo(auth);
    }

    private static Result cmd(Pop3Command c) {
        return new Command(c);
    }

    /** Every result of feeding {@code text}; with {@code byteAtATime}, every prefix must need more. */
    static List<Result> parseAll(String text, Mode mode, boolean byteAtATime) {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        Pop3Parser parser = new Pop3Parser();
        List<Result> out = new ArrayList<>();
        if (byteAtATime) {
            for (byte b : bytes) {
                Result r = parser.next(ByteBuffer.wrap(new byte[] {b}), mode);
                if (!(r instanceof NeedMore)) out.add(r);
            }
        } else {
            ByteBuffer in = ByteBuffer.wrap(bytes);
            while (in.hasRemaining()) {
                Result r = parser.next(in, mode);
                if (!(r instanceof NeedMore)) out.add(r);
                else assertThat(in.hasRemaining()).isFalse();
            }
        }
        return out;
    }
}
