package org.castellan.protocol.pop3;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * Incremental POP3 command parser: bytes in, one {@link Result} out per call. Pure: no I/O, no
 * clock, no exceptions for bad input. The parser keeps at most one partial line, bounded by the
 * mode's limit, so a client cannot make it hold more than {@link #MAX_SASL_LINE} octets.
 *
 * <p>Lines end with CRLF (RFC 1939 §3); a bare LF is accepted too, as many servers do, since
 * nothing is ambiguous about it. Not thread-safe: one parser per connection.
 */
public final class Pop3Parser {

    /** RFC 2449 §4: a command line is at most 255 octets, CRLF included. */
    public static final int MAX_COMMAND_LINE = 255;
    /**
     * RFC 5034 §4 lifts the 255-octet limit for SASL responses. 16 KiB holds the base64 of a
     * Kerberos ticket with a large PAC (the biggest response a real mechanism sends) and still
     * bounds what an unauthenticated client can make the server buffer.
     */
    public static final int MAX_SASL_LINE = 16_384;
    /** RFC 4422 §3.1: a mechanism name is 1 to 20 characters. */
    public static final int MAX_MECHANISM_NAME = 20;
    /** Message numbers and line counts fit an int: no maildrop has two billion messages. */
    private static final int MAX_NUMBER_DIGITS = 9;

    /** What the session expects next: a command, or the client's answer to a SASL challenge. */
    public enum Mode {
        COMMAND(MAX_COMMAND_LINE), SASL_RESPONSE(MAX_SASL_LINE);

        final int maxLine;

        Mode(int maxLine) { this.maxLine = maxLine; }
    }

    /** What one call to {@link #next} produced. */
    public sealed interface Result {
    }

    /** The input ended inside a line; call again with more bytes. */
    public record NeedMore() implements Result {
    }

    /** A complete, valid command. */
    public record Command(Pop3Command command) implements Result {
    }

    /**
     * A line in {@link Mode#SASL_RESPONSE} mode: the decoded response, or a cancellation
     * ("*", RFC 5034 §4).
     */
    public sealed interface SaslResponse extends Result {
    }

    public record SaslData(byte[] data) implements SaslResponse {
        @Override
        public String toString() { return "SaslData[***]"; }

        @Override
        public boolean equals(Object o) { return o instanceof SaslData d && Arrays.equals(data, d.data); }

        @Override
        public int hashCode() { return Arrays.hashCode(data); }
    }

    public record SaslCancel() implements SaslResponse {
    }

    /** Why a line was refused. Only {@link #LINE_TOO_LONG} ends the session. */
    public enum ErrorKind {
        UNKNOWN_COMMAND, BAD_ARGUMENTS, LINE_TOO_LONG;
    }

    /** A refused line, with a short text fit to send after "-ERR ". */
    public record Error(ErrorKind kind, String message) implements Result {
    }

    private static final NeedMore NEED_MORE = new NeedMore();

    /** Grows to the mode's limit only when a long SASL response needs it. */
    private byte[] line = new byte[MAX_COMMAND_LINE];
    private int length;
    /** After an overlong line, the rest of it is dropped up to its LF. */
    private boolean discarding;

    /**
     * Consumes bytes from {@code in} up to and including the end of one line (or all of them, if
     * no line ends) and returns what that line is. Bytes after the line stay in {@code in}.
     */
    public Result next(ByteBuffer in, Mode mode) {
        while (in.hasRemaining()) {
            byte b = in.get();
            if (b == '\n') {
                if (discarding) {
                    discarding = false;
                    continue;
                }
                int end = length > 0 && line[length - 1] == '\r' ? length - 1 : length;
                length = 0;
                return mode == Mode.COMMAND ? command(end) : saslResponse(end);
            }
            if (discarding) continue;
            // The limit counts the line end (RFC 2449 §4): content plus CRLF must fit.
            if (length + (b == '\r' ? 2 : 3) > mode.maxLine) {
                length = 0;
                discarding = true;
                return new Error(ErrorKind.LINE_TOO_LONG, "Line too long");
            }
            if (length == line.length) grow();
            line[length++] = b;
        }
        return NEED_MORE;
    }

    private void grow() {
        byte[] old = line;
        line = Arrays.copyOf(old, Math.min(old.length * 4, MAX_SASL_LINE));
        Arrays.fill(old, (byte) 0);
    }

    /** Forgets a partial line: after STLS, bytes received in cleartext are never used (RFC 2595 §4). */
    public void reset() {
        Arrays.fill(line, 0, length, (byte) 0);
        line = new byte[MAX_COMMAND_LINE];
        length = 0;
        discarding = false;
    }

    private Result command(int end) {
        int space = indexOf((byte) ' ', end);
        String word = ascii(0, space < 0 ? end : space);
        Optional<Pop3Keyword> keyword = Pop3Keyword.of(word);
        if (keyword.isEmpty()) {
            wipe(end);
            return new Error(ErrorKind.UNKNOWN_COMMAND, "Unknown command");
        }
        if (keyword.get() == Pop3Keyword.PASS) {
            // RFC 1939 §7: the password is the rest of the line and may contain spaces.
            if (space < 0 || space + 1 >= end) return bad("PASS needs a password");
            char[] password = utf8(space + 1, end);
            wipe(end);
            return new Command(new Pop3Command.Pass(password));
        }
        List<String> args = arguments(space < 0 ? end : space, end);
        wipe(end);
        return switch (keyword.get()) {
            case USER -> args.size() == 1 ? cmd(new Pop3Command.User(args.get(0))) : bad("USER needs a name");
            case STAT -> none(args, new Pop3Command.Stat());
            case NOOP -> none(args, new Pop3Command.Noop());
            case RSET -> none(args, new Pop3Command.Rset());
            case QUIT -> none(args, new Pop3Command.Quit());
            case CAPA -> none(args, new Pop3Command.Capa());
            case STLS -> none(args, new Pop3Command.Stls());
            case LIST, UIDL -> {
                if (args.size() > 1) yield bad("Too many arguments");
                OptionalInt n = OptionalInt.empty();
                if (args.size() == 1) {
                    int v = number(args.get(0));
                    if (v < 1) yield bad("Invalid message number");
                    n = OptionalInt.of(v);
                }
                yield cmd(keyword.get() == Pop3Keyword.LIST ? new Pop3Command.List(n) : new Pop3Command.Uidl(n));
            }
            case RETR, DELE -> {
                int n = args.size() == 1 ? number(args.get(0)) : -1;
                if (n < 1) yield bad("Invalid message number");
                yield cmd(keyword.get() == Pop3Keyword.RETR ? new Pop3Command.Retr(n) : new Pop3Command.Dele(n));
            }
            case TOP -> {
                int n = args.size() == 2 ? number(args.get(0)) : -1;
                int lines = args.size() == 2 ? number(args.get(1)) : -1;
                if (n < 1 || lines < 0) yield bad("TOP needs a message number and a line count");
                yield cmd(new Pop3Command.Top(n, lines));
            }
            case AUTH -> auth(args);
            case PASS -> throw new AssertionError("handled above");
        };
    }

    private static Result auth(List<String> args) {
        if (args.isEmpty()) return cmd(new Pop3Command.Auth(Optional.empty(), Optional.empty()));
        if (args.size() > 2) return bad("Too many arguments");
        String mechanism = args.get(0).toUpperCase(java.util.Locale.ROOT);
        if (!validMechanism(mechanism)) return bad("Invalid mechanism name");
        Optional<byte[]> initial = Optional.empty();
        if (args.size() == 2) {
            // RFC 5034 §4: "=" is a zero-length initial response.
            String ir = args.get(1);
            Optional<byte[]> decoded = ir.equals("=") ? Optional.of(new byte[0]) : base64(ir);
            if (decoded.isEmpty()) return bad("Invalid base64");
            initial = decoded;
        }
        return cmd(new Pop3Command.Auth(Optional.of(mechanism), initial));
    }

    private Result saslResponse(int end) {
        String text = ascii(0, end).strip();
        wipe(end);
        if (text.equals("*")) return new SaslCancel();
        // An empty line and "=" both mean a zero-length response (RFC 5034 §4).
        if (text.isEmpty() || text.equals("=")) return new SaslData(new byte[0]);
        return base64(text).<Result>map(SaslData::new).orElseGet(() -> bad("Invalid base64"));
    }

    /** RFC 4422 §3.1: upper-case letters, digits, hyphen and underscore. */
    static boolean validMechanism(String name) {
        if (name.isEmpty() || name.length() > MAX_MECHANISM_NAME) return false;
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_')) return false;
        }
        return true;
    }

    private static Optional<byte[]> base64(String text) {
        try {
            return Optional.of(Base64.getDecoder().decode(text));
        } catch (IllegalArgumentException e) {
            return Optional.empty();
        }
    }

    /** Arguments after the keyword, split on spaces; runs of spaces are tolerated. */
    private List<String> arguments(int from, int end) {
        List<String> out = new ArrayList<>();
        int i = from;
        while (i < end) {
            while (i < end && line[i] == ' ') i++;
            int start = i;
            while (i < end && line[i] != ' ') i++;
            if (i > start) out.add(new String(line, start, i - start, StandardCharsets.UTF_8));
        }
        return out;
    }

    /** A decimal number without sign, or -1. */
    private static int number(String text) {
        if (text.isEmpty() || text.length() > MAX_NUMBER_DIGITS) return -1;
        for (int i = 0; i < text.length(); i++) {
            if (text.charAt(i) < '0' || text.charAt(i) > '9') return -1;
        }
        return Integer.parseInt(text);
    }

    private static Result none(List<String> args, Pop3Command command) {
        return args.isEmpty() ? cmd(command) : bad("No arguments expected");
    }

    private static Result cmd(Pop3Command command) {
        return new Command(command);
    }

    private static Result bad(String message) {
        return new Error(ErrorKind.BAD_ARGUMENTS, message);
    }

    private int indexOf(byte b, int end) {
        for (int i = 0; i < end; i++) {
            if (line[i] == b) return i;
        }
        return -1;
    }

    private String ascii(int from, int to) {
        return new String(line, from, to - from, StandardCharsets.US_ASCII);
    }

    private char[] utf8(int from, int to) {
        CharBuffer chars = StandardCharsets.UTF_8.decode(ByteBuffer.wrap(line, from, to - from));
        char[] out = new char[chars.remaining()];
        chars.get(out);
        if (chars.hasArray()) Arrays.fill(chars.array(), '\0');
        return out;
    }

    /** Secrets (PASS, SASL responses) do not linger in the line buffer. */
    private void wipe(int end) {
        Arrays.fill(line, 0, Math.min(end + 1, line.length), (byte) 0);
    }
}
