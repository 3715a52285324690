package org.castellan.server.imap;

import static org.assertj.core.api.Assertions.assertThat;
import static org.castellan.server.imap.SharedMailboxTest.reply;

import org.castellan.server.testing.Transcript;
import org.junit.jupiter.api.Test;

/**
 * RFC 3501 §2.3.2 \Recent for IMAP4rev1 sessions: exactly one session is told of a message as
 * recent, the first to open the mailbox read-write after it arrived (also across reconnects);
 * EXAMINE shows it without taking it (§6.3.2). RECENT after EXISTS (§7.3.2), SEARCH RECENT, NEW
 * and OLD (§6.4.4), STATUS RECENT (§6.3.10), {@code OK [UNSEEN n]} at SELECT (§6.3.1).
 * IMAP4rev2 has no \Recent (RFC 9051 Appendix E): such a session hears of none.
 */
class RecentTest extends ServerPerTest {

    @Override
    boolean recentMessages() {
        return true;
    }

    @Test
    void theFirstSessionToSelectGetsTheRecentMessages() {
        try (Transcript first = imap.loggedIn(); Transcript second = imap.loggedIn()) {
            first.send("a1 SELECT INBOX");
            assertThat(reply(first, "a1")).contains("* 2 EXISTS", "* 2 RECENT", "* OK [UNSEEN 1] First unseen message");
            first.run("""
                    C: a2 FETCH 1:2 (FLAGS)
                    S: \\* 1 FETCH \\(FLAGS \\(\\\\Recent\\)\\)
                    S: \\* 2 FETCH \\(FLAGS \\(\\\\Recent\\)\\)
                    S: a2 OK FETCH completed
                    C: a3 STORE 1 +FLAGS (\\Seen)
                    S: \\* 1 FETCH \\(FLAGS \\(\\\\Recent \\\\Seen\\) UID %d\\)
                    S: a3 OK STORE completed
                    C: a4 SEARCH RECENT
                    S: \\* SEARCH 1 2
                    S: a4 OK SEARCH completed
                    C: a5 SEARCH NEW
                    S: \\* SEARCH 2
                    S: a5 OK SEARCH completed
                    C: a6 SEARCH OLD
                    S: \\* SEARCH
                    S: a6 OK SEARCH completed
                    """.formatted(firstUid));
            second.send("b1 SELECT INBOX");
            assertThat(reply(second, "b1")).contains("* 2 EXISTS", "* 0 RECENT", "* OK [UNSEEN 2] First unseen message");
            second.run("""
                    C: b2 FETCH 1:2 (FLAGS)
                    S: \\* 1 FETCH \\(FLAGS \\(\\\\Seen\\)\\)
                    S: \\* 2 FETCH \\(FLAGS \\(\\)\\)
                    S: b2 OK FETCH completed
                    C: b3 SEARCH OLD
                    S: \\* SEARCH 1 2
                    S: b3 OK SEARCH completed
                    """);
            // A new message: the first session to be told of it gets it as recent, the other not.
            long third = imap.append("Subject: three\r\n\r\n3\r\n");
            second.send("b4 NOOP");
            assertThat(reply(second, "b4")).containsExactly("* 3 EXISTS", "* 1 RECENT", "b4 OK NOOP completed");
            first.send("a7 NOOP");
            assertThat(reply(first, "a7")).containsExactly("* 3 EXISTS", "* 2 RECENT", "a7 OK NOOP completed");
            second.run("""
                    C: b5 UID FETCH %d (FLAGS)
                    S: \\* 3 FETCH \\(UID %d FLAGS \\(\\\\Recent\\)\\)
                    S: b5 OK FETCH completed
                    """.formatted(third, third));
        }
        // Durable: a new connection gets nothing as recent any more.
        try (Transcript again = imap.loggedIn()) {
            again.send("c1 SELECT INBOX");
            assertThat(reply(again, "c1")).contains("* 3 EXISTS", "* 0 RECENT");
        }
    }

    @Test
    void examineAndStatusShowRecentWithoutTakingIt() {
        try (Transcript reader = imap.loggedIn(); Transcript other = imap.loggedIn()) {
            other.send("o1 STATUS INBOX (MESSAGES RECENT UNSEEN)");
            assertThat(reply(other, "o1")).first().isEqualTo("* STATUS INBOX (MESSAGES 2 RECENT 2 UNSEEN 2)");
            reader.send("r1 EXAMINE INBOX");
            assertThat(reply(reader, "r1")).contains("* 2 EXISTS", "* 2 RECENT");
            reader.run("""
                    C: r2 FETCH 2 (FLAGS)
                    S: \\* 2 FETCH \\(FLAGS \\(\\\\Recent\\)\\)
                    S: r2 OK FETCH completed
                    """);
            other.send("o2 SELECT INBOX");
            assertThat(reply(other, "o2")).contains("* 2 RECENT");
            other.send("o3 STATUS INBOX (RECENT)");
            assertThat(reply(other, "o3")).first().isEqualTo("* STATUS INBOX (RECENT 0)");
        }
    }

    /** RFC 9051 §7.4.1: a rev2 session is told of a new message by EXISTS alone; RECENT is gone (Appendix E). */
    @Test
    void aRev2SessionIsToldOfANewMessageWithoutRecent() {
        try (Transcript rev2 = imap.loggedIn()) {
            rev2.run("""
                    C: a0 ENABLE IMAP4rev2
                    S: \\* ENABLED IMAP4rev2
                    S: a0 OK ENABLE completed
                    """);
            rev2.send("a1 SELECT INBOX");
            assertThat(reply(rev2, "a1")).contains("* 2 EXISTS");
            imap.append("Subject: three\r\n\r\n3\r\n");
            rev2.send("a2 NOOP");
            assertThat(reply(rev2, "a2")).containsExactly("* 3 EXISTS", "a2 OK NOOP completed");
        }
    }

    @Test
    void rev2SessionsHearOfNoRecentButStillTakeThem() {
        try (Transcript rev2 = imap.loggedIn(); Transcript rev1 = imap.loggedIn()) {
            rev2.run("""
                    C: a0 ENABLE IMAP4rev2
                    S: \\* ENABLED IMAP4rev2
                    S: a0 OK ENABLE completed
                    """);
            rev2.send("a1 SELECT INBOX");
            assertThat(reply(rev2, "a1")).noneMatch(l -> l.contains("RECENT") || l.contains("UNSEEN"));
            rev2.run("""
                    C: a2 FETCH 1 (FLAGS)
                    S: \\* 1 FETCH \\(FLAGS \\(\\)\\)
                    S: a2 OK FETCH completed
                    """);
            // The rev2 session was told of the messages first (RFC 3501 §2.3.2).
            rev1.send("b1 SELECT INBOX");
            assertThat(reply(rev1, "b1")).contains("* 0 RECENT");
        }
    }
}
