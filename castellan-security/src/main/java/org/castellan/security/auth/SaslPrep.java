package org.castellan.security.auth;

import java.text.Normalizer;

/**
 * SASLprep (RFC 4013) for passwords and user names, as SCRAM requires (RFC 5802 §2.2).
 *
 * <p>What is done: non-ASCII spaces become U+0020 (RFC 3454 C.1.2 → §2.1 mapping); characters
 * "commonly mapped to nothing" are removed (RFC 3454 B.1); the result is normalized to NFKC; and
 * strings containing prohibited characters are refused: control characters (C.2), private use
 * (C.3), non-characters (C.4), surrogate code points (C.5), characters inappropriate for plain
 * text or canonical representation (C.6, C.7), display-changing and deprecated characters (C.8),
 * tagging characters (C.9), and, for stored strings, unassigned code points. What is not done:
 * the bidirectional check of RFC 3454 §6, and unassigned code points are judged by the JDK's
 * Unicode version rather than Unicode 3.2. ASCII passwords, the overwhelming majority, are
 * unaffected except for the refusal of control characters.
 *
 * <p>Failure: {@link #prepare} throws {@link IllegalArgumentException} naming the offending code
 * point and its position — never the string itself, which may be a password.
 */
public final class SaslPrep {

    private SaslPrep() {}

    /**
     * Prepares {@code text}.
     *
     * @param storedString true when the result will be stored (a new password), which also
     *     refuses unassigned code points (RFC 3454 §7); false for a query (a login attempt)
     * @throws IllegalArgumentException if {@code text} contains a prohibited character or is
     *     empty after preparation
     */
    public static String prepare(CharSequence text, boolean storedString) {
        StringBuilder mapped = new StringBuilder(text.length());
        for (int i = 0; i < text.length(); ) {
            int c = Character.codePointAt(text, i);
            i += Character.charCount(c);
            if (mappedToNothing(c)) continue;
            mapped.appendCodePoint(nonAsciiSpace(c) ? ' ' : c);
        }
        String normalized = Normalizer.normalize(mapped, Normalizer.Form.NFKC);
        for (int i = 0, position = 1; i < normalized.length(); position++) {
            int c = normalized.codePointAt(i);
            i += Character.charCount(c);
            String problem = prohibited(c, storedString);
            if (problem != null) {
                throw new IllegalArgumentException(String.format(
                        "character %d (U+%04X) is %s, which SASLprep (RFC 4013 §2.3) does not allow",
                        position, c, problem));
            }
        }
        if (normalized.isEmpty()) throw new IllegalArgumentException("the string is empty after SASLprep");
        return normalized;
    }

    /** RFC 3454 C.1.2. */
    private static boolean nonAsciiSpace(int c) {
        return c == 0x00A0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200B) || c == 0x202F
                || c == 0x205F || c == 0x3000;
    }

    /** RFC 3454 B.1. */
    private static boolean mappedToNothing(int c) {
        return c == 0x00AD || c == 0x034F || c == 0x1806 || (c >= 0x180B && c <= 0x180D)
                || (c >= 0x200B && c <= 0x200D) || c == 0x2060 || (c >= 0xFE00 && c <= 0xFE0F)
                || c == 0xFEFF;
    }

    private static String prohibited(int c, boolean storedString) {
        int type = Character.getType(c);
        if (type == Character.CONTROL || (c >= 0x1D173 && c <= 0x1D17A) || c == 0x06DD || c == 0x070F
                || c == 0x180E || c == 0x2028 || c == 0x2029 || (c >= 0x2060 && c <= 0x2063)
                || (c >= 0xFFF9 && c <= 0xFFFC)) {
            return "a control character"; // C.2.1, C.2.2
        }
        if (type == Character.PRIVATE_USE) return "a private-use character"; // C.3
        if ((c >= 0xFDD0 && c <= 0xFDEF) || (c & 0xFFFE) == 0xFFFE) return "a non-character"; // C.4
        if (type == Character.SURROGATE) return "an unpaired surrogate"; // C.5
        if (c == 0xFFFD || (c >= 0x2FF0 && c <= 0x2FFB)) return "not plain text"; // C.6, C.7
        if (c == 0x0340 || c == 0x0341 || c == 0x200E || c == 0x200F || (c >= 0x202A && c <= 0x202E)
                || (c >= 0x206A && c <= 0x206F)) {
            return "a display-changing character"; // C.8
        }
        if (c == 0xE0001 || (c >= 0xE0020 && c <= 0xE007F)) return "a tagging character"; // C.9
        if (storedString && type == Character.UNASSIGNED) return "unassigned in Unicode";
        return null;
    }
}
