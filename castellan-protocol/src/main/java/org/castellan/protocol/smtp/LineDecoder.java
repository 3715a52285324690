package org.castellan.protocol.smtp;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;

/**
 * Splits a byte stream into SMTP command lines, incrementally and within a fixed bound.
 *
 * <p>A line ends with CRLF (RFC 5321 §2.3.8). A bare LF also ends a command line, as Postfix and
 * most servers accept: nothing about a command is ambiguous, and the strict CRLF rule that matters
 * for smuggling is enforced in message content by {@link DataDecoder}. A line longer than the
 * limit is read to its end and reported as {@link TooLong}, so the session answers once and the
 * next command starts at a line boundary. Not thread-safe: one decoder per connection.
 */
public final class LineDecoder {

    /** RFC 5321 §4.5.3.1.4: a command line is at most 512 octets, CRLF included. */
    public static final int MAX_COMMAND_LINE = 512;
    /**
     * RFC 4954 §4 lets an AUTH line exceed 512 octets (a base64 initial response). 12 KiB holds a
     * Kerberos ticket's base64 and still bounds what an unauthenticated client can make us hold.
     */
    public static final int MAX_AUTH_LINE = 12_288;

    /** What {@link #next} found. */
    public sealed interface Result {
    }

    /** The input ended inside a line. */
    public record NeedMore() implements Result {
    }

    /** A complete line without its line ending. */
    public record Line(byte[] bytes) implements Result {
    }

    /** A line longer than the limit, now consumed up to and including its end. */
    public record TooLong() implements Result {
    }

    private static final NeedMore NEED_MORE = new NeedMore();

    private final ByteArrayOutputStream line = new ByteArrayOutputStream();
    private boolean discarding;

    /**
     * Consumes bytes of {@code in} up to the end of the next line (or all of them).
     *
     * @param maxLine the limit for this line, line ending included
     */
    public Result next(ByteBuffer in, int maxLine) {
        while (in.hasRemaining()) {
            byte b = in.get();
            if (b == '\n') {
                if (discarding) {
                    discarding = false;
                    line.reset();
                    return new TooLong();
                }
                byte[] bytes = line.toByteArray();
                line.reset();
                int len = bytes.length;
                if (len > 0 && bytes[len - 1] == '\r') len--;
                // +2 for the CRLF the limit counts, whichever ending the client used.
                if (len + 2 > maxLine) return new TooLong();
                return new Line(len == bytes.length ? bytes : java.util.Arrays.copyOf(bytes, len));
            }
            if (discarding) continue;
            line.write(b);
            // One octet of slack: the CR of a CRLF that is still to come.
            if (line.size() > maxLine - 1) {
                discarding = true;
                line.reset();
            }
        }
        return NEED_MORE;
    }

    /** Forgets a partial line: after STARTTLS nothing received before the handshake may be used. */
    public void reset() {
        line.reset();
        discarding = false;
    }
}
