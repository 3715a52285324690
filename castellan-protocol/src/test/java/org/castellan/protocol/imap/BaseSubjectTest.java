package org.castellan.protocol.imap;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** RFC 5256 §2.1 base subject extraction, step by step. */
class BaseSubjectTest {

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "Hello world|Hello world|false",
        "Re: Hello world|Hello world|true",
        "RE: re:  Hello \t world|Hello world|true",
        "Fwd: Hello|Hello|true",
        "FW: Hello|Hello|true",
        "Re[2]: Hello|Hello|true",
        "Re [list]: Hello|Hello|true",
        "[list] Re: Hello|Hello|true",
        "[list] Hello|Hello|false",
        "[list]|[list]|false",
        "Hello (fwd)|Hello|true",
        "Hello (fwd) (FWD)  |Hello|true",
        "[Fwd: Re: Hello]|Hello|true",
        "Re: [Fwd: [list] Hello (fwd)]|Hello|true",
        "Reply to me|Reply to me|false",
        "=?UTF-8?Q?Re=3A_caf=C3=A9?=|café|true",
        "'   '|''|false",
        // At the edges of the grammar: leading white space alone is no reply marker; an unclosed
        // "[" is no blob; a lone "re" without ":" stays.
        "' \tHello'|Hello|false",
        "[a] [b]|[b]|false",
        "[unclosed Re: x|[unclosed Re: x|false",
        "Re|Re|false",
        "Fwd [x]|Fwd [x]|false",
        "Re: [|[|true",
    })
    void extracts(String raw, String base, boolean refwd) {
        assertThat(BaseSubject.of(raw)).isEqualTo(new BaseSubject(base, refwd));
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {"abc|ABC|0", "a|b|-1", "Z|a|1", "é|f|1"})
    void comparesWithAsciiCasemap(String a, String b, int sign) {
        assertThat(Integer.signum(BaseSubject.compare(a, b))).isEqualTo(sign);
    }

    /** RFC 4790 §9.2 i;ascii-casemap: "a" to "z" fold to "A" to "Z", and nothing next to them does. */
    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {"a|A|0", "z|Z|0", "`|@|1", "{|[|1", "{|Z|1"})
    void asciiCasemapFoldsExactlyTheLowerCaseLetters(String a, String b, int sign) {
        assertThat(Integer.signum(BaseSubject.compare(a, b))).isEqualTo(sign);
    }
}
