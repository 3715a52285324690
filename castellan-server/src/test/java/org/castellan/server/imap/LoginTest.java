package org.castellan.server.imap;

import org.castellan.server.testing.Transcript;
import org.junit.jupiter.api.Test;

/** RFC 9051 §6.2.3 LOGIN, docs/design.md §5.1 (no password without TLS unless allowed). */
class LoginTest extends ServerPerTest {

    @Test
    void loginWithQuotedAndLiteralPassword() {
        try (Transcript t = imap.connect("imap")) {
            t.run("""
                    S: \\* OK .*
                    C: a1 LOGIN %s {%d}
                    S: \\+ Ready for literal data
                    C: %s
                    S: a1 OK \\[CAPABILITY .*IDLE.*\\] Logged in
                    C: a2 LOGIN %s x
                    S: a2 BAD Command not valid in this state
                    """.formatted(ImapTestServer.USER, ImapTestServer.PASSWORD.length(), ImapTestServer.PASSWORD,
                    ImapTestServer.USER));
        }
    }

    @Test
    void nonSynchronizingLiteral() {
        try (Transcript t = imap.connect("imap")) {
            t.expect("\\* OK .*");
            t.sendRaw("a1 LOGIN {" + ImapTestServer.USER.length() + "+}\r\n" + ImapTestServer.USER + " \""
                    + ImapTestServer.PASSWORD + "\"\r\n");
            t.expect("a1 OK .*Logged in");
        }
    }

    @Test
    void wrongPasswordThenTooManyFailures() {
        try (Transcript t = imap.connect("imap")) {
            t.run("""
                    S: \\* OK .*
                    C: a1 LOGIN alice@example.org wrong
                    S: a1 NO \\[AUTHENTICATIONFAILED\\] Authentication failed
                    C: a2 LOGIN nobody@example.org wrong
                    S: a2 NO \\[AUTHENTICATIONFAILED\\] Authentication failed
                    C: a3 SELECT INBOX
                    S: a3 BAD Command not valid in this state
                    C: a4 LOGIN alice@example.org wrong
                    S: a4 NO \\[AUTHENTICATIONFAILED\\] Authentication failed
                    S: \\* BYE Too many failed logins
                    S: <closed>
                    """);
        }
    }

    @Test
    void refusedWithoutTlsOnTheStrictListener() {
        try (Transcript t = imap.connect("strict")) {
            t.run("""
                    S: \\* OK .*LOGINDISABLED.*
                    C: a1 LOGIN %s "%s"
                    S: a1 NO \\[PRIVACYREQUIRED\\] Cleartext login not allowed here.*
                    """.formatted(ImapTestServer.USER, ImapTestServer.PASSWORD));
        }
    }

    @Test
    void implicitTls() {
        try (Transcript t = imap.connect("imaps")) {
            t.run("""
                    S: \\* OK .*
                    C: a1 LOGIN %s "%s"
                    S: a1 OK .*Logged in
                    C: a2 LOGOUT
                    S: \\* BYE .*
                    S: a2 OK LOGOUT completed
                    S: <closed>
                    """.formatted(ImapTestServer.USER, ImapTestServer.PASSWORD));
        }
    }
}
