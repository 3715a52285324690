package org.castellan.protocol.mail;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Account and alias addresses (RFC 5321 §4.1.2, RFC 6531 §3.3): what is taken, and the reason an operator reads for what is not. */
class EmailAddressTest {

    /** RFC 5321 §4.1.2 Dot-string and Domain, §4.5.3.1.1 and §4.5.3.1.2 lengths; the domain kept in lower case, the key folded. */
    @ParameterizedTest
    @CsvSource(delimiter = ';', quoteCharacter = '"', value = {
            "Alice@Example.ORG;Alice@example.org;alice@example.org",
            "a!#$%&'*+-/=?^_`{|}~z@x-1.example;a!#$%&'*+-/=?^_`{|}~z@x-1.example;a!#$%&'*+-/=?^_`{|}~z@x-1.example",
            "jösé@exämple.org;jösé@exämple.org;jösé@exämple.org",
    })
    void takesDotStringsAndDomains(String text, String shown, String key) {
        EmailAddress a = EmailAddress.of(text);
        assertThat(a).hasToString(shown);
        assertThat(a.key()).isEqualTo(key);
    }

    @ParameterizedTest
    @CsvSource(delimiter = ';', quoteCharacter = '"', value = {
            "@example.org;'@example.org' is not an address of the form local@domain",
            "alice@;'alice@' is not an address of the form local@domain",
            ".a@example.org;'.a@example.org': the local part has a leading, trailing or double dot",
            "a.@example.org;'a.@example.org': the local part has a leading, trailing or double dot",
            "a..b@example.org;'a..b@example.org': the local part has a leading, trailing or double dot",
            "a(b@example.org;'a(b@example.org': the local part contains '('",
            "a@example..org;'a@example..org': the domain has an empty label",
            "a@-x.example;'a@-x.example': a domain label starts or ends with '-'",
            "a@x-.example;'a@x-.example': a domain label starts or ends with '-'",
            "a@b@example.org;'a@b@example.org': the local part contains '@'",
            "a@x_y.example;'a@x_y.example': the domain contains '_'",
    })
    void refusesWithTheReason(String text, String reason) {
        EmailAddress.Parsed p = EmailAddress.parse(text);
        assertThat(p.ok()).isFalse();
        assertThat(p.error()).isEqualTo(reason);
        assertThatThrownBy(() -> EmailAddress.of(text)).isInstanceOf(IllegalArgumentException.class).hasMessage(reason);
    }

    /** RFC 5321 §4.5.3.1.1: a local part is at most 64 octets; RFC 1035 §2.3.4: a label 63, a name 255. */
    @Test
    void lengthsAreTakenToTheirLimits() {
        assertThat(EmailAddress.parse("l".repeat(EmailAddress.MAX_LOCAL_PART) + "@example.org").ok()).isTrue();
        assertThat(EmailAddress.parse("l".repeat(EmailAddress.MAX_LOCAL_PART + 1) + "@example.org").error())
                .endsWith("the local part is longer than 64 characters");
        assertThat(EmailAddress.isValidDomain("d".repeat(63) + ".example")).isTrue();
        assertThat(EmailAddress.parse("a@" + "d".repeat(64) + ".example").error()).endsWith("a domain label is longer than 63 characters");
        String longest = String.join(".", "a".repeat(63), "b".repeat(63), "c".repeat(63), "d".repeat(63));
        assertThat(longest).hasSize(EmailAddress.MAX_DOMAIN);
        assertThat(EmailAddress.isValidDomain(longest)).isTrue();
        assertThat(EmailAddress.parse("a@x" + longest).error()).endsWith("the domain is longer than 255 characters");
        assertThat(EmailAddress.parse("").error()).isEqualTo("an address is empty");
        assertThat(EmailAddress.parse(null).error()).isEqualTo("an address is empty");
    }

    /** A control character in a refused address is named in a form an operator's terminal shows. */
    @Test
    void controlCharactersAreNamedPrintably() {
        assertThat(EmailAddress.parse("a\tb@example.org").error()).isEqualTo("'a\tb@example.org': the local part contains '\\x09'");
        assertThat(EmailAddress.parse("ab@exa\u007fmple.org").error()).endsWith("the domain contains '\\x7f'");
        assertThat(EmailAddress.parse("a b@example.org").error()).endsWith("the local part contains ' '");
        assertThat(EmailAddress.parse("a\u001fb@example.org").error()).endsWith("the local part contains '\\x1f'");
    }
}
