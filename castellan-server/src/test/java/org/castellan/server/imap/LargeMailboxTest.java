package org.castellan.server.imap;

import static org.assertj.core.api.Assertions.assertThat;
import static org.castellan.server.imap.SharedMailboxTest.reply;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import org.castellan.server.testing.Transcript;
import org.castellan.store.AppendResult;
import org.castellan.store.MailStore;
import org.castellan.store.MessageMeta;
import org.castellan.store.NewMessage;
import org.castellan.store.UidRange;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A mailbox of the size real ones reach: {@link #MESSAGES} messages seeded through the store in
 * one transaction, then holes expunged (every seventh, a run of a thousand, the last few), so
 * sequence numbers and UIDs drift apart by thousands. SELECT, FETCH by UID and by number across
 * the holes, SEARCH and UID EXPUNGE must answer as RFC 9051 says for any mailbox; every expectation
 * is computed from the UIDs that survive.
 *
 * <p>It runs in every run, on both stores (docs/testing.md, "The 100,000-message mailbox").
 */
class LargeMailboxTest {

    /** Large but not rare: long-lived accounts that never delete reach this many messages. */
    static final int MESSAGES = 100_000;

    @TempDir Path dir;
    ImapTestServer imap;
    /** The surviving UIDs in order: message n has UID {@code uids.get(n - 1)}. */
    List<Long> uids;
    /** The UIDs of the \Flagged messages. */
    List<Long> flagged;
    /** Each surviving message's flags, by UID. */
    Map<Long, Set<String>> flagsOf;
    /** The UID each seeded message was given, expunged or not: appendAll's UIDs are consecutive. */
    List<Long> seeded;

    @BeforeEach
    void seed() {
        imap = ImapTestServer.start(dir);
        MailStore store = imap.store();
        List<NewMessage> messages = new ArrayList<>(MESSAGES);
        for (int i = 0; i < MESSAGES; i++) {
            byte[] content = message(i);
            Set<String> flags = i % 97 == 0 ? Set.of("\\Flagged", "\\Seen") : i % 3 == 0 ? Set.of("\\Seen") : Set.of();
            messages.add(new NewMessage(() -> new ByteArrayInputStream(content), flags, Instant.parse("2024-02-01T10:00:00Z")));
        }
        seeded = store.appendAll(imap.inbox, messages).stream().map(AppendResult::uid).toList();
        List<Long> holes = new ArrayList<>();
        for (int i = 0; i < MESSAGES; i++) {
            if (i % 7 == 3 || (i >= 40_000 && i < 41_000) || i >= MESSAGES - 5) holes.add(seeded.get(i));
        }
        store.expunge(imap.inbox, holes);
        List<MessageMeta> left = store.listMessages(imap.inbox, UidRange.all());
        uids = left.stream().map(MessageMeta::uid).toList();
        flagged = left.stream().filter(m -> m.flags().contains("\\Flagged")).map(MessageMeta::uid).toList();
        flagsOf = left.stream().collect(Collectors.toMap(MessageMeta::uid, MessageMeta::flags));
        store.claimRecent(imap.inbox, uids.getLast());
    }

    /** Message {@code i}'s text: small, as most mail is, with a Subject naming {@code i}. */
    static byte[] message(int i) {
        return ("From: sender" + i % 50 + "@example.net\r\nTo: alice@example.org\r\nSubject: message " + i
                + "\r\nMessage-ID: <" + i + "@example.net>\r\n\r\nbody of message " + i + "\r\n").getBytes(StandardCharsets.US_ASCII);
    }

    @AfterEach
    void stop() {
        imap.close();
    }

    private int msn(long uid) {
        return uids.indexOf(uid) + 1;
    }

    @Test
    void selectFetchSearchAndUidExpungeAcrossTheHoles() {
        var status = imap.store().status(imap.inbox);
        assertThat(status.uidNext()).isGreaterThan(uids.getLast() + 1);
        try (Transcript t = imap.loggedIn()) {
            t.send("s1 SELECT INBOX");
            assertThat(reply(t, "s1")).contains("* %d EXISTS".formatted(uids.size()),
                    "* OK [UIDVALIDITY %d] UIDs valid".formatted(status.uidValidity()),
                    "* OK [UIDNEXT %d] Predicted next UID".formatted(status.uidNext()));

            // A UID range across the run of a thousand expunged messages: only the survivors, each with its number.
            int before = uids.indexOf(appendedUidOf(39_998));
            long from = uids.get(before);
            long to = uids.get(before + 4);
            t.send("f1 UID FETCH %d:%d (UID FLAGS)".formatted(from, to));
            List<String> expected = new ArrayList<>();
            for (int n = before; n <= before + 4; n++) {
                expected.add("* %d FETCH (UID %d FLAGS (%s))".formatted(n + 1, uids.get(n), flags(uids.get(n))));
            }
            expected.add("f1 OK FETCH completed");
            assertThat(reply(t, "f1")).containsExactlyElementsOf(expected);
            assertThat(to - from).as("the range spans the hole").isGreaterThan(1000);

            // By number near the end: the last message is far from its UID.
            int last = uids.size();
            t.send("f2 FETCH %d:* (UID)".formatted(last - 1));
            assertThat(reply(t, "f2")).containsExactly("* %d FETCH (UID %d)".formatted(last - 1, uids.get(last - 2)),
                    "* %d FETCH (UID %d)".formatted(last, uids.get(last - 1)), "f2 OK FETCH completed");
            // A UID range with no message left in it answers nothing (RFC 9051 §6.4.8).
            t.send("f3 UID FETCH %d:%d (UID)".formatted(appendedUidOf(40_100), appendedUidOf(40_200)));
            assertThat(reply(t, "f3")).containsExactly("f3 OK FETCH completed");

            t.send("q1 UID SEARCH FLAGGED");
            assertThat(reply(t, "q1")).containsExactly(
                    "* SEARCH " + flagged.stream().map(String::valueOf).collect(Collectors.joining(" ")), "q1 OK SEARCH completed");
            t.send("q2 SEARCH RETURN (MIN MAX COUNT) FLAGGED");
            assertThat(reply(t, "q2")).containsExactly("* ESEARCH (TAG \"q2\") MIN %d MAX %d COUNT %d".formatted(
                    msn(flagged.getFirst()), msn(flagged.getLast()), flagged.size()), "q2 OK SEARCH completed");
            t.send("q3 SEARCH SUBJECT \"message 77777\"");
            assertThat(reply(t, "q3")).containsExactly("* SEARCH " + msn(appendedUidOf(77_777)), "q3 OK SEARCH completed");

            // UID EXPUNGE of a range across holes: the EXPUNGE responses, applied in order to the
            // client's view, leave exactly the messages outside the range (RFC 9051 §7.5.1).
            int first = uids.indexOf(appendedUidOf(59_999));
            long low = uids.get(first);
            long high = uids.get(first + 20);
            t.send("e1 UID STORE %d:%d +FLAGS.SILENT (\\Deleted)".formatted(low, high));
            assertThat(reply(t, "e1")).containsExactly("e1 OK STORE completed");
            t.send("e2 UID EXPUNGE %d:%d".formatted(low, high));
            List<String> lines = reply(t, "e2");
            assertThat(lines.getLast()).startsWith("e2 OK");
            List<Long> view = new ArrayList<>(uids);
            for (String line : lines.subList(0, lines.size() - 1)) {
                assertThat(line).matches("\\* \\d+ EXPUNGE");
                view.remove(Integer.parseInt(line.split(" ")[1]) - 1);
            }
            List<Long> remaining = new ArrayList<>(uids);
            remaining.removeIf(u -> u >= low && u <= high);
            assertThat(view).isEqualTo(remaining);
            assertThat(lines).hasSize(21 + 1);
            t.send("f4 FETCH %d:%d (UID)".formatted(first, first + 1));
            assertThat(reply(t, "f4")).containsExactly("* %d FETCH (UID %d)".formatted(first, remaining.get(first - 1)),
                    "* %d FETCH (UID %d)".formatted(first + 1, remaining.get(first)), "f4 OK FETCH completed");
        }
        assertThat(imap.store().listMessages(imap.inbox, UidRange.all())).extracting(MessageMeta::uid)
                .hasSize(uids.size() - 21).doesNotContain(uids.get(uids.indexOf(appendedUidOf(59_999)) + 10));
    }

    /** The UID message {@code i} was given when seeded, whether or not it has been expunged since. */
    private long appendedUidOf(int i) {
        return seeded.get(i);
    }

    /** The flags of a message as FETCH FLAGS lists them. */
    private String flags(long uid) {
        return String.join(" ", new TreeSet<>(flagsOf.get(uid)));
    }
}
