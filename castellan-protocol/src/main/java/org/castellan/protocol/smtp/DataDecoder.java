package org.castellan.protocol.smtp;

import java.nio.ByteBuffer;

/**
 * Decodes the content of a DATA command (RFC 5321 §4.1.1.4): finds the end-of-data marker,
 * removes dot-stuffing (§4.5.2) and reports what makes the message unacceptable.
 *
 * <p><b>End of data is CRLF "." CRLF and nothing else.</b> A bare CR or LF never ends a line for
 * this decoder, so {@code \n.\n}, {@code \r.\r}, {@code \r\n.\n} and {@code \n.\r\n} are plain
 * content and the message goes on. Any bare CR or LF in the content is reported by
 * {@link #bareLineBreak()}, and Castellan refuses such messages (550 5.6.2) once their real end
 * arrives: a downstream server that ends lines at a bare LF would otherwise see a second,
 * smuggled message inside this one (CVE-2023-51766, "SMTP smuggling"). Refusing rather than
 * rewriting keeps the stored bytes exactly what the client sent.
 *
 * <p>A NUL octet is reported by {@link #nul()}: RFC 5322 §3.5 text, RFC 2045 §2.7 and §2.8 (7bit
 * and 8bit data, so RFC 6152 8BITMIME) exclude it; only RFC 3030 BINARYMIME allows it, and that
 * is not offered. Castellan refuses such messages too, rather than storing octets IMAP could not
 * send in a plain literal (RFC 9051 §4.3: CHAR8 is %x01-ff).
 *
 * <p>Pure and incremental: feed any split of the input; output is the unstuffed content with its
 * CRLFs, the final CRLF of the last line included. Not thread-safe.
 */
public final class DataDecoder {

    /**
     * RFC 5321 §4.5.3.1.6: a text line is at most 1000 octets, CRLF included. A longer line is
     * passed through but reported, and the message refused.
     */
    public static final int MAX_TEXT_LINE = 1000;

    /** What a call to {@link #decode} stopped at. */
    public enum Status {
        /** All input consumed; the message goes on. */
        NEED_INPUT,
        /** The output buffer has fewer than two bytes free; drain it and call again. */
        OUTPUT_FULL,
        /** The end-of-data marker was consumed; input after it is the next command. */
        END
    }

    private enum State { LINE_START, TEXT, CR, DOT, DOT_CR }

    private State state = State.LINE_START;
    private int lineLength;
    private boolean bareLineBreak;
    private boolean lineTooLong;
    private boolean nul;
    private long contentBytes;

    /**
     * Consumes {@code in} into {@code out} until the input runs out, the output is nearly full or
     * the end of data is reached.
     */
    public Status decode(ByteBuffer in, ByteBuffer out) {
        while (in.hasRemaining()) {
            if (out.remaining() < 2) return Status.OUTPUT_FULL;
            byte b = in.get();
            switch (state) {
                case LINE_START -> {
                    if (b == '.') {
                        state = State.DOT;
                        lineLength = 1;
                    } else {
                        text(b, out);
                    }
                }
                case TEXT -> text(b, out);
                case CR -> {
                    if (b == '\n') {
                        put(out, (byte) '\r');
                        put(out, (byte) '\n');
                        newLine();
                    } else {
                        bareLineBreak = true;
                        put(out, (byte) '\r');
                        state = State.TEXT;
                        text(b, out);
                    }
                }
                case DOT -> {
                    if (b == '\r') {
                        state = State.DOT_CR;
                    } else {
                        // RFC 5321 §4.5.2: the first dot of a line is removed, whatever follows.
                        state = State.TEXT;
                        text(b, out);
                    }
                }
                case DOT_CR -> {
                    if (b == '\n') {
                        state = State.LINE_START;
                        return Status.END;
                    }
                    bareLineBreak = true;
                    put(out, (byte) '\r');
                    state = State.TEXT;
                    text(b, out);
                }
            }
        }
        return Status.NEED_INPUT;
    }

    private void text(byte b, ByteBuffer out) {
        if (b == '\r') {
            state = State.CR;
            return;
        }
        if (b == '\n') bareLineBreak = true; // a lone LF never starts a line here
        if (b == 0) nul = true;
        put(out, b);
        state = State.TEXT;
    }

    private void put(ByteBuffer out, byte b) {
        out.put(b);
        contentBytes++;
        if (++lineLength > MAX_TEXT_LINE) lineTooLong = true;
    }

    private void newLine() {
        state = State.LINE_START;
        lineLength = 0;
    }

    /** Whether the content held a CR or LF that was not part of a CRLF pair. */
    public boolean bareLineBreak() {
        return bareLineBreak;
    }

    /** Whether a line was longer than {@link #MAX_TEXT_LINE} octets with its CRLF. */
    public boolean lineTooLong() {
        return lineTooLong;
    }

    /** Whether the content held a NUL octet. */
    public boolean nul() {
        return nul;
    }

    /** Octets of content produced so far (after unstuffing). */
    public long contentBytes() {
        return contentBytes;
    }
}
