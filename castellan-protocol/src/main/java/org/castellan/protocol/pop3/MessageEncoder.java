package org.castellan.protocol.pop3;

/**
 * Turns a stored message into the body of a POP3 multi-line response, chunk by chunk, so a
 * message of any size passes through a fixed buffer (RFC 1939 §3):
 * <ul>
 *   <li>every line ends in CRLF: a bare LF in the stored message is sent as CRLF;</li>
 *   <li>a line that starts with "." gets a second "." (byte-stuffing);</li>
 *   <li>for TOP, output stops after the header, the blank line and the requested number of
 *       body lines (RFC 1939 §7);</li>
 *   <li>{@link #finish} supplies the terminating ".", after a CRLF if the message did not end
 *       with one.</li>
 * </ul>
 * Pure and not thread-safe: one encoder per response.
 */
public final class MessageEncoder {

    /** An output buffer for {@code n} input bytes needs this many bytes: each byte becomes at most two. */
    public static int maxOutput(int n) {
        return 2 * n;
    }

    private final long bodyLineLimit;
    private boolean atLineStart = true;
    private boolean previousCr;
    private boolean inHeader = true;
    private boolean lineEmpty = true;
    private long bodyLines;
    private boolean done;
    private long contentOctets;

    private MessageEncoder(long bodyLineLimit) {
        this.bodyLineLimit = bodyLineLimit;
    }

    /** For RETR: the whole message. */
    public static MessageEncoder whole() {
        return new MessageEncoder(Long.MAX_VALUE);
    }

    /** For TOP: the header, the blank line and at most {@code bodyLines} lines of the body. */
    public static MessageEncoder top(int bodyLines) {
        if (bodyLines < 0) throw new IllegalArgumentException("bodyLines must be >= 0, got " + bodyLines);
        MessageEncoder e = new MessageEncoder(bodyLines);
        return e;
    }

    /**
     * Encodes {@code len} bytes of the message from {@code src} into {@code dst} at
     * {@code dstOff}, which must have room for {@link #maxOutput}{@code (len)} bytes.
     *
     * @return the number of bytes written; input after TOP's last line is ignored
     */
    public int encode(byte[] src, int off, int len, byte[] dst, int dstOff) {
        int o = dstOff;
        for (int i = off; i < off + len && !done; i++) {
            byte b = src[i];
            if (b == '\n') {
                if (!previousCr) {
                    dst[o++] = '\r';
                    contentOctets++;
                }
                dst[o++] = '\n';
                contentOctets++;
                previousCr = false;
                endOfLine();
                continue;
            }
            if (atLineStart && b == '.') dst[o++] = '.'; // RFC 1939 §3: byte-stuffing
            dst[o++] = b;
            contentOctets++;
            atLineStart = false;
            if (b != '\r') lineEmpty = false;
            previousCr = b == '\r';
        }
        return o - dstOff;
    }

    private void endOfLine() {
        atLineStart = true;
        if (inHeader) {
            if (lineEmpty) {
                inHeader = false;
                if (bodyLineLimit == 0) done = true;
            }
        } else if (++bodyLines >= bodyLineLimit) {
            done = true;
        }
        lineEmpty = true;
    }

    /** Whether TOP has sent all it should: the caller may stop reading the message. */
    public boolean done() {
        return done;
    }

    /**
     * The octets of the message as sent, line ends normalized, byte-stuffing not counted: the
     * size LIST and STAT report (RFC 1939 §5, §11).
     */
    public long contentOctets() {
        return contentOctets;
    }

    /** The end of the response: a CRLF if the message did not end with one, then ".CRLF". */
    public byte[] finish() {
        if (atLineStart) return new byte[] {'.', '\r', '\n'};
        if (previousCr) return new byte[] {'\n', '.', '\r', '\n'};
        return new byte[] {'\r', '\n', '.', '\r', '\n'};
    }
}
