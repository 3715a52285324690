package org.castellan.server.pop3;

import org.castellan.server.testing.Transcript;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** docs/design.md §5.8: bad input gets -ERR and the session goes on, or closes cleanly. */
class BadInputTest {

    @TempDir static Path dir;
    static Pop3TestServer pop3;

    @BeforeAll
    static void start() { pop3 = Pop3TestServer.start(dir); }

    @AfterAll
    static void stop() { pop3.close(); }

    @Test
    void unknownCommandsAndBadArgumentsGetErrAndTheSessionContinues() {
        try (Transcript t = pop3.connect("pop3")) {
            t.run("""
                    S: \\+OK .*
                    C: XTND XMIT
                    S: -ERR Unknown command
                    C: HELO there
                    S: -ERR Unknown command
                    C: CAPA now
                    S: -ERR No arguments expected
                    C: AUTH PL@IN
                    S: -ERR Invalid mechanism name
                    C: QUIT
                    S: \\+OK .*
                    S: <closed>
                    """);
        }
    }

    @Test
    void commandsInTheWrongState() {
        try (Transcript t = pop3.connect("pop3")) {
            t.run("""
                    S: \\+OK .*
                    C: STAT
                    S: -ERR Command not valid in this state
                    C: RETR 1
                    S: -ERR Command not valid in this state
                    C: NOOP
                    S: -ERR Command not valid in this state
                    C: PASS secret
                    S: -ERR USER first
                    """);
        }
        try (Transcript t = pop3.loggedIn()) {
            t.run("""
                    C: USER %s
                    S: -ERR Command not valid in this state
                    C: STLS
                    S: -ERR Command not valid in this state
                    C: AUTH PLAIN
                    S: -ERR Command not valid in this state
                    C: NOOP
                    S: \\+OK
                    """.formatted(Pop3TestServer.USER));
        }
    }

    @Test
    void overlongLineClosesTheConnection() {
        try (Transcript t = pop3.connect("pop3")) {
            t.expect("\\+OK .*");
            t.send("USER " + "a".repeat(300));
            t.run("""
                    S: -ERR Line too long
                    S: <closed>
                    """);
        }
    }

    @Test
    void endlessLineWithoutLineEndClosesTheConnection() {
        try (Transcript t = pop3.connect("pop3")) {
            t.expect("\\+OK .*");
            t.sendRaw("x".repeat(100_000));
            t.run("""
                    S: -ERR Line too long
                    S: <closed>
                    """);
        }
    }

    @Test
    void tooManyErrorsCloseTheConnection() {
        try (Transcript t = pop3.connect("pop3")) {
            t.expect("\\+OK .*");
            for (int i = 1; i < Pop3Session.MAX_ERRORS; i++) {
                t.send("BOGUS");
                t.expect("-ERR Unknown command");
            }
            t.send("BOGUS");
            t.run("""
                    S: -ERR Too many errors, closing connection
                    S: <closed>
                    """);
        }
    }

    @Test
    void bytesThatAreNotAsciiOrUtf8AreJustUnknown() {
        try (Transcript t = pop3.connect("pop3")) {
            t.expect("\\+OK .*");
            t.sendRaw("\u0000\u00ff\u00fe\r\n");
            t.run("""
                    S: -ERR Unknown command
                    C: QUIT
                    S: \\+OK .*
                    """);
        }
    }
}
