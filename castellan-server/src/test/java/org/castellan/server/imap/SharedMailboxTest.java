package org.castellan.server.imap;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import java.util.Set;
import org.castellan.protocol.mail.EmailAddress;
import org.castellan.server.testing.Transcript;
import org.castellan.store.FlagOperation;
import org.castellan.store.Flags;
import org.junit.jupiter.api.Test;

/**
 * Two sessions on one mailbox. RFC 9051 §5.2 and RFC 3501 §5.2: a change another session
 * committed before a command starts is reported by the end of that command, even while the
 * store's event is still on its way (held back here with {@link HeldEvents}). RFC 9051 §7.5.1 and
 * RFC 3501 §7.4.1: no EXPUNGE while responding to FETCH, STORE or SEARCH, also when they fail;
 * the UID forms may carry it. RFC 2180 §4.1.2: a FETCH naming a message expunged elsewhere returns
 * the messages that still exist and a tagged NO.
 */
class SharedMailboxTest extends ServerPerTest {

    /** The lines of the reply to {@code tag}: its untagged lines, then the tagged one. */
    static List<String> reply(Transcript t, String tag) {
        List<String> lines = new ArrayList<>();
        String line;
        while (!(line = t.readLine()).startsWith(tag + " ")) lines.add(line);
        lines.add(line);
        return lines;
    }

    /*
     * The other session here is the store's own API, as SMTP delivery, POP3 or another IMAP
     * session use it: its write returns once committed, its events held back. (An IMAP session
     * writing in the selected mailbox waits for its own events before its OK, so it cannot be the
     * writer while they are held.)
     */

    @Test
    void noopReportsAFlagChangeCommittedBeforeIt() {
        try (HeldEvents events = HeldEvents.on(imap, imap.inbox); Transcript watcher = imap.selected()) {
            events.hold();
            imap.store().storeFlags(imap.inbox, List.of(secondUid), FlagOperation.ADD, Set.of(Flags.FLAGGED), OptionalLong.empty());
            events.sendThenRelease(watcher, "w1 NOOP");
            assertThat(reply(watcher, "w1")).containsExactly(
                    "* 2 FETCH (FLAGS (\\Flagged) UID %d)".formatted(secondUid), "w1 OK NOOP completed");
            events.hold();
            imap.store().storeFlags(imap.inbox, List.of(firstUid), FlagOperation.ADD, Set.of(Flags.SEEN), OptionalLong.empty());
            // CHECK (RFC 3501 §6.4.1) has nothing to write out here; it synchronizes all the same.
            events.sendThenRelease(watcher, "w2 CHECK");
            assertThat(reply(watcher, "w2")).containsExactly(
                    "* 1 FETCH (FLAGS (\\Seen) UID %d)".formatted(firstUid), "w2 OK CHECK completed");
            events.hold();
            long third = imap.append("Subject: three\r\n\r\n3\r\n");
            imap.store().expunge(imap.inbox, List.of(firstUid));
            events.sendThenRelease(watcher, "w3 NOOP");
            assertThat(reply(watcher, "w3")).containsExactly("* 3 EXISTS", "* 1 EXPUNGE", "* 1 RECENT",
                    "w3 OK NOOP completed");
            watcher.run("""
                    C: w4 FETCH 2 (UID)
                    S: \\* 2 FETCH \\(UID %d\\)
                    S: w4 OK FETCH completed
                    """.formatted(third));
        }
    }

    @Test
    void moveIntoTheSelectedMailboxIsReportedByTheNextNoop() {
        long archive = imap.store().getMailbox(imap.store().getAccount(
                EmailAddress.of(ImapTestServer.USER)).orElseThrow().id(), "Archive").orElseThrow().id();
        long archived = imap.append(archive, "Subject: archived\r\n\r\nold\r\n", Set.of());
        try (HeldEvents events = HeldEvents.on(imap, imap.inbox); Transcript watcher = imap.selected()) {
            events.hold();
            imap.store().move(archive, List.of(archived), imap.inbox);
            events.sendThenRelease(watcher, "w1 NOOP");
            // RFC 3501 §7.3.2: the watcher is the first session told of it, so it is recent there.
            assertThat(reply(watcher, "w1")).containsExactly("* 3 EXISTS", "* 1 RECENT", "w1 OK NOOP completed");
        }
    }

    @Test
    void moveWithinTheSelectedMailboxReportsBothSides() {
        long next = uidNext();
        try (HeldEvents events = HeldEvents.on(imap, imap.inbox); Transcript t = imap.selected()) {
            events.hold();
            // RFC 6851 §3.3 and RFC 9051 §6.3.12: the message leaves as message 1 and comes back as
            // message 2 with a new UID; the client hears both before the OK.
            events.sendThenRelease(t, "m1 MOVE 1 INBOX");
            assertThat(reply(t, "m1")).containsExactly(
                    "* OK [COPYUID %d %d %d] Moved".formatted(imap.store().status(imap.inbox).uidValidity(), firstUid, next),
                    "* 1 EXPUNGE", "* 2 EXISTS", "* 1 RECENT", "m1 OK MOVE completed");
        }
    }

    @Test
    void ownAppendIsReportedBeforeItsOk() {
        long next = uidNext();
        try (HeldEvents events = HeldEvents.on(imap, imap.inbox); Transcript t = imap.selected()) {
            events.hold();
            events.sendThenRelease(t, "a1 APPEND INBOX {14+}\r\nSubject: new\r\n");
            assertThat(reply(t, "a1")).containsExactly("* 3 EXISTS", "* 1 RECENT",
                    "a1 OK [APPENDUID %d %d] APPEND completed".formatted(imap.store().status(imap.inbox).uidValidity(), next));
        }
    }

    @Test
    void noExpungeWhileFetchStoreOrSearchFail() {
        try (Transcript watcher = imap.loggedIn(); Transcript actor = imap.selected(); Transcript idler = imap.selected()) {
            watcher.send("w0 EXAMINE INBOX");
            reply(watcher, "w0");
            idler.run("""
                    C: i1 IDLE
                    S: \\+ idling
                    """);
            actor.run("""
                    C: a1 STORE 1 +FLAGS.SILENT (\\Deleted)
                    S: a1 OK STORE completed
                    C: a2 EXPUNGE
                    S: \\* 1 EXPUNGE
                    S: a2 OK EXPUNGE completed
                    """);
            // The expunge has reached the sessions: the idler was told.
            idler.run("""
                    S: \\* 1 FETCH .*
                    S: \\* 1 EXPUNGE
                    """);
            // RFC 9051 §7.5.1: message 1 is still message 1 for the watcher during these.
            watcher.send("w1 STORE 1 +FLAGS (\\Seen)");
            assertThat(reply(watcher, "w1")).noneMatch(l -> l.endsWith("EXPUNGE")).last().asString()
                    .startsWith("w1 NO [READ-ONLY]");
            watcher.send("w2 SEARCH CHARSET KOI8-R ALL");
            assertThat(reply(watcher, "w2")).noneMatch(l -> l.endsWith("EXPUNGE")).last().asString()
                    .startsWith("w2 NO [BADCHARSET");
            watcher.send("w3 FETCH 1:2 (UID FLAGS)");
            assertThat(reply(watcher, "w3")).containsExactly("* 2 FETCH (UID %d FLAGS ())".formatted(secondUid),
                    "w3 NO [EXPUNGEISSUED] Some of the requested messages no longer exist");
            watcher.send("w4 SEARCH ALL");
            assertThat(reply(watcher, "w4")).noneMatch(l -> l.endsWith("EXPUNGE"));
            // The UID forms may report it (RFC 9051 §7.5.1), and so may NOOP.
            watcher.send("w5 UID SEARCH ALL");
            assertThat(reply(watcher, "w5")).containsExactly("* SEARCH %d".formatted(secondUid), "* 1 EXPUNGE",
                    "w5 OK SEARCH completed");
        }
    }
}
