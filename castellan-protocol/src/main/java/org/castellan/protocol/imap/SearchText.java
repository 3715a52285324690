package org.castellan.protocol.imap;

import java.util.Locale;

/**
 * The text of one message as SEARCH TEXT and BODY compare it (see
 * {@link MessageStructure#searchText}): decoded header fields and decoded text parts.
 *
 * <p>Matching is a case-insensitive substring test (RFC 9051 §6.4.4) defined by {@link #fold}:
 * both sides are folded and compared exactly. The full-text index stores folded text and is
 * queried with a folded needle, so it answers exactly what this scan answers.
 */
public record SearchText(String header, String body) {

    /**
     * Text kept per message for each of header and body (in chars). Bounds decoding work and the
     * index size on hostile input; real text parts are far smaller. What lies beyond is not found.
     */
    public static final int MAX_CHARS = 4 * 1024 * 1024;

    /** The case folding both sides of a comparison go through. */
    public static String fold(String s) {
        return s.toLowerCase(Locale.ROOT);
    }

    /** {@code SEARCH BODY needle}. */
    public boolean bodyContains(String needle) {
        return fold(body).contains(fold(needle));
    }

    /** {@code SEARCH TEXT needle}: the header or the body contains it. */
    public boolean textContains(String needle) {
        String n = fold(needle);
        return fold(header).contains(n) || fold(body).contains(n);
    }
}
