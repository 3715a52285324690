package org.castellan.protocol.mail;

import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.james.mime4j.codec.DecodeMonitor;
import org.apache.james.mime4j.codec.DecoderUtil;

/** RFC 2047 encoded words in header fields. */
public final class EncodedWords {

    /**
     * An encoded word without encoded text. RFC 2047 §2 needs at least one character there, and
     * §6.3 says a malformed word is shown as it is; mime4j instead turns the whole value into the
     * empty string, which would hide the rest of a subject or a display name.
     */
    private static final Pattern EMPTY_WORD = Pattern.compile("=\\?[^?\\s]*\\?[A-Za-z]\\?\\?=");

    private EncodedWords() {}

    /**
     * The value with its encoded words decoded (white space between two of them dropped, RFC 2047
     * §6.2); other text is kept as it is. With a silent monitor mime4j reports nothing and throws
     * nothing: a word in an unknown charset or encoding stays encoded.
     */
    public static String decode(String value) {
        Matcher empty = EMPTY_WORD.matcher(value);
        if (!empty.find()) return DecoderUtil.decodeEncodedWords(value, DecodeMonitor.SILENT);
        StringBuilder out = new StringBuilder();
        int from = 0;
        do {
            out.append(DecoderUtil.decodeEncodedWords(value.substring(from, empty.start()), DecodeMonitor.SILENT))
                    .append(empty.group());
            from = empty.end();
        } while (empty.find());
        return out.append(DecoderUtil.decodeEncodedWords(value.substring(from), DecodeMonitor.SILENT)).toString();
    }
}
