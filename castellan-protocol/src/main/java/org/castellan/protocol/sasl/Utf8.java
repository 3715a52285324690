package org.castellan.protocol.sasl;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Strict UTF-8 decoding: SASL strings are UTF-8 (RFC 4422 §3.4.1), and invalid bytes are the
 * client's error. Also for other passwords sent as UTF-8 octets (HTTP Basic, LDAP simple bind).
 */
public final class Utf8 {

    private Utf8() {}

    /** The decoded characters, or null if {@code bytes[from, to)} is not valid UTF-8. */
    public static char[] decode(byte[] bytes, int from, int to) {
        CharBuffer chars;
        try {
            chars = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes, from, to - from));
        } catch (CharacterCodingException e) {
            return null;
        }
        char[] result = Arrays.copyOfRange(chars.array(), chars.arrayOffset() + chars.position(),
                chars.arrayOffset() + chars.limit());
        // The buffer may hold a password: do not leave a copy behind for a heap dump.
        Arrays.fill(chars.array(), '\0');
        return result;
    }

    /** The decoded string, or null if not valid UTF-8. */
    static String string(byte[] bytes, int from, int to) {
        char[] chars = decode(bytes, from, to);
        return chars == null ? null : new String(chars);
    }
}
