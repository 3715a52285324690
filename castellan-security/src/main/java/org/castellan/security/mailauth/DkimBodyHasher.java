package org.castellan.security.mailauth;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * Canonicalizes a message body as it streams past (RFC 6376 §3.4.3, §3.4.4) and hashes it with
 * SHA-256, so that a body of any size is hashed without a copy of it in memory. Lines end at LF;
 * a CR just before the LF belongs to the line end, so bare-LF input hashes as its CRLF form.
 *
 * <p>Empty lines are held back as a count until a line with content follows, because trailing
 * empty lines are not part of the canonical body. With a body length limit ({@code l=}) only that
 * many canonical octets are hashed; all of them are counted.
 */
final class DkimBodyHasher {

    private static final byte[] CRLF = {'\r', '\n'};

    private final DkimCanonicalization canonicalization;
    private final long limit;
    private final MessageDigest digest;
    private final byte[] buffer = new byte[8192];
    private int buffered;
    private long length;
    private long pendingEmptyLines;
    private boolean lineHasContent;
    private boolean pendingWsp;
    private boolean pendingCr;
    private byte[] hash;

    /** @param limit the number of canonical octets to hash, or -1 for all */
    DkimBodyHasher(DkimCanonicalization canonicalization, long limit) {
        this.canonicalization = canonicalization;
        this.limit = limit;
        try {
            this.digest = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java runtime has SHA-256", e);
        }
    }

    void update(byte[] bytes, int offset, int count) {
        for (int i = offset; i < offset + count; i++) update(bytes[i]);
    }

    private void update(byte b) {
        if (pendingCr) {
            pendingCr = false;
            if (b == '\n') {
                endOfLine();
                return;
            }
            content((byte) '\r');
        }
        switch (b) {
            case '\r' -> pendingCr = true;
            case '\n' -> endOfLine();
            case ' ', '\t' -> {
                if (canonicalization == DkimCanonicalization.RELAXED) pendingWsp = true;
                else content(b);
            }
            default -> content(b);
        }
    }

    private void content(byte b) {
        if (!lineHasContent) {
            for (; pendingEmptyLines > 0; pendingEmptyLines--) emit(CRLF);
            lineHasContent = true;
        }
        if (pendingWsp) { // RFC 6376 §3.4.4: a run of WSP within a line becomes one SP
            emit((byte) ' ');
            pendingWsp = false;
        }
        emit(b);
    }

    private void endOfLine() {
        pendingWsp = false; // RFC 6376 §3.4.4: WSP at the end of a line is ignored
        if (lineHasContent) emit(CRLF);
        else pendingEmptyLines++;
        lineHasContent = false;
    }

    /** Ends the body and returns its hash. */
    byte[] finish() {
        if (hash == null) {
            if (pendingCr) {
                pendingCr = false;
                content((byte) '\r');
            }
            pendingWsp = false;
            if (lineHasContent) emit(CRLF); // a last line without its CRLF gets one
            // RFC 6376 §3.4.3: an empty body is one CRLF in simple; §3.4.4: nothing in relaxed.
            if (length == 0 && canonicalization == DkimCanonicalization.SIMPLE) emit(CRLF);
            flush();
            hash = digest.digest();
        }
        return hash.clone();
    }

    /** Canonical body octets seen (all of them, also past the limit). */
    long length() {
        return length;
    }

    private void emit(byte[] bytes) {
        for (byte b : bytes) emit(b);
    }

    private void emit(byte b) {
        if (limit < 0 || length < limit) {
            buffer[buffered++] = b;
            if (buffered == buffer.length) flush();
        }
        length++;
    }

    private void flush() {
        digest.update(buffer, 0, buffered);
        buffered = 0;
    }
}
