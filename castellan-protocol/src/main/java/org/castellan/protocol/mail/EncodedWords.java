package org.castellan.protocol.mail;

import org.apache.james.mime4j.codec.DecodeMonitor;
import org.apache.james.mime4j.codec.DecoderUtil;

/** RFC 2047 encoded words in header fields. */
public final class EncodedWords {

    private EncodedWords() {}

    /**
     * The value with its encoded words decoded (white space between two of them dropped, RFC 2047
     * §6.2); other text is kept as it is. With a silent monitor mime4j reports nothing and throws
     * nothing: a word in an unknown charset or encoding stays encoded.
     */
    public static String decode(String value) {
        return DecoderUtil.decodeEncodedWords(value, DecodeMonitor.SILENT);
    }
}
