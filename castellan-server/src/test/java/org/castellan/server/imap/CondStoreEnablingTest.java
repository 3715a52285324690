package org.castellan.server.imap;

import static org.assertj.core.api.Assertions.assertThat;
import static org.castellan.server.imap.SharedMailboxTest.reply;

import org.castellan.server.testing.Transcript;
import org.castellan.store.MessageMeta;
import org.castellan.store.UidRange;
import org.junit.jupiter.api.Test;

/**
 * RFC 7162 §3.1: a CONDSTORE enabling command (FETCH or SEARCH with MODSEQ, FETCH CHANGEDSINCE,
 * STORE UNCHANGEDSINCE, STATUS HIGHESTMODSEQ, SELECT/EXAMINE (CONDSTORE), ENABLE CONDSTORE)
 * makes the session CONDSTORE-aware until it ends: the first one issued with a mailbox selected
 * reports {@code OK [HIGHESTMODSEQ n]}, and from then on every untagged FETCH carries UID and
 * MODSEQ (§3.1.4, also those STORE and an implicit \Seen cause); SEARCH with a MODSEQ key
 * returns the highest MODSEQ of what it found (§3.1.5), ESEARCH as a MODSEQ item (§3.1.10).
 */
class CondStoreEnablingTest extends ServerPerTest {

    private long modSeq(long uid) {
        return imap.store().listMessages(imap.inbox, UidRange.of(uid)).get(0).modSeq();
    }

    private long highest() {
        return imap.store().status(imap.inbox).highestModSeq();
    }

    @Test
    void fetchModSeqEnablesCondStoreForTheRestOfTheSession() {
        try (Transcript t = imap.selected()) {
            t.send("a1 FETCH 1 (MODSEQ)");
            assertThat(reply(t, "a1")).containsExactly("* 1 FETCH (MODSEQ (%d))".formatted(modSeq(firstUid)),
                    "* OK [HIGHESTMODSEQ %d] Highest".formatted(highest()), "a1 OK FETCH completed");
            // Only the first enabling command reports it.
            t.send("a2 FETCH 2 (MODSEQ)");
            assertThat(reply(t, "a2")).containsExactly("* 2 FETCH (MODSEQ (%d))".formatted(modSeq(secondUid)),
                    "a2 OK FETCH completed");
            t.send("a3 STORE 1 +FLAGS (\\Answered)");
            assertThat(reply(t, "a3")).containsExactly(
                    "* 1 FETCH (FLAGS (\\Answered) UID %d MODSEQ (%d))".formatted(firstUid, modSeq(firstUid)),
                    "a3 OK STORE completed");
            // An implicit \Seen: FLAGS, UID and MODSEQ although only the body was asked for.
            t.send("a4 FETCH 1 (BODY[TEXT])");
            assertThat(reply(t, "a4")).containsExactly(
                    "* 1 FETCH (BODY[TEXT] {13}", "Hello there",
                    " FLAGS (\\Answered \\Seen) UID %d MODSEQ (%d))".formatted(firstUid, modSeq(firstUid)),
                    "a4 OK FETCH completed");
        }
    }

    /**
     * RFC 7162 §3.1.4.1: CHANGEDSINCE implies MODSEQ, also in a FETCH that names neither MODSEQ
     * nor FLAGS, the item to which CONDSTORE adds MODSEQ anyway (§3.1.4).
     */
    @Test
    void changedSinceImpliesModSeqWhateverTheItems() {
        try (Transcript t = imap.selected()) {
            t.send("a1 FETCH 1 (UID) (CHANGEDSINCE 0)");
            assertThat(reply(t, "a1")).containsExactly("* 1 FETCH (UID %d MODSEQ (%d))".formatted(firstUid, modSeq(firstUid)),
                    "* OK [HIGHESTMODSEQ %d] Highest".formatted(highest()), "a1 OK FETCH completed");
        }
    }

    /**
     * An expunge that reaches the session during the enabling FETCH is held back until it ends
     * (RFC 9051 §7.5.1), so the HIGHESTMODSEQ that FETCH reports must lie below it: a client that
     * kept that value and lost the connection would otherwise never hear of the expunge.
     */
    @Test
    void theHighestModSeqOfAnEnablingFetchLeavesOutAnExpungeHeldBack() {
        try (Transcript watcher = imap.selected(); Transcript actor = imap.selected(); Transcript idler = imap.selected()) {
            idler.run("""
                    C: i1 IDLE
                    S: \\+ idling
                    """);
            actor.run("""
                    C: a1 STORE 1 +FLAGS.SILENT (\\Deleted)
                    S: a1 OK STORE completed
                    """);
            long deleted = highest();
            actor.run("""
                    C: a2 EXPUNGE
                    S: \\* 1 EXPUNGE
                    S: a2 OK EXPUNGE completed
                    """);
            assertThat(highest()).isGreaterThan(deleted);
            idler.run("""
                    S: \\* 1 FETCH .*
                    S: \\* 1 EXPUNGE
                    """);
            watcher.send("w1 FETCH 2 (MODSEQ)");
            assertThat(reply(watcher, "w1")).contains("* OK [HIGHESTMODSEQ %d] Highest".formatted(deleted))
                    .noneMatch(l -> l.endsWith(" EXPUNGE"));
        }
    }

    @Test
    void searchModSeqReturnsTheHighestModSeqFound() {
        try (Transcript t = imap.selected()) {
            t.send("a1 STORE 2 +FLAGS.SILENT (\\Flagged)");
            reply(t, "a1");
            long low = modSeq(firstUid);
            long high = modSeq(secondUid);
            t.send("a2 SEARCH MODSEQ 1");
            assertThat(reply(t, "a2")).containsExactly("* SEARCH 1 2 (MODSEQ %d)".formatted(high),
                    "* OK [HIGHESTMODSEQ %d] Highest".formatted(highest()), "a2 OK SEARCH completed");
            t.send("a3 SEARCH RETURN (ALL) MODSEQ 1");
            assertThat(reply(t, "a3")).containsExactly("* ESEARCH (TAG \"a3\") ALL 1:2 MODSEQ %d".formatted(high),
                    "a3 OK SEARCH completed");
            t.send("a4 UID SEARCH RETURN (MIN COUNT) MODSEQ 1");
            assertThat(reply(t, "a4")).containsExactly(
                    "* ESEARCH (TAG \"a4\") UID MIN %d COUNT 2 MODSEQ %d".formatted(firstUid, high), "a4 OK SEARCH completed");
            t.send("a5 SEARCH RETURN (MIN) MODSEQ 1");
            assertThat(reply(t, "a5")).containsExactly("* ESEARCH (TAG \"a5\") MIN 1 MODSEQ %d".formatted(low),
                    "a5 OK SEARCH completed");
            // Nothing found: no MODSEQ.
            t.send("a6 SEARCH MODSEQ %d".formatted(high + 1));
            assertThat(reply(t, "a6")).containsExactly("* SEARCH", "a6 OK SEARCH completed");
        }
    }

    @Test
    void statusHighestModSeqEnablesUpdatesWithModSeq() {
        try (Transcript watcher = imap.selected(); Transcript actor = imap.selected()) {
            watcher.send("w1 STATUS Drafts (HIGHESTMODSEQ)");
            assertThat(reply(watcher, "w1")).hasSize(3).element(1).isEqualTo(
                    "* OK [HIGHESTMODSEQ %d] Highest".formatted(highest()));
            actor.send("a1 STORE 2 +FLAGS (\\Flagged)");
            reply(actor, "a1");
            watcher.send("w2 NOOP");
            MessageMeta m = imap.store().listMessages(imap.inbox, UidRange.of(secondUid)).get(0);
            assertThat(reply(watcher, "w2")).containsExactly(
                    "* 2 FETCH (FLAGS (\\Flagged) UID %d MODSEQ (%d))".formatted(secondUid, m.modSeq()),
                    "w2 OK NOOP completed");
        }
    }
}
