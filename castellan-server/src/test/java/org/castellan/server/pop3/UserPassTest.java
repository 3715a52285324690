package org.castellan.server.pop3;

import org.castellan.server.testing.Transcript;
import java.time.Duration;
import static org.awaitility.Awaitility.await;

import org.junit.jupiter.api.Test;

/** RFC 1939 §7 USER/PASS, RFC 3206 [AUTH], and RFC 2449 [IN-USE]. */
class UserPassTest extends ServerPerTest {

    @Test
    void rfcExampleAndWrongPassword() {
        try (Transcript t = pop3.connect("pop3")) {
            t.run("""
                    S: \\+OK .*
                    C: USER %s
                    S: \\+OK.*
                    C: PASS wrong password
                    S: -ERR \\[AUTH\\] Authentication failed
                    C: USER nobody@example.org
                    S: \\+OK.*
                    C: PASS %s
                    S: -ERR \\[AUTH\\] Authentication failed
                    C: USER %s
                    S: \\+OK.*
                    C: PASS %s
                    S: \\+OK Maildrop has 2 messages \\(%d octets\\)
                    """.formatted(Pop3TestServer.USER, Pop3TestServer.PASSWORD, Pop3TestServer.USER,
                    Pop3TestServer.PASSWORD, totalSize()));
        }
    }

    /** RFC 1939 §7: PASS is given only immediately after a successful USER; any command between ends that. */
    @Test
    void passOnlyRightAfterUser() {
        try (Transcript t = pop3.connect("pop3")) {
            t.run("""
                    S: \\+OK .*
                    C: USER %s
                    S: \\+OK.*
                    C: CAPA
                    S: \\+OK Capability list follows
                    """.formatted(Pop3TestServer.USER));
            t.readMultiline();
            t.run("""
                    C: PASS %s
                    S: -ERR USER first
                    C: USER %s
                    S: \\+OK.*
                    C: PASS %s
                    S: \\+OK Maildrop has 2 messages .*
                    """.formatted(Pop3TestServer.PASSWORD, Pop3TestServer.USER, Pop3TestServer.PASSWORD));
        }
    }

    @Test
    void userAddressIsCaseInsensitive() {
        try (Transcript t = pop3.connect("pop3")) {
            t.run("""
                    S: \\+OK .*
                    C: USER Alice@Example.ORG
                    S: \\+OK.*
                    C: PASS %s
                    S: \\+OK Maildrop has 2 messages .*
                    """.formatted(Pop3TestServer.PASSWORD));
        }
    }

    @Test
    void secondSessionForTheSameAccountIsInUse() {
        try (Transcript first = pop3.loggedIn(); Transcript second = pop3.connect("pop3")) {
            second.run("""
                    S: \\+OK .*
                    C: USER %s
                    S: \\+OK.*
                    C: PASS %s
                    S: -ERR \\[IN-USE\\] .*
                    """.formatted(Pop3TestServer.USER, Pop3TestServer.PASSWORD));
            // Another account is not affected.
            second.run("""
                    C: USER %s
                    S: \\+OK.*
                    C: PASS %s
                    S: \\+OK Maildrop has 0 messages .*
                    """.formatted(Pop3TestServer.OTHER, Pop3TestServer.PASSWORD));
            first.run("""
                    C: QUIT
                    S: \\+OK .*
                    """);
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> pop3.server.sessions().size() == 0);
        try (Transcript third = pop3.loggedIn()) {
            third.run("""
                    C: STAT
                    S: \\+OK 2 .*
                    """);
        }
    }

    @Test
    void passwordNeverAcceptedInCleartextOnTheStrictListener() {
        try (Transcript t = pop3.connect("strict")) {
            t.run("""
                    S: \\+OK .*
                    C: USER %s
                    S: -ERR \\[AUTH\\] .*
                    C: PASS %s
                    S: -ERR USER first
                    C: AUTH PLAIN %s
                    S: -ERR .*
                    C: STAT
                    S: -ERR Command not valid in this state
                    """.formatted(Pop3TestServer.USER, Pop3TestServer.PASSWORD, java.util.Base64.getEncoder()
                    .encodeToString(("\0" + Pop3TestServer.USER + "\0" + Pop3TestServer.PASSWORD).getBytes())));
        }
    }

    @Test
    void threeFailuresCloseTheConnection() {
        try (Transcript t = pop3.connect("pop3")) {
            t.expect("\\+OK .*");
            for (int i = 0; i < Pop3Session.MAX_AUTH_FAILURES; i++) {
                t.send("USER " + Pop3TestServer.USER);
                t.expect("\\+OK.*");
                t.send("PASS nope" + i);
                t.expect("-ERR .*");
            }
            t.run("S: <closed>");
        }
    }
}
