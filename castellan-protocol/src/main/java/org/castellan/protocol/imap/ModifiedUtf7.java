package org.castellan.protocol.imap;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Optional;

/**
 * Modified UTF-7 for mailbox names (RFC 3501 §5.1.3), which IMAP4rev1 clients use; IMAP4rev2
 * sessions use UTF-8 instead (RFC 9051 §5.1).
 */
public final class ModifiedUtf7 {

    private ModifiedUtf7() {}

    public static String encode(String name) {
        StringBuilder out = new StringBuilder(name.length());
        int i = 0;
        while (i < name.length()) {
            char c = name.charAt(i);
            if (c >= 0x20 && c <= 0x7e) {
                out.append(c == '&' ? "&-" : String.valueOf(c));
                i++;
                continue;
            }
            int j = i;
            while (j < name.length() && (name.charAt(j) < 0x20 || name.charAt(j) > 0x7e)) j++;
            byte[] utf16 = name.substring(i, j).getBytes(StandardCharsets.UTF_16BE);
            out.append('&').append(Base64.getEncoder().withoutPadding().encodeToString(utf16).replace('/', ',')).append('-');
            i = j;
        }
        return out.toString();
    }

    /**
     * The name a client sent; empty when it is not valid modified UTF-7. Only the one encoding
     * {@link #encode} gives is valid (RFC 3501 §5.1.3: printable US-ASCII stands for itself, and
     * modified BASE64 MUST NOT encode it; one shift per run of other characters), so two names
     * on the wire never reach the same mailbox. 8-bit octets, encoded ASCII, superfluous shifts,
     * stray padding bits and unpaired surrogates are all invalid.
     */
    public static Optional<String> decode(String name) {
        return decodeLenient(name).filter(decoded -> encode(decoded).equals(name));
    }

    private static Optional<String> decodeLenient(String name) {
        StringBuilder out = new StringBuilder(name.length());
        int i = 0;
        while (i < name.length()) {
            char c = name.charAt(i);
            if (c != '&') {
                out.append(c);
                i++;
                continue;
            }
            int end = name.indexOf('-', i + 1);
            if (end < 0) return Optional.empty();
            if (end == i + 1) {
                out.append('&');
            } else {
                try {
                    byte[] utf16 = Base64.getDecoder().decode(name.substring(i + 1, end).replace(',', '/'));
                    if (utf16.length % 2 != 0) return Optional.empty();
                    out.append(new String(utf16, StandardCharsets.UTF_16BE));
                } catch (IllegalArgumentException e) {
                    return Optional.empty();
                }
            }
            i = end + 1;
        }
        return Optional.of(out.toString());
    }
}
