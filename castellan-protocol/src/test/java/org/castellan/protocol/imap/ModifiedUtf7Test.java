package org.castellan.protocol.imap;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** RFC 3501 §5.1.3 modified UTF-7, with its example. */
class ModifiedUtf7Test {

    @Test
    void rfcExampleRoundTrips() {
        String name = "~peter/mail/\u53f0\u5317/\u65e5\u672c\u8a9e";
        assertThat(ModifiedUtf7.encode(name)).isEqualTo("~peter/mail/&U,BTFw-/&ZeVnLIqe-");
        assertThat(ModifiedUtf7.decode("~peter/mail/&U,BTFw-/&ZeVnLIqe-")).contains(name);
    }

    @Test
    void ampersandAndAscii() {
        assertThat(ModifiedUtf7.encode("Tom & Jerry")).isEqualTo("Tom &- Jerry");
        assertThat(ModifiedUtf7.decode("Tom &- Jerry")).contains("Tom & Jerry");
        assertThat(ModifiedUtf7.encode("Entw\u00fcrfe")).isEqualTo("Entw&APw-rfe");
    }

    @Test
    void invalidIsEmpty() {
        assertThat(ModifiedUtf7.decode("&U,BTFw")).isEmpty();
        assertThat(ModifiedUtf7.decode("&!!-")).isEmpty();
        assertThat(ModifiedUtf7.decode("&AA-")).isEmpty();
    }

    /** RFC 3501 §5.1.3's own counter-examples, and the other forms {@code encode} never gives. */
    @Test
    void onlyTheCanonicalFormIsValid() {
        // "does not contain a shift to US-ASCII before the "!"": the correct form is "&Jjo-!".
        assertThat(ModifiedUtf7.decode("&Jjo!")).isEmpty();
        assertThat(ModifiedUtf7.decode("&Jjo-!")).contains("\u263a!");
        // "contains a superfluous shift": the correct form is "&U,BTF2XlZyyKng-".
        assertThat(ModifiedUtf7.decode("&U,BTFw-&ZeVnLIqe-")).isEmpty();
        assertThat(ModifiedUtf7.decode("&U,BTF2XlZyyKng-")).contains("\u53f0\u5317\u65e5\u672c\u8a9e");
        // Modified BASE64 MUST NOT encode a printing US-ASCII character ("a" here).
        assertThat(ModifiedUtf7.decode("&AGE-")).isEmpty();
        // Characters outside US-ASCII travel encoded, never as 8-bit octets; control characters are encoded too.
        assertThat(ModifiedUtf7.decode("Entw\u00fcrfe")).isEmpty();
        assertThat(ModifiedUtf7.decode("a&AA0-b")).contains("a\rb");
        // Padding bits that are not zero, and an unpaired surrogate.
        assertThat(ModifiedUtf7.decode("&Jjp-")).isEmpty();
        assertThat(ModifiedUtf7.decode("&2AA-")).isEmpty();
    }
}
