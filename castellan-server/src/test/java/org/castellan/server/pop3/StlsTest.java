package org.castellan.server.pop3;

import org.castellan.server.testing.Transcript;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** RFC 2595 §4 STLS, and docs/design.md §5.4: nothing pipelined behind STLS is acted upon. */
class StlsTest {

    @TempDir static Path dir;
    static Pop3TestServer pop3;

    @BeforeAll
    static void start() { pop3 = Pop3TestServer.start(dir); }

    @AfterAll
    static void stop() { pop3.close(); }

    @Test
    void commandsPipelinedBehindStlsAreDiscarded() {
        try (Transcript t = pop3.connect("pop3")) {
            t.expect("\\+OK .*");
            // An attacker in the path appends a command to the client's STLS packet.
            t.sendRaw("STLS\r\nUSER " + Pop3TestServer.USER + "\r\nPASS " + Pop3TestServer.PASSWORD + "\r\n");
            t.expect("\\+OK Begin TLS negotiation");
            t.upgradeToTls();
            // Had PASS been acted upon, the session would be in TRANSACTION and STAT would work.
            t.run("""
                    C: STAT
                    S: -ERR Command not valid in this state
                    C: PASS whatever
                    S: -ERR USER first
                    """);
        }
    }

    @Test
    void stlsTwiceAndOnImplicitTlsIsRefused() {
        try (Transcript t = pop3.connect("strict")) {
            t.run("""
                    S: \\+OK .*
                    C: STLS
                    S: \\+OK Begin TLS negotiation
                    """);
            t.upgradeToTls();
            t.run("""
                    C: STLS
                    S: -ERR Command not permitted when TLS active
                    """);
        }
        try (Transcript t = pop3.connect("pop3s")) {
            t.run("""
                    S: \\+OK .*
                    C: STLS
                    S: -ERR Command not permitted when TLS active
                    """);
        }
    }

    @Test
    void loginAfterStlsOnTheStrictListener() {
        try (Transcript t = pop3.connect("strict")) {
            t.run("""
                    S: \\+OK .*
                    C: USER %s
                    S: -ERR \\[AUTH\\] Cleartext login not allowed here.*
                    C: STLS
                    S: \\+OK Begin TLS negotiation
                    """.formatted(Pop3TestServer.USER));
            t.upgradeToTls();
            t.run("""
                    C: USER %s
                    S: \\+OK.*
                    C: PASS %s
                    S: \\+OK Maildrop has \\d+ messages \\(\\d+ octets\\)
                    C: QUIT
                    S: \\+OK .*
                    """.formatted(Pop3TestServer.USER, Pop3TestServer.PASSWORD));
        }
    }
}
