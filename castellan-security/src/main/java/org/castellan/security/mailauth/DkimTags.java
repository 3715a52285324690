package org.castellan.security.mailauth;

import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * The tag=value lists of DKIM signatures and key records (RFC 6376 §3.2). Pure: a malformed list
 * is an empty result, never an exception.
 */
final class DkimTags {

    private DkimTags() {}

    /**
     * The tags of {@code text} in order, values with surrounding white space removed (white space
     * inside a value is kept); empty when a tag name is malformed or repeated, which RFC 6376 §3.2
     * says invalidates the whole list.
     */
    static Optional<Map<String, String>> parse(String text) {
        Map<String, String> tags = new LinkedHashMap<>();
        for (String spec : text.split(";", -1)) {
            if (spec.isBlank()) continue; // a trailing ';' is allowed
            int eq = spec.indexOf('=');
            if (eq < 0) return Optional.empty();
            String name = strip(spec.substring(0, eq));
            if (!validName(name) || tags.containsKey(name)) return Optional.empty();
            tags.put(name, strip(spec.substring(eq + 1)));
        }
        return Optional.of(tags);
    }

    /** tag-name = ALPHA *ALNUMPUNC (RFC 6376 §3.2); ALNUMPUNC is letters, digits and '_'. */
    private static boolean validName(String name) {
        if (name.isEmpty() || !isAlpha(name.charAt(0))) return false;
        for (int i = 1; i < name.length(); i++) {
            char c = name.charAt(i);
            if (!isAlpha(c) && !(c >= '0' && c <= '9') && c != '_') return false;
        }
        return true;
    }

    private static boolean isAlpha(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    }

    /** Removes FWS (SP, TAB, CR, LF) from both ends. */
    static String strip(String s) {
        int start = 0;
        int end = s.length();
        while (start < end && isFws(s.charAt(start))) start++;
        while (end > start && isFws(s.charAt(end - 1))) end--;
        return s.substring(start, end);
    }

    /** Removes every FWS character: base64 values may be folded anywhere (RFC 6376 §3.5, b= and bh=). */
    static String removeFws(String s) {
        StringBuilder out = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            if (!isFws(s.charAt(i))) out.append(s.charAt(i));
        }
        return out.toString();
    }

    private static boolean isFws(char c) {
        return c == ' ' || c == '\t' || c == '\r' || c == '\n';
    }

    /** The octets of a base64 value with any FWS in it; empty when it is not base64. */
    static Optional<byte[]> base64(String value) {
        try {
            return Optional.of(Base64.getDecoder().decode(removeFws(value)));
        } catch (IllegalArgumentException notBase64) {
            return Optional.empty();
        }
    }

    /**
     * A DKIM-Signature field with the value of its b= tag deleted, everything else (white space
     * included) kept as it is (RFC 6376 §3.7).
     */
    static String withoutSignature(String field) {
        int colon = field.indexOf(':');
        int start = colon + 1;
        while (start <= field.length()) {
            int semicolon = field.indexOf(';', start);
            int end = semicolon < 0 ? field.length() : semicolon;
            String spec = field.substring(start, end);
            int eq = spec.indexOf('=');
            if (eq >= 0 && strip(spec.substring(0, eq)).equals("b")) {
                return field.substring(0, start + eq + 1) + field.substring(end);
            }
            if (semicolon < 0) break;
            start = semicolon + 1;
        }
        return field;
    }
}
