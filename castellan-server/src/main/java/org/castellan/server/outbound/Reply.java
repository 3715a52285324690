package org.castellan.server.outbound;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.regex.Pattern;

/**
 * One SMTP reply (RFC 5321 §4.2): a three-digit code and its text lines, which
 * {@link #parseLine} reads one at a time. Pure: no I/O, no exceptions for bad input.
 */
record Reply(int code, List<String> lines) {

    /** RFC 5321 §4.5.3.1.5: a reply line, CRLF included. A longer one ends the session. */
    static final int MAX_LINE = 512;
    /**
     * RFC 5321 does not bound a reply's lines; EHLO replies have a few dozen at most, so a
     * hundred is a receiver talking without end (Postfix's smtp_line_length_limit has the same aim).
     */
    static final int MAX_LINES = 100;
    /** RFC 3463 §2: class.subject.detail at the start of the text. */
    private static final Pattern ENHANCED = Pattern.compile("[245]\\.\\d{1,3}\\.\\d{1,3}");

    Reply {
        lines = List.copyOf(lines);
    }

    /** One line of a reply, CRLF removed: its code, whether more lines follow, and its text. */
    record Line(int code, boolean more, String text) {
    }

    /** The line, or null when it is not {@code ddd}, {@code ddd text} or {@code ddd-text} (RFC 5321 §4.2.1). */
    static Line parseLine(byte[] line, int length) {
        if (length < 3) return null;
        for (int i = 0; i < 3; i++) {
            if (line[i] < '0' || line[i] > '9') return null;
        }
        int code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
        if (code < 200 || code > 599) return null;
        if (length == 3) return new Line(code, false, "");
        if (line[3] != ' ' && line[3] != '-') return null;
        // A receiver may send UTF-8 (RFC 6531 §3.7.4); anything else is shown replaced, and control
        // characters become "?" so that a reply cannot forge lines in the log or the queue.
        String text = new String(line, 4, length - 4, StandardCharsets.UTF_8);
        return new Line(code, line[3] == '-', text.codePoints().map(c -> c < 0x20 || c == 0x7f ? '?' : c)
                .collect(StringBuilder::new, StringBuilder::appendCodePoint, StringBuilder::append).toString());
    }

    boolean positive() {
        return code / 100 == 2;
    }

    boolean intermediate() {
        return code / 100 == 3;
    }

    boolean permanent() {
        return code / 100 == 5;
    }

    /** The enhanced status code (RFC 3463) the text opens with, or one derived from the code class. */
    String status() {
        String first = lines.isEmpty() ? "" : lines.get(0);
        int space = first.indexOf(' ');
        String word = space < 0 ? first : first.substring(0, space);
        if (ENHANCED.matcher(word).matches() && word.charAt(0) - '0' == code / 100) return word;
        return (code / 100) + ".0.0";
    }

    /** One line for the queue and logs: the code and the text lines joined, as a DSN's Diagnostic-Code gives it. */
    String oneLine() {
        return code + " " + String.join(" ", lines).strip();
    }

    /** The extension keywords of an EHLO reply (RFC 5321 §4.1.1.1): every line but the first, upper case. */
    List<String> extensions() {
        return lines.stream().skip(1).map(l -> l.strip().toUpperCase(java.util.Locale.ROOT)).toList();
    }
}
