package org.castellan.server.pop3;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import org.junit.jupiter.api.Test;

/** RFC 5034 AUTH: initial response, "=" for empty, challenges, "*" to cancel, bad base64. */
class AuthTest extends ServerPerTest {

    private static String plain(String user, String password) {
        return Base64.getEncoder().encodeToString(("\0" + user + "\0" + password).getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void plainWithInitialResponse() {
        try (Transcript t = pop3.connect("pop3s")) {
            t.run("""
                    S: \\+OK .*
                    C: AUTH PLAIN %s
                    S: \\+OK Maildrop has 2 messages .*
                    """.formatted(plain(Pop3TestServer.USER, Pop3TestServer.PASSWORD)));
        }
    }

    @Test
    void plainAfterAnEmptyChallenge() {
        try (Transcript t = pop3.connect("pop3s")) {
            t.run("""
                    S: \\+OK .*
                    C: AUTH PLAIN
                    S: \\+ ?
                    C: %s
                    S: \\+OK Maildrop has 2 messages .*
                    """.formatted(plain(Pop3TestServer.USER, Pop3TestServer.PASSWORD)));
        }
    }

    @Test
    void loginMechanismAndWrongPassword() {
        String user = Base64.getEncoder().encodeToString(Pop3TestServer.USER.getBytes(StandardCharsets.UTF_8));
        try (Transcript t = pop3.connect("pop3s")) {
            t.run("""
                    S: \\+OK .*
                    C: AUTH LOGIN
                    S: \\+ .*
                    C: %s
                    S: \\+ .*
                    C: %s
                    S: -ERR \\[AUTH\\] Authentication failed
                    C: AUTH PLAIN %s
                    S: \\+OK .*
                    """.formatted(user, Base64.getEncoder().encodeToString("wrong".getBytes(StandardCharsets.UTF_8)),
                    plain(Pop3TestServer.USER, Pop3TestServer.PASSWORD)));
        }
    }

    @Test
    void cancelBadBase64AndUnknownMechanism() {
        try (Transcript t = pop3.connect("pop3s")) {
            t.run("""
                    S: \\+OK .*
                    C: AUTH PLAIN
                    S: \\+ ?
                    C: *
                    S: -ERR Authentication cancelled
                    C: AUTH PLAIN
                    S: \\+ ?
                    C: %%%%not base64
                    S: -ERR Invalid base64
                    C: AUTH X-UNKNOWN
                    S: -ERR Unsupported authentication mechanism
                    C: AUTH PLAIN =
                    S: -ERR .*
                    """);
        }
    }

    @Test
    void authAloneListsMechanisms() {
        try (Transcript t = pop3.connect("pop3s")) {
            t.run("""
                    S: \\+OK .*
                    C: AUTH
                    S: \\+OK
                    """);
            assertThat(t.readMultiline()).contains("PLAIN", "SCRAM-SHA-256");
        }
        try (Transcript t = pop3.connect("strict")) {
            t.run("""
                    S: \\+OK .*
                    C: AUTH
                    S: \\+OK
                    """);
            assertThat(t.readMultiline()).doesNotContain("PLAIN", "LOGIN");
        }
    }
}
