package org.castellan.store.postgres;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.castellan.store.AccountEvent;
import org.castellan.store.MessageMeta;
import org.castellan.store.StoreEvent;
import org.castellan.store.UidRange;
import org.junit.jupiter.api.Test;

/**
 * The rules by which a node answers a listing from memory (docs/store.md, "Listings held by a
 * node"), with the reads PostgreSQL would answer given by hand: what makes a listing stale, which
 * of the node's own writes keep it fresh, and the bound on memory.
 */
class PgListingsTest {

    private static final long BOX = 7;
    private final PgListings listings = new PgListings();

    @Test
    void aListingReadWholeIsAnsweredFromUntilAChangeAboveItIsHeard() {
        hold(BOX, 5, meta(1, 5), meta(2, 5));
        assertThat(listings.fresh(BOX, UidRange.of(2))).hasValueSatisfying(l -> assertThat(l).containsExactly(meta(2, 5)));

        listings.changed(List.of(flagsChanged(BOX, 5))); // already in it
        assertThat(listings.fresh(BOX, UidRange.all())).isPresent();
        listings.changed(List.of(flagsChanged(BOX, 6)));
        assertThat(listings.fresh(BOX, UidRange.all())).isEmpty();

        PgListings.Reading since = listings.reading(BOX, UidRange.all()).orElseThrow();
        assertThat(since.since()).contains(5L);
        listings.read(since, new PgListings.Changes(6, List.of(meta(1, 6)), List.of(2L)));
        assertThat(listings.fresh(BOX, UidRange.all())).hasValueSatisfying(l -> assertThat(l).containsExactly(meta(1, 6)));
    }

    /** SELECT reads STATUS, then lists: a listing older than the status is read again, heard or not. */
    @Test
    void aStatusReadAtAHigherModseqMakesTheListingStale() {
        hold(BOX, 5, meta(1, 5));
        listings.observed(BOX, 5);
        assertThat(listings.fresh(BOX, UidRange.all())).isPresent();
        listings.observed(BOX, 6);
        assertThat(listings.fresh(BOX, UidRange.all())).isEmpty();
    }

    @Test
    void aReadWithAnOlderSnapshotDoesNotReplaceANewerListing() {
        hold(BOX, 5, meta(1, 5));
        listings.changed(List.of(flagsChanged(BOX, 7)));
        PgListings.Reading older = listings.reading(BOX, UidRange.all()).orElseThrow();
        PgListings.Reading newer = listings.reading(BOX, UidRange.all()).orElseThrow();
        listings.read(newer, new PgListings.Changes(7, List.of(meta(1, 7)), List.of()));
        assertThat(listings.read(older, new PgListings.Changes(6, List.of(meta(1, 6)), List.of()))).containsExactly(meta(1, 6));
        assertThat(listings.fresh(BOX, UidRange.all())).hasValueSatisfying(l -> assertThat(l).containsExactly(meta(1, 7)));
    }

    @Test
    void ownWritesApplyOnlyToTheStateTheyStartedFrom() {
        hold(BOX, 5, meta(1, 5), meta(2, 5));
        listings.wrote(List.of(new PgListings.Write(BOX, 5, 6, List.of(meta(3, 6)), List.of(1L))));
        listings.changed(List.of(added(BOX, 3, 6)));
        assertThat(listings.fresh(BOX, UidRange.all())).hasValueSatisfying(l -> assertThat(l).containsExactly(meta(2, 5), meta(3, 6)));

        // The write from 7 to 8 is heard before the one from 6 to 7 is applied: neither applies, the listing is stale.
        listings.wrote(List.of(new PgListings.Write(BOX, 7, 8, List.of(meta(4, 8)), List.of())));
        listings.changed(List.of(added(BOX, 4, 8)));
        listings.wrote(List.of(new PgListings.Write(BOX, 6, 7, List.of(meta(2, 7)), List.of())));
        assertThat(listings.fresh(BOX, UidRange.all())).isEmpty();
    }

    @Test
    void nothingIsHeldWhileDeafAndWhatWasReadBeforeIsDroppedOnceListeningAgain() {
        hold(BOX, 5, meta(1, 5));
        PgListings.Reading inFlight = listings.reading(BOX + 1, UidRange.all()).orElseThrow();
        listings.deaf();
        assertThat(listings.fresh(BOX, UidRange.all())).isEmpty();
        assertThat(listings.reading(BOX, UidRange.all())).isEmpty();
        listings.listening();
        listings.read(inFlight, 3, List.of(meta(1, 3)));
        assertThat(listings.fresh(BOX + 1, UidRange.all())).isEmpty();
    }

    @Test
    void theLeastRecentlyReadListingsGoFirstPastTheBound() {
        int perMailbox = PgListings.MAX_MAILBOX_MESSAGES;
        int mailboxes = PgListings.MAX_MESSAGES / perMailbox;
        for (long box = 1; box <= mailboxes; box++) hold(box, 1, metas(perMailbox));
        listings.fresh(1, UidRange.of(1)); // read again: no longer the eldest
        hold(mailboxes + 1, 1, metas(perMailbox));
        assertThat(listings.fresh(1, UidRange.of(1))).isPresent();
        assertThat(listings.fresh(2, UidRange.of(1))).isEmpty();
        assertThat(listings.fresh(mailboxes + 1, UidRange.of(1))).isPresent();
    }

    @Test
    void aMailboxLargerThanTheBoundIsNotHeld() {
        hold(BOX, 1, metas(PgListings.MAX_MAILBOX_MESSAGES + 1));
        assertThat(listings.fresh(BOX, UidRange.all())).isEmpty();
    }

    private void hold(long mailboxId, long modSeq, MessageMeta... messages) {
        PgListings.Reading r = listings.reading(mailboxId, UidRange.all()).orElseThrow();
        listings.read(r, modSeq, List.of(messages));
    }

    private static MessageMeta[] metas(int count) {
        MessageMeta[] out = new MessageMeta[count];
        for (int i = 0; i < count; i++) out[i] = meta(i + 1, 1);
        return out;
    }

    private static MessageMeta meta(long uid, long modSeq) {
        return new MessageMeta(uid, Set.of(), Instant.EPOCH, 100, modSeq, "b" + uid);
    }

    private static AccountEvent flagsChanged(long mailboxId, long modSeq) {
        return new AccountEvent.MailboxChanged(1, new StoreEvent.FlagsChanged(mailboxId, new TreeSet<>(List.of(1L)), modSeq));
    }

    private static AccountEvent added(long mailboxId, long uid, long modSeq) {
        return new AccountEvent.MailboxChanged(1, new StoreEvent.MessageAdded(mailboxId, new TreeSet<>(List.of(uid)), modSeq, Set.of()));
    }
}
