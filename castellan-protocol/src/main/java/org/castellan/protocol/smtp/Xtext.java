package org.castellan.protocol.smtp;

import java.util.Optional;

/**
 * The xtext encoding of RFC 3461 §4, which carries ENVID and ORCPT values in an SMTP command:
 * {@code xchar} is any character from "!" to "~" except "+" and "=", and any other octet is
 * written as "+" and two hexadecimal digits. Pure; bad input gives an empty result.
 */
public final class Xtext {

    private Xtext() {}

    /**
     * Decodes {@code text}; empty when it is not xtext or when the decoded value holds anything but
     * printable US-ASCII and space, which RFC 3461 §4.2 and §4.4 require of ORCPT and ENVID values
     * (a delivery status notification carries them as header text, so no control character may
     * come through). Lower-case hexadecimal digits are accepted although §4 asks for upper case.
     */
    public static Optional<String> decode(String text) {
        StringBuilder out = new StringBuilder(text.length());
        for (int i = 0; i < text.length(); i++) {
            char ch = text.charAt(i);
            if (ch == '+') {
                if (i + 2 >= text.length()) return Optional.empty();
                int hi = Character.digit(text.charAt(i + 1), 16);
                int lo = Character.digit(text.charAt(i + 2), 16);
                if (hi < 0 || lo < 0 || text.charAt(i + 1) > 0x7f || text.charAt(i + 2) > 0x7f) return Optional.empty();
                char decoded = (char) (hi * 16 + lo);
                if (decoded < 0x20 || decoded > 0x7e) return Optional.empty();
                out.append(decoded);
                i += 2;
            } else if (xchar(ch)) {
                out.append(ch);
            } else {
                return Optional.empty();
            }
        }
        return Optional.of(out.toString());
    }

    /** Encodes printable ASCII text; any other character is the caller's bug. */
    public static String encode(String text) {
        StringBuilder out = new StringBuilder(text.length());
        for (int i = 0; i < text.length(); i++) {
            char ch = text.charAt(i);
            if (ch < 0x20 || ch > 0x7e) throw new IllegalArgumentException("xtext carries printable ASCII only");
            if (xchar(ch)) out.append(ch);
            else out.append('+').append(Character.toUpperCase(Character.forDigit(ch >> 4, 16)))
                    .append(Character.toUpperCase(Character.forDigit(ch & 0xf, 16)));
        }
        return out.toString();
    }

    /** RFC 3461 §4: xchar. */
    private static boolean xchar(char ch) {
        return ch >= '!' && ch <= '~' && ch != '+' && ch != '=';
    }
}
