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
}
