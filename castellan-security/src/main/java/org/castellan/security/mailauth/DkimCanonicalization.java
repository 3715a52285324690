package org.castellan.security.mailauth;

import java.util.Locale;
import java.util.Optional;

/**
 * The two canonicalization algorithms of RFC 6376 §3.4, for header fields; the body's are in
 * {@link DkimBodyHasher}. Header fields are handled as ISO-8859-1 strings, one char per octet, so
 * that 8-bit content passes through unchanged.
 */
public enum DkimCanonicalization {
    /** RFC 6376 §3.4.1 and §3.4.3: nothing changes but the line ends. */
    SIMPLE("simple"),
    /** RFC 6376 §3.4.2 and §3.4.4: case of names, folding and runs of white space do not matter. */
    RELAXED("relaxed");

    private final String tag;

    DkimCanonicalization(String tag) {
        this.tag = tag;
    }

    public String tag() {
        return tag;
    }

    /** The algorithm named in a {@code c=} half, case-insensitive; empty for an unknown one. */
    public static Optional<DkimCanonicalization> fromTag(String tag) {
        for (DkimCanonicalization c : values()) {
            if (c.tag.equalsIgnoreCase(tag)) return Optional.of(c);
        }
        return Optional.empty();
    }

    /**
     * One header field, its lines joined with CRLF and without the final CRLF, canonicalized and
     * followed by CRLF.
     */
    public String header(String field) {
        return this == SIMPLE ? field + "\r\n" : relaxedHeader(field) + "\r\n";
    }

    /** RFC 6376 §3.4.2: lower-case name, unfolded, runs of WSP as one SP, none around the colon or at the end. */
    static String relaxedHeader(String field) {
        int colon = field.indexOf(':');
        String name = colon < 0 ? field : field.substring(0, colon);
        String value = colon < 0 ? "" : field.substring(colon + 1);
        StringBuilder out = new StringBuilder(field.length());
        out.append(stripTrailingWsp(name).toLowerCase(Locale.ROOT)).append(':');
        boolean space = false;
        boolean started = false;
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (c == '\r' || c == '\n') continue; // unfold
            if (c == ' ' || c == '\t') {
                space = true;
                continue;
            }
            // WSP before the value's first character goes with the colon (RFC 6376 §3.4.2).
            if (space && started) out.append(' ');
            space = false;
            started = true;
            out.append(c);
        }
        return out.toString();
    }

    private static String stripTrailingWsp(String s) {
        int end = s.length();
        while (end > 0 && (s.charAt(end - 1) == ' ' || s.charAt(end - 1) == '\t')) end--;
        return s.substring(0, end);
    }
}
