package org.castellan.server.imap;

import org.castellan.protocol.imap.ImapParser;
import org.castellan.server.testing.Transcript;
import org.junit.jupiter.api.Test;

/** docs/design.md §5.8: bad input gets BAD and the session goes on, or BYE and a clean close. */
class BadInputTest extends ServerPerTest {

    @Test
    void syntaxErrorsAreBadAndTheSessionContinues() {
        try (Transcript t = imap.connect("imap")) {
            t.run("""
                    S: \\* OK .*
                    C: a1 FROB
                    S: a1 BAD Unknown command
                    C: +++
                    S: \\* BAD Missing or invalid tag
                    C: a2 LOGIN
                    S: a2 BAD Missing argument
                    C: a3 SELECT INBOX
                    S: a3 BAD Command not valid in this state
                    C: a4 NOOP extra
                    S: a4 BAD Unexpected characters at end of command
                    C: a5 NOOP
                    S: a5 OK NOOP completed
                    """);
        }
    }

    /**
     * RFC 9051 §9 seq-number: "*" is the number of messages in a non-empty mailbox; in an empty
     * one no sequence number is valid, so "*" is BAD (a UID set matches nothing and is fine).
     */
    @Test
    void starInAnEmptyMailboxIsBad() {
        try (Transcript t = imap.loggedIn()) {
            t.send("s1 SELECT Archive");
            while (!t.readLine().startsWith("s1 OK")) {
                // untagged SELECT data
            }
            t.run("""
                    C: a1 MOVE * Trash
                    S: a1 BAD Invalid message sequence number
                    C: a2 COPY * Trash
                    S: a2 BAD Invalid message sequence number
                    C: a3 FETCH * FLAGS
                    S: a3 BAD Invalid message sequence number
                    C: a4 STORE * +FLAGS (\\Seen)
                    S: a4 BAD Invalid message sequence number
                    C: a5 UID FETCH * FLAGS
                    S: a5 OK FETCH completed
                    C: a6 NOOP
                    S: a6 OK NOOP completed
                    """);
        }
    }

    @Test
    void oversizedLineIsBadAndTheSessionContinues() {
        try (Transcript t = imap.connect("imap")) {
            t.expect("\\* OK .*");
            t.send("a1 NOOP " + "x".repeat(ImapParser.MAX_LINE));
            t.run("""
                    S: a1 BAD \\[TOOBIG\\] Line too long
                    C: a2 NOOP
                    S: a2 OK NOOP completed
                    """);
        }
    }

    @Test
    void bigLiteralBeforeLoginIsRefused() {
        try (Transcript t = imap.connect("imap")) {
            t.run("""
                    S: \\* OK .*
                    C: a1 LOGIN {100000}
                    S: a1 BAD \\[TOOBIG\\] Literal too large
                    C: a2 LOGIN {100000+}
                    S: \\* BYE \\[TOOBIG\\] Literal too large
                    S: <closed>
                    """);
        }
    }

    @Test
    void tooManyErrorsCloseTheConnection() {
        try (Transcript t = imap.connect("imap")) {
            t.expect("\\* OK .*");
            for (int i = 1; i < ImapSession.MAX_ERRORS; i++) {
                t.send("b" + i + " FROB");
                t.expect("b" + i + " BAD Unknown command");
            }
            t.send("x FROB");
            t.run("""
                    S: \\* BYE Too many errors, closing connection
                    S: <closed>
                    """);
        }
    }
}
