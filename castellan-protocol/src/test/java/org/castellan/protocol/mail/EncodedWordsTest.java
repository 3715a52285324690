package org.castellan.protocol.mail;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** RFC 2047 encoded words: decoded where well formed, shown as they are where not (§6.3). */
class EncodedWordsTest {

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', quoteCharacter = '`', value = {
        "=?utf-8?q?J=C3=B6rg?=|Jörg",
        "=?utf-8?q?a?= =?utf-8?q?b?=|ab", // §6.2: white space between encoded words goes
        "plain text|plain text",
        "=?unknown-charset?q?x?=|=?unknown-charset?q?x?=",
        "`Hello =?utf-8?q??= world`|`Hello =?utf-8?q??= world`",
        "`=?utf-8?q??= ceo@bank.example`|`=?utf-8?q??= ceo@bank.example`",
        "`=?utf-8?q?J=C3=B6rg?= =?utf-8?b??= =?utf-8?q?J=C3=B6rg?=`|`Jörg =?utf-8?b??= Jörg`",
        // §2: encoded-text is printable ASCII without "?" or SPACE; anything else is plain text.
        "`=?utf-8?q?a b?=`|`=?utf-8?q?a b?=`",
        "`=?utf-8?q?a\nb?= =?utf-8?q?c?=`|`=?utf-8?q?a\nb?= c`",
        "`=?utf-8?q?café?=`|`=?utf-8?q?café?=`",
        "`=?=?utf-8?q?x?=`|`=?x`",
        "`=?utf-8?q?a?=\r\n\t=?utf-8?q?b?=`|ab",
    })
    void decode(String value, String shown) {
        assertThat(EncodedWords.decode(unescape(value))).isEqualTo(unescape(shown));
    }

    /** The table writes CR, LF and TAB as \\r, \\n and \\t. */
    private static String unescape(String s) {
        return s.replace("\\r", "\r").replace("\\n", "\n").replace("\\t", "\t");
    }
}
