package org.castellan.server.imap;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.OptionalLong;
import java.util.Set;
import org.castellan.server.testing.Transcript;
import org.castellan.store.FlagOperation;
import org.castellan.store.Flags;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * RFC 7162 §3.2 QRESYNC: ENABLE, SELECT (QRESYNC ...), UID FETCH (CHANGEDSINCE n VANISHED), and
 * VANISHED instead of EXPUNGE, for this session's expunges and for other sessions' (NOOP, IDLE).
 * The dialogues follow the RFC's examples with this mailbox's UIDs and MODSEQs.
 */
class QresyncTest extends ServerPerTest {

    long uidValidity;
    /** The MODSEQ the client last saw: after the two messages of ServerPerTest. */
    long known;
    long third;
    long fourth;
    long fifth;
    /** UIDNEXT after the changes. */
    long next;

    /**
     * The fixture's two messages were there when the client last synchronized; then a third,
     * fourth and fifth came, the third was read, the second and fourth expunged. The expunged
     * gaps the fixture left before are older than what the client knows, so never VANISHED.
     */
    @BeforeEach
    void changeTheMailboxSinceTheClientLastSawIt() {
        var st = imap.store().status(imap.inbox);
        uidValidity = st.uidValidity();
        known = st.highestModSeq();
        third = imap.append("Subject: three\r\n\r\n3\r\n");
        fourth = imap.append("Subject: four\r\n\r\n4\r\n");
        fifth = imap.append("Subject: five\r\n\r\n5\r\n");
        imap.store().storeFlags(imap.inbox, List.of(third), FlagOperation.ADD, Set.of(Flags.SEEN), OptionalLong.empty());
        imap.store().expunge(imap.inbox, List.of(secondUid, fourth));
        imap.store().claimRecent(imap.inbox, fifth); // another client was told of them: no \Recent here
        next = uidNext();
    }

    private long modSeq(long uid) {
        return imap.store().listMessages(imap.inbox, org.castellan.store.UidRange.of(uid)).get(0).modSeq();
    }

    @Test
    void selectWithQresyncReportsVanishedThenChangedMessages() {
        long highest = imap.store().status(imap.inbox).highestModSeq();
        try (Transcript t = imap.loggedIn()) {
            t.run("""
                    C: a1 ENABLE QRESYNC
                    S: \\* ENABLED QRESYNC
                    S: a1 OK ENABLE completed
                    C: a2 SELECT INBOX (QRESYNC (%1$d %2$d %3$d:%4$d))
                    S: \\* 3 EXISTS
                    S: \\* 0 RECENT
                    S: \\* OK \\[UNSEEN 1\\] .*
                    S: \\* FLAGS .*
                    S: \\* OK \\[PERMANENTFLAGS .*
                    S: \\* OK \\[UIDVALIDITY %1$d\\] UIDs valid
                    S: \\* OK \\[UIDNEXT %5$d\\] Predicted next UID
                    S: \\* OK \\[HIGHESTMODSEQ %6$d\\] Highest
                    S: \\* OK \\[URLMECH INTERNAL\\] .*
                    S: \\* VANISHED \\(EARLIER\\) %7$d,%8$d
                    S: \\* 2 FETCH \\(FLAGS \\(\\\\Seen\\) UID %9$d MODSEQ \\(%10$d\\)\\)
                    S: \\* 3 FETCH \\(FLAGS \\(\\) UID %4$d MODSEQ \\(%11$d\\)\\)
                    S: a2 OK \\[READ-WRITE\\] SELECT completed
                    """.formatted(uidValidity, known, firstUid, fifth, next, highest, secondUid, fourth, third,
                    modSeq(third), modSeq(fifth)));
            // Known UIDs narrow both reports (RFC 7162 §3.2.5.1); so does a more recent MODSEQ.
            t.run("""
                    C: a3 EXAMINE INBOX (QRESYNC (%1$d %2$d %3$d:%4$d))
                    S: \\* OK \\[CLOSED\\] Previous mailbox closed
                    S: \\* 3 EXISTS
                    S: \\* 0 RECENT
                    S: \\* OK \\[UNSEEN 1\\] .*
                    S: \\* FLAGS .*
                    S: \\* OK \\[PERMANENTFLAGS \\(\\)\\] Flags permitted
                    S: \\* OK \\[UIDVALIDITY %1$d\\] UIDs valid
                    S: \\* OK \\[UIDNEXT %5$d\\] Predicted next UID
                    S: \\* OK \\[HIGHESTMODSEQ %6$d\\] Highest
                    S: \\* OK \\[URLMECH INTERNAL\\] .*
                    S: \\* VANISHED \\(EARLIER\\) %7$d
                    S: \\* 2 FETCH \\(FLAGS \\(\\\\Seen\\) UID %4$d MODSEQ \\(%8$d\\)\\)
                    S: a3 OK \\[READ-ONLY\\] EXAMINE completed
                    C: a4 SELECT INBOX (QRESYNC (%1$d %6$d))
                    S: \\* OK \\[CLOSED\\] Previous mailbox closed
                    S: \\* 3 EXISTS
                    S: \\* 0 RECENT
                    S: \\* OK \\[UNSEEN 1\\] .*
                    S: \\* FLAGS .*
                    S: \\* OK \\[PERMANENTFLAGS .*
                    S: \\* OK \\[UIDVALIDITY %1$d\\] UIDs valid
                    S: \\* OK \\[UIDNEXT %5$d\\] Predicted next UID
                    S: \\* OK \\[HIGHESTMODSEQ %6$d\\] Highest
                    S: \\* OK \\[URLMECH INTERNAL\\] .*
                    S: a4 OK \\[READ-WRITE\\] SELECT completed
                    """.formatted(uidValidity, known, firstUid, third, next, highest, secondUid, modSeq(third)));
        }
    }

    @Test
    void anotherUidValidityIgnoresWhatTheClientKnew() {
        try (Transcript t = imap.loggedIn()) {
            t.run("""
                    C: a1 ENABLE QRESYNC
                    S: \\* ENABLED QRESYNC
                    S: a1 OK ENABLE completed
                    C: a2 SELECT INBOX (QRESYNC (%d 1 1:5 (1:2 1:2)))
                    S: \\* 3 EXISTS
                    S: \\* 0 RECENT
                    S: \\* OK \\[UNSEEN 1\\] .*
                    S: \\* FLAGS .*
                    S: \\* OK \\[PERMANENTFLAGS .*
                    S: \\* OK \\[UIDVALIDITY %d\\] UIDs valid
                    S: \\* OK \\[UIDNEXT %d\\] Predicted next UID
                    S: \\* OK \\[HIGHESTMODSEQ \\d+\\] Highest
                    S: \\* OK \\[URLMECH INTERNAL\\] .*
                    S: a2 OK \\[READ-WRITE\\] SELECT completed
                    """.formatted(uidValidity + 1, uidValidity, next));
        }
    }

    @Test
    void uidFetchChangedSinceVanished() {
        try (Transcript t = qresyncSelected()) {
            t.run("""
                    C: a3 UID FETCH 1:* (FLAGS) (CHANGEDSINCE %1$d VANISHED)
                    S: \\* VANISHED \\(EARLIER\\) %2$d,%3$d
                    S: \\* 2 FETCH \\(UID %4$d FLAGS \\(\\\\Seen\\) MODSEQ \\(%5$d\\)\\)
                    S: \\* 3 FETCH \\(UID %6$d FLAGS \\(\\) MODSEQ \\(%7$d\\)\\)
                    S: a3 OK FETCH completed
                    C: a4 UID FETCH %3$d:%3$d (FLAGS) (CHANGEDSINCE %1$d VANISHED)
                    S: \\* VANISHED \\(EARLIER\\) %3$d
                    S: a4 OK FETCH completed
                    C: a5 UID FETCH %8$d:%2$d (FLAGS) (CHANGEDSINCE %9$d VANISHED)
                    S: a5 OK FETCH completed
                    """.formatted(known, secondUid, fourth, third, modSeq(third), fifth, modSeq(fifth), firstUid,
                    imap.store().status(imap.inbox).highestModSeq()));
        }
    }

    @Test
    void qresyncSyntaxNeedsEnableAndUidFetch() {
        try (Transcript t = imap.loggedIn()) {
            t.run("""
                    C: a1 SELECT INBOX (QRESYNC (%d 1))
                    S: a1 BAD QRESYNC parameter needs ENABLE QRESYNC first
                    C: a2 SELECT INBOX
                    """.formatted(uidValidity));
            while (!t.readLine().startsWith("a2 OK")) { }
            t.run("""
                    C: a3 UID FETCH 1:* FLAGS (CHANGEDSINCE 1 VANISHED)
                    S: a3 BAD VANISHED needs ENABLE QRESYNC first
                    C: a4 FETCH 1:* FLAGS (CHANGEDSINCE 1 VANISHED)
                    S: a4 BAD VANISHED needs UID FETCH and CHANGEDSINCE
                    C: a5 SELECT INBOX (QRESYNC (0 1))
                    S: a5 BAD .*
                    """);
        }
    }

    @Test
    void ownExpungeIsReportedAsVanishedWithTheNewHighestModSeq() {
        try (Transcript t = qresyncSelected()) {
            t.run("""
                    C: a3 STORE 1:3 +FLAGS.SILENT (\\Deleted)
                    S: a3 OK .*
                    C: a4 UID EXPUNGE %1$d:%2$d
                    S: \\* VANISHED %1$d,%2$d
                    S: a4 OK \\[HIGHESTMODSEQ \\d+\\] EXPUNGE completed
                    C: a5 EXPUNGE
                    S: \\* VANISHED %3$d
                    S: a5 OK \\[HIGHESTMODSEQ \\d+\\] EXPUNGE completed
                    C: a6 EXPUNGE
                    S: a6 OK EXPUNGE completed
                    """.formatted(firstUid, third, fifth));
        }
        assertThat(imap.store().expungedSince(imap.inbox, known)).containsExactly(firstUid, secondUid, third, fourth, fifth);
    }

    @Test
    void otherSessionsExpungesArriveAsVanishedInIdleAndNoop() {
        try (Transcript watcher = qresyncSelected(); Transcript poller = qresyncSelected(); Transcript actor = imap.selected()) {
            watcher.run("""
                    C: w1 IDLE
                    S: \\+ idling
                    """);
            actor.send("a1 UID STORE %d +FLAGS.SILENT (\\Deleted)".formatted(third));
            untilTagged(actor, "a1");
            watcher.expect("\\* 2 FETCH \\(FLAGS \\(\\\\Deleted \\\\Seen\\) UID %d MODSEQ \\(\\d+\\)\\)".formatted(third));
            actor.send("a2 UID EXPUNGE %d".formatted(third));
            untilTagged(actor, "a2");
            watcher.expect("\\* VANISHED %d".formatted(third));
            watcher.run("""
                    C: DONE
                    S: w1 OK IDLE terminated
                    C: w2 FETCH 2 UID
                    S: \\* 2 FETCH \\(UID %d\\)
                    S: w2 OK FETCH completed
                    """.formatted(fifth));
            // The flag change of a message expunged since is not worth telling: only VANISHED.
            poller.run("""
                    C: p1 NOOP
                    S: \\* VANISHED %d
                    S: p1 OK NOOP completed
                    """.formatted(third));
        }
    }

    @Test
    void moveReportsVanishedAfterCopyUid() {
        try (Transcript t = qresyncSelected()) {
            t.run("""
                    C: a3 UID MOVE %1$d:%2$d Trash
                    S: \\* OK \\[COPYUID \\d+ %1$d,%2$d %3$d:%4$d\\] Moved
                    S: \\* VANISHED %1$d,%2$d
                    S: a3 OK MOVE completed
                    """.formatted(third, fifth, uidNext("Trash"), uidNext("Trash") + 1));
        }
    }

    /** Logged in, QRESYNC enabled, INBOX selected. */
    private Transcript qresyncSelected() {
        Transcript t = imap.loggedIn();
        t.run("""
                C: a1 ENABLE QRESYNC
                S: \\* ENABLED QRESYNC
                S: a1 OK ENABLE completed
                C: a2 SELECT INBOX
                """);
        while (!t.readLine().startsWith("a2 OK")) { }
        return t;
    }

    private static void untilTagged(Transcript t, String tag) {
        for (String line; !(line = t.readLine()).startsWith(tag + " OK"); ) {
            assertThat(line).startsWith("* ");
        }
    }
}
