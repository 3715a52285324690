package org.castellan.server.imap;

import org.castellan.server.testing.Transcript;
import static org.assertj.core.api.Assertions.assertThat;
import static org.castellan.server.imap.SharedMailboxTest.reply;

import org.castellan.store.UidRange;
import org.junit.jupiter.api.Test;

/** RFC 9051 §6.4.6 STORE, UID STORE, RFC 7162 UNCHANGEDSINCE. */
class StoreTest extends ServerPerTest {

    @Test
    void addRemoveReplaceAndSilent() {
        try (Transcript t = imap.selected()) {
            t.run("""
                    C: a1 STORE 1:2 +FLAGS (\\Flagged $Important)
                    S: \\* FLAGS \\(\\\\Answered \\\\Flagged \\\\Deleted \\\\Seen \\\\Draft \\$Important\\)
                    S: \\* OK \\[PERMANENTFLAGS \\(.* \\$Important \\\\\\*\\)\\] .*
                    S: \\* 1 FETCH \\(FLAGS \\(\\$Important \\\\Flagged\\) UID %1$d\\)
                    S: \\* 2 FETCH \\(FLAGS \\(\\$Important \\\\Flagged\\) UID %2$d\\)
                    S: a1 OK STORE completed
                    C: a2 STORE 1 -FLAGS \\Flagged
                    S: \\* 1 FETCH \\(FLAGS \\(\\$Important\\) UID %1$d\\)
                    S: a2 OK STORE completed
                    C: a3 UID STORE %2$d FLAGS.SILENT (\\seen)
                    S: a3 OK STORE completed
                    C: a4 STORE 1 +FLAGS (\\Recent)
                    S: a4 NO \\[CANNOT\\] .*
                    C: a5 STORE 1 FLAGS.LOUD (\\Seen)
                    S: a5 BAD STORE takes FLAGS, \\+FLAGS or -FLAGS
                    """.formatted(firstUid, secondUid));
        }
        assertThat(imap.store().listMessages(imap.inbox, UidRange.of(secondUid)).get(0).flags()).containsExactly("\\Seen");
    }

    private long modSeq(long uid) {
        return imap.store().listMessages(imap.inbox, UidRange.of(uid)).get(0).modSeq();
    }

    private long highest() {
        return imap.store().status(imap.inbox).highestModSeq();
    }

    /**
     * RFC 7162 §3.1.3: STORE's MODIFIED lists the sequence numbers of the messages that failed
     * the UNCHANGEDSINCE test; a message that passed is told with its new MODSEQ in an untagged
     * FETCH even though the STORE is .SILENT (the RFC's example with d105).
     */
    @Test
    void unchangedSinceReportsModified() {
        long modSeq = modSeq(firstUid);
        try (Transcript t = imap.selected()) {
            t.run("""
                    C: a1 STORE 2 +FLAGS.SILENT (\\Seen)
                    S: a1 OK STORE completed
                    """);
            t.send("a2 STORE 1:2 (UNCHANGEDSINCE %d) +FLAGS.SILENT (\\Answered)".formatted(modSeq));
            assertThat(reply(t, "a2")).containsExactly("* 1 FETCH (UID %d MODSEQ (%d))".formatted(firstUid, modSeq(firstUid)),
                    "* OK [HIGHESTMODSEQ %d] Highest".formatted(highest()), "a2 OK [MODIFIED 2] STORE completed");
        }
    }

    /**
     * RFC 7162 §3.1.3: UID STORE's MODIFIED lists UIDs, not sequence numbers; the message that
     * passed gets its untagged FETCH with UID and MODSEQ despite .SILENT (the RFC's example with
     * a103); without .SILENT every named message's flags come back, and those that failed are
     * left as they were.
     */
    @Test
    void uidStoreUnchangedSinceReportsUids() {
        long before = highest();
        try (Transcript t = imap.selected()) {
            t.run("""
                    C: a1 UID STORE %d +FLAGS.SILENT (\\Seen)
                    S: a1 OK STORE completed
                    """.formatted(secondUid));
            t.send("a2 UID STORE %d,%d (UNCHANGEDSINCE %d) +FLAGS.SILENT (\\Deleted)".formatted(secondUid, firstUid, before));
            assertThat(reply(t, "a2")).containsExactly("* 1 FETCH (UID %d MODSEQ (%d))".formatted(firstUid, modSeq(firstUid)),
                    "* OK [HIGHESTMODSEQ %d] Highest".formatted(highest()),
                    "a2 OK [MODIFIED %d] STORE completed".formatted(secondUid));
            // Both have changed since: both fail, and the set spans the hole between their UIDs.
            t.send("a3 UID STORE %d:%d (UNCHANGEDSINCE %d) FLAGS (\\Flagged)".formatted(firstUid, secondUid, before));
            assertThat(reply(t, "a3")).containsExactly(
                    "* 1 FETCH (FLAGS (\\Deleted) UID %d MODSEQ (%d))".formatted(firstUid, modSeq(firstUid)),
                    "* 2 FETCH (FLAGS (\\Seen) UID %d MODSEQ (%d))".formatted(secondUid, modSeq(secondUid)),
                    "a3 OK [MODIFIED %d,%d] STORE completed".formatted(firstUid, secondUid));
        }
        assertThat(imap.store().listMessages(imap.inbox, UidRange.all())).extracting(m -> m.flags())
                .containsExactly(java.util.Set.of("\\Deleted"), java.util.Set.of("\\Seen"));
    }

    /**
     * RFC 7162 §3.1.3: MODIFIED names the messages that failed the UNCHANGEDSINCE test by message
     * sequence number for STORE and by UID for UID STORE; the two differ once a message has gone.
     */
    @Test
    void modifiedNamesSequenceNumbersForStoreAndUidsForUidStore() {
        imap.store().expunge(imap.inbox, java.util.List.of(firstUid));
        long modSeq = imap.store().listMessages(imap.inbox, UidRange.of(secondUid)).get(0).modSeq();
        try (Transcript t = imap.selected()) {
            t.run("""
                    C: a1 STORE 1 +FLAGS.SILENT (\\Seen)
                    S: a1 OK STORE completed
                    C: a2 STORE 1 (UNCHANGEDSINCE %1$d) +FLAGS.SILENT (\\Answered)
                    S: \\* OK \\[HIGHESTMODSEQ \\d+\\] .*
                    S: a2 OK \\[MODIFIED 1\\] STORE completed
                    C: a3 UID STORE %2$d (UNCHANGEDSINCE %1$d) +FLAGS.SILENT (\\Answered)
                    S: a3 OK \\[MODIFIED %2$d\\] STORE completed
                    """.formatted(modSeq, secondUid));
        }
    }

    @Test
    void readOnlyMailboxRefusesStore() {
        try (Transcript t = imap.loggedIn()) {
            t.send("e1 EXAMINE INBOX");
            while (!t.readLine().startsWith("e1 OK")) { }
            t.run("""
                    C: a1 STORE 1 +FLAGS (\\Seen)
                    S: a1 NO \\[READ-ONLY\\] .*
                    """);
        }
    }
}
