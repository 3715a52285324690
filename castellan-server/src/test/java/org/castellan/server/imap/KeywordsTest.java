package org.castellan.server.imap;

import static org.assertj.core.api.Assertions.assertThat;
import static org.castellan.server.imap.SharedMailboxTest.reply;

import java.util.Set;
import org.castellan.server.testing.Transcript;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * RFC 9051 §7.3.5 and RFC 3501 §7.2.6 FLAGS: the flags applicable in the mailbox, keywords in use
 * included; RFC 9051 §7.1 PERMANENTFLAGS with {@code \*}: new keywords may be created. A keyword
 * new to the mailbox, set by STORE or arriving with a message, is announced to every session
 * with a new FLAGS (and PERMANENTFLAGS) before a response that carries it.
 */
class KeywordsTest extends ServerPerTest {

    static final String SYSTEM = "\\Answered \\Flagged \\Deleted \\Seen \\Draft";
    long forwarded;

    @BeforeEach
    void aMessageWithAKeyword() {
        forwarded = imap.append(imap.inbox, "Subject: fwd\r\n\r\nfwd\r\n", Set.of("$Forwarded"));
        imap.store().claimRecent(imap.inbox, forwarded); // another session saw it: no \Recent here
    }

    @Test
    void selectListsTheKeywordsInUse() {
        try (Transcript t = imap.loggedIn()) {
            t.send("a1 SELECT INBOX");
            assertThat(reply(t, "a1"))
                    .contains("* FLAGS (" + SYSTEM + " $Forwarded)")
                    .contains("* OK [PERMANENTFLAGS (" + SYSTEM + " $Forwarded \\*)] Flags permitted");
            t.send("a2 EXAMINE INBOX");
            assertThat(reply(t, "a2"))
                    .contains("* FLAGS (" + SYSTEM + " $Forwarded)")
                    .contains("* OK [PERMANENTFLAGS ()] Flags permitted");
        }
    }

    @Test
    void aNewKeywordIsAnnouncedToEverySession() {
        try (Transcript actor = imap.selected(); Transcript watcher = imap.selected()) {
            actor.send("a1 STORE 1 +FLAGS (Project-X)");
            assertThat(reply(actor, "a1")).containsExactly(
                    "* FLAGS (" + SYSTEM + " $Forwarded Project-X)",
                    "* OK [PERMANENTFLAGS (" + SYSTEM + " $Forwarded Project-X \\*)] Flags permitted",
                    "* 1 FETCH (FLAGS (Project-X) UID %d)".formatted(firstUid),
                    "a1 OK STORE completed");
            watcher.send("w1 NOOP");
            assertThat(reply(watcher, "w1")).containsExactly(
                    "* FLAGS (" + SYSTEM + " $Forwarded Project-X)",
                    "* OK [PERMANENTFLAGS (" + SYSTEM + " $Forwarded Project-X \\*)] Flags permitted",
                    "* 1 FETCH (FLAGS (Project-X) UID %d)".formatted(firstUid),
                    "w1 OK NOOP completed");
            // A known keyword is not announced again.
            actor.send("a2 STORE 2 +FLAGS.SILENT (Project-X)");
            assertThat(reply(actor, "a2")).containsExactly("a2 OK STORE completed");
            // A message arriving with a new keyword: FLAGS before the EXISTS that brings it.
            actor.sendRaw("a3 APPEND INBOX (Urgent) {14+}\r\nSubject: new\r\n\r\n");
            assertThat(reply(actor, "a3")).startsWith(
                    "* FLAGS (" + SYSTEM + " $Forwarded Project-X Urgent)",
                    "* OK [PERMANENTFLAGS (" + SYSTEM + " $Forwarded Project-X Urgent \\*)] Flags permitted",
                    "* 4 EXISTS");
            watcher.send("w2 NOOP");
            assertThat(reply(watcher, "w2")).startsWith(
                    "* FLAGS (" + SYSTEM + " $Forwarded Project-X Urgent)",
                    "* OK [PERMANENTFLAGS (" + SYSTEM + " $Forwarded Project-X Urgent \\*)] Flags permitted",
                    "* 4 EXISTS", "* 0 RECENT",
                    "* 2 FETCH (FLAGS (Project-X) UID %d)".formatted(secondUid));
        }
    }
}
