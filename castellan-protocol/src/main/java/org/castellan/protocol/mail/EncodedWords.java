package org.castellan.protocol.mail;

import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.james.mime4j.codec.DecodeMonitor;
import org.apache.james.mime4j.codec.DecoderUtil;

/** RFC 2047 encoded words in header fields. */
public final class EncodedWords {

    /**
     * RFC 2047 §2: {@code "=?" charset "?" encoding "?" encoded-text "?="}, the encoded text at
     * least one printable ASCII character other than "?" and SPACE. mime4j also decodes words
     * with spaces, line breaks or non-ASCII inside (turning a LF into CRLF on the way), and turns
     * a word without encoded text into nothing, which would hide the rest of a subject or a
     * display name; §6.3 says a malformed word is shown as it is, so only these are decoded.
     */
    private static final Pattern WORD = Pattern.compile("=\\?[^?\\s]+\\?[BbQq]\\?[\\x21-\\x3e\\x40-\\x7e]+\\?=");

    private EncodedWords() {}

    /**
     * The value with its encoded words decoded (white space between two of them dropped, RFC 2047
     * §6.2); other text is kept as it is. With a silent monitor mime4j reports nothing and throws
     * nothing: a word in an unknown charset or encoding stays encoded.
     */
    public static String decode(String value) {
        Matcher word = WORD.matcher(value);
        if (!word.find()) return value;
        StringBuilder out = new StringBuilder(value.length());
        int from = 0;
        boolean afterWord = false;
        do {
            String between = value.substring(from, word.start());
            if (!afterWord || !linearWhiteSpace(between)) out.append(between);
            afterWord = true;
            out.append(DecoderUtil.decodeEncodedWords(word.group(), DecodeMonitor.SILENT));
            from = word.end();
        } while (word.find());
        return out.append(value, from, value.length()).toString();
    }

    /** RFC 822 §3.2 linear-white-space: SPACE, HTAB and the CRLF of folding. */
    private static boolean linearWhiteSpace(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c != ' ' && c != '\t' && c != '\r' && c != '\n') return false;
        }
        return true;
    }
}
