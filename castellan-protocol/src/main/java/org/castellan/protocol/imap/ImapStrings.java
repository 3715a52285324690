package org.castellan.protocol.imap;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Locale;

/** Encoding of strings and dates in responses (RFC 9051 §4.3, §9). */
public final class ImapStrings {

    /** Quoted strings longer than this go out as literals: easier on clients and on escaping. */
    private static final int MAX_QUOTED = 1024;

    private static final DateTimeFormatter DATE_TIME =
            DateTimeFormatter.ofPattern("dd-MMM-yyyy HH:mm:ss Z", Locale.ROOT).withZone(ZoneOffset.UTC);

    private ImapStrings() {}

    /**
     * A string as a quoted string when it can be one (no CR, LF, NUL, 8-bit only when
     * {@code utf8} is allowed), otherwise as a literal.
     */
    public static String string(String s, boolean utf8) {
        if (s.length() <= MAX_QUOTED && quotable(s, utf8)) return quote(s);
        return "{" + s.getBytes(StandardCharsets.UTF_8).length + "}\r\n" + s;
    }

    /** {@code NIL} for null. */
    public static String nstring(String s, boolean utf8) {
        return s == null ? "NIL" : string(s, utf8);
    }

    /** An astring: the bare atom when it is one, else as {@link #string}. */
    public static String astring(String s, boolean utf8) {
        if (!s.isEmpty() && !s.equalsIgnoreCase("NIL")) {
            boolean atom = true;
            for (int i = 0; i < s.length() && atom; i++) {
                char c = s.charAt(i);
                atom = ImapParser.isAtomChar(c) || c == ']';
            }
            if (atom) return s;
        }
        return string(s, utf8);
    }

    public static String quote(String s) {
        StringBuilder b = new StringBuilder(s.length() + 2).append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '"' || c == '\\') b.append('\\');
            b.append(c);
        }
        return b.append('"').toString();
    }

    private static boolean quotable(String s, boolean utf8) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\r' || c == '\n' || c == 0 || (c > 0x7f && !utf8)) return false;
        }
        return true;
    }

    /** RFC 9051 §9 {@code date-time}, e.g. {@code "17-Jul-1996 02:44:25 +0000"}, quoted. */
    public static String dateTime(Instant instant) {
        return '"' + DATE_TIME.format(instant) + '"';
    }
}
