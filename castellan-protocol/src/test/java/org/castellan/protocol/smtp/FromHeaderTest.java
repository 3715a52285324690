package org.castellan.protocol.smtp;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

class FromHeaderTest {

    private static List<String> from(String message) {
        byte[] b = message.getBytes(StandardCharsets.UTF_8);
        return FromHeader.addresses(b, b.length);
    }

    @Test
    void findsAddressesInEveryForm() {
        assertThat(from("From: alice@example.org\r\nTo: b@c\r\n\r\nbody\r\n")).containsExactly("alice@example.org");
        assertThat(from("Subject: x\r\nfrom: \"Smith, Alice\" <alice@example.org>, bob@example.org (Bob)\r\n\r\n"))
                .containsExactly("alice@example.org", "bob@example.org");
        assertThat(from("From: =?utf-8?q?J=C3=B6rg?=\r\n <joerg@example.org>\r\n\r\n")).containsExactly("joerg@example.org");
        assertThat(from("From: friends: a@x.example, b@y.example;\r\n\r\n")).containsExactly("a@x.example", "b@y.example");
    }

    @Test
    void onlyTheHeaderSectionCounts() {
        assertThat(from("Subject: none\r\n\r\nFrom: mallory@evil.example\r\n")).isEmpty();
        assertThat(from("Subject: none\r\nFrom-Alias: x@y\r\n\r\n")).isEmpty();
    }
}
