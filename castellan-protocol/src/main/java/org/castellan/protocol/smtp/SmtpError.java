package org.castellan.protocol.smtp;

import java.util.Objects;

/**
 * A refusal as the client sees it: the reply code (RFC 5321 §4.2), the enhanced status code
 * (RFC 3463) and short text. Parsers return these as values; the session writes them.
 *
 * @param code 4xx (temporary) or 5xx (permanent)
 * @param status the enhanced status code, e.g. {@code 5.5.2}
 * @param text one line of printable ASCII, no CR or LF
 */
public record SmtpError(int code, String status, String text) {

    public SmtpError {
        Objects.requireNonNull(status, "status");
        Objects.requireNonNull(text, "text");
        if (code < 400 || code > 599) throw new IllegalArgumentException("not an error reply code: " + code);
    }

    public boolean temporary() {
        return code < 500;
    }

    /** The reply line without CRLF. */
    @Override
    public String toString() {
        return code + " " + status + " " + text;
    }
}
