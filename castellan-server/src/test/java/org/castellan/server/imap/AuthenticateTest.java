package org.castellan.server.imap;

import org.castellan.server.testing.Transcript;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import org.junit.jupiter.api.Test;

/** RFC 9051 §6.2.2 AUTHENTICATE, RFC 4959 SASL-IR. */
class AuthenticateTest extends ServerPerTest {

    private static String plain(String user, String password) {
        return Base64.getEncoder().encodeToString(("\0" + user + "\0" + password).getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void plainWithInitialResponse() {
        try (Transcript t = imap.connect("imap")) {
            t.run("""
                    S: \\* OK .*
                    C: a1 AUTHENTICATE PLAIN %s
                    S: a1 OK \\[CAPABILITY .*\\] Logged in
                    """.formatted(plain(ImapTestServer.USER, ImapTestServer.PASSWORD)));
        }
    }

    @Test
    void plainWithChallengeAndCancel() {
        try (Transcript t = imap.connect("imap")) {
            t.run("""
                    S: \\* OK .*
                    C: a1 AUTHENTICATE PLAIN
                    S: \\+ ?
                    C: *
                    S: a1 BAD Authentication cancelled
                    C: a2 AUTHENTICATE PLAIN
                    S: \\+ ?
                    C: %s
                    S: a2 NO \\[AUTHENTICATIONFAILED\\] Authentication failed
                    C: a3 AUTHENTICATE PLAIN
                    S: \\+ ?
                    C: %s
                    S: a3 OK .*Logged in
                    """.formatted(plain(ImapTestServer.USER, "wrong"), plain(ImapTestServer.USER, ImapTestServer.PASSWORD)));
        }
    }

    @Test
    void invalidBase64AndUnknownMechanism() {
        try (Transcript t = imap.connect("imap")) {
            t.run("""
                    S: \\* OK .*
                    C: a1 AUTHENTICATE PLAIN
                    S: \\+ ?
                    C: !!!
                    S: a1 BAD Invalid base64 in authentication response
                    C: a2 AUTHENTICATE X-UNKNOWN
                    S: a2 NO \\[CANNOT\\] Unsupported authentication mechanism
                    """);
        }
    }

    @Test
    void passwordMechanismRefusedBeforeTls() {
        try (Transcript t = imap.connect("strict")) {
            t.run("""
                    S: \\* OK .*
                    C: a1 AUTHENTICATE PLAIN %s
                    S: a1 NO \\[PRIVACYREQUIRED\\] TLS required.*
                    """.formatted(plain(ImapTestServer.USER, ImapTestServer.PASSWORD)));
        }
    }
}
