package org.castellan.server.imap;

import org.castellan.server.testing.Transcript;
import org.junit.jupiter.api.Test;

/** RFC 9051 §6.2.1 STARTTLS and docs/design.md §5.4: nothing pipelined behind STARTTLS is acted upon. */
class StartTlsTest extends ServerPerTest {

    @Test
    void commandsPipelinedBehindStartTlsAreDiscarded() {
        try (Transcript t = imap.connect("imap")) {
            t.expect("\\* OK .*");
            t.sendRaw("a1 STARTTLS\r\na2 LOGIN " + ImapTestServer.USER + " \"" + ImapTestServer.PASSWORD + "\"\r\n");
            t.expect("a1 OK Begin TLS negotiation now");
            t.upgradeToTls();
            // Had a2 been acted upon, the session would be authenticated and SELECT would work.
            t.run("""
                    C: a3 SELECT INBOX
                    S: a3 BAD Command not valid in this state
                    """);
        }
    }

    @Test
    void loginAfterStartTlsOnTheStrictListenerAndNoSecondStartTls() {
        try (Transcript t = imap.connect("strict")) {
            t.run("""
                    S: \\* OK .*
                    C: a1 STARTTLS
                    S: a1 OK Begin TLS negotiation now
                    """);
            t.upgradeToTls();
            t.run("""
                    C: a2 STARTTLS
                    S: a2 BAD TLS is already active
                    C: a3 LOGIN %s "%s"
                    S: a3 OK .*Logged in
                    """.formatted(ImapTestServer.USER, ImapTestServer.PASSWORD));
        }
        try (Transcript t = imap.connect("imaps")) {
            t.run("""
                    S: \\* OK .*
                    C: a1 STARTTLS
                    S: a1 BAD TLS is already active
                    """);
        }
    }
}
