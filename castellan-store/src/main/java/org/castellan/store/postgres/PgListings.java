package org.castellan.store.postgres;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Optional;
import java.util.TreeMap;
import org.castellan.store.AccountEvent;
import org.castellan.store.MessageMeta;
import org.castellan.store.StoreEvent;
import org.castellan.store.UidRange;

/**
 * This node's listings of mailboxes' messages (UID, flags, date, size, MODSEQ, body), so that
 * sessions reading a mailbox nothing has changed in since do not read it again from PostgreSQL
 * (docs/store.md, "Listings held by a node").
 *
 * <p>Each listing holds every change of its mailbox up to the MODSEQ it was read at (the mailbox's
 * HIGHESTMODSEQ in the same statement as its messages: writes of a mailbox raise it one at a
 * time under the mailbox's row, so a statement that sees a MODSEQ sees every change up to it).
 * Every change this node commits, and every change of another node it hears by its {@code LISTEN}
 * connection, raises the MODSEQ heard of its mailbox before any listener is told of it; a listing
 * is answered from only while nothing above its own MODSEQ was heard, nor read since by another
 * statement of this node ({@link #observed}). A stale listing is brought
 * up to date by one read of what changed since its MODSEQ (messages with a higher MODSEQ and UIDs
 * expunged since: the {@code expunged} table keeps them all while the mailbox exists); a write of
 * this node made from a listing's MODSEQ is applied to it ({@link #wrote}).
 *
 * <p>So a listing is never older than what this node's sessions were told, and is as fresh as
 * their untagged responses are. While the {@code LISTEN} connection is broken changes of other
 * nodes go unheard: the listings are dropped when this is noticed, none is kept until it is back
 * ({@link #deaf}), and any whose read began before are dropped again then ({@link #listening}).
 *
 * <p>Thread-safe: one monitor; what it guards is in memory only.
 */
final class PgListings {

    /**
     * Messages held in all listings together: a {@link MessageMeta} with its flags takes about 200
     * bytes, so about 40 MB of heap; the least recently read listings go first.
     */
    static final int MAX_MESSAGES = 200_000;

    /**
     * A larger mailbox is not held: its whole listing would crowd out many small ones, and
     * sessions of a mailbox that large read it by ranges, which a range read answers as cheaply.
     */
    static final int MAX_MAILBOX_MESSAGES = 20_000;

    /** Mailboxes with a listing or a read of one under way: bounds the memory of empty ones. */
    static final int MAX_MAILBOXES = 10_000;

    private final LinkedHashMap<Long, Listing> held = new LinkedHashMap<>(64, 0.75f, true);
    private long messages;
    private boolean deaf;

    /** One mailbox's listing; replaced, never changed, once read. */
    private static final class Listing {
        /** The listing holds every change up to this MODSEQ; meaningless while {@link #byUid} is null. */
        long modSeq;
        /** The highest MODSEQ of the mailbox heard of (a change) or read (a status) since this object was made. */
        long heard;
        /** Never modified once set. */
        NavigableMap<Long, MessageMeta> byUid;
    }

    /**
     * A read of a listing under way: {@code since} is the MODSEQ {@code base} holds (only the
     * changes after it are to be read), or empty when the whole listing is to be read.
     */
    record Reading(long mailboxId, UidRange range, Optional<Long> since, NavigableMap<Long, MessageMeta> base,
            Object listing) {}

    /** What changed in a mailbox since a MODSEQ: its messages with a higher MODSEQ, and the UIDs expunged meanwhile. */
    record Changes(long highestModSeq, List<MessageMeta> changed, Collection<Long> expunged) {}

    /**
     * One committed change of a mailbox's messages made by this node, under the mailbox's row: it
     * took the mailbox from MODSEQ {@code before} to {@code after}, writing these messages (added
     * or with new flags) and expunging these UIDs.
     */
    record Write(long mailboxId, long before, long after, List<MessageMeta> written, Collection<Long> expunged) {}

    /** The messages of {@code range}, when this node holds a listing of the mailbox with every change heard. */
    synchronized Optional<List<MessageMeta>> fresh(long mailboxId, UidRange range) {
        if (deaf) return Optional.empty();
        Listing l = held.get(mailboxId);
        if (l == null || l.byUid == null || l.heard > l.modSeq) return Optional.empty();
        return Optional.of(slice(l.byUid, range));
    }

    /**
     * How to read the mailbox's messages when {@link #fresh} had none: the changes since the
     * listing held, the whole mailbox when {@code range} is all of it, or (empty) the range only,
     * uncached.
     */
    synchronized Optional<Reading> reading(long mailboxId, UidRange range) {
        if (deaf) return Optional.empty();
        Listing l = held.get(mailboxId);
        if (l != null && l.byUid != null) return Optional.of(new Reading(mailboxId, range, Optional.of(l.modSeq), l.byUid, l));
        if (!range.equals(UidRange.all())) return Optional.empty();
        if (l == null) {
            l = new Listing();
            held.put(mailboxId, l);
            trim(l);
        }
        return Optional.of(new Reading(mailboxId, range, Optional.empty(), Collections.emptyNavigableMap(), l));
    }

    /** The whole listing {@code r} read, at the mailbox's {@code highestModSeq}: kept, and its range answered. */
    List<MessageMeta> read(Reading r, long highestModSeq, List<MessageMeta> all) {
        NavigableMap<Long, MessageMeta> byUid = applied(Collections.emptyNavigableMap(), List.of(), all);
        keep(r, highestModSeq, byUid);
        return slice(byUid, r.range);
    }

    /** What changed since the listing {@code r} started from: applied to it, kept, and its range answered. */
    List<MessageMeta> read(Reading r, Changes changes) {
        NavigableMap<Long, MessageMeta> byUid = applied(r.base, changes.expunged(), changes.changed());
        keep(r, changes.highestModSeq(), byUid);
        return slice(byUid, r.range);
    }

    private synchronized void keep(Reading r, long modSeq, NavigableMap<Long, MessageMeta> byUid) {
        Listing l = held.get(r.mailboxId);
        // Dropped meanwhile (deaf, trimmed, deleted), or a read with a later snapshot was kept first.
        if (l == r.listing && (l.byUid == null || l.modSeq <= modSeq)) replace(r.mailboxId, l, byUid, modSeq);
    }

    /** {@code l}, the listing of {@code mailboxId}, now holds {@code byUid} at {@code modSeq}; or none, when too large. */
    private void replace(long mailboxId, Listing l, NavigableMap<Long, MessageMeta> byUid, long modSeq) {
        if (byUid.size() > MAX_MAILBOX_MESSAGES) {
            drop(mailboxId);
            return;
        }
        messages += byUid.size() - (l.byUid == null ? 0 : l.byUid.size());
        l.byUid = byUid;
        l.modSeq = modSeq;
        trim(l);
    }

    private static NavigableMap<Long, MessageMeta> applied(NavigableMap<Long, MessageMeta> base, Collection<Long> expunged,
            List<MessageMeta> written) {
        TreeMap<Long, MessageMeta> byUid = new TreeMap<>(base);
        for (long uid : expunged) byUid.remove(uid);
        for (MessageMeta m : written) byUid.put(m.uid(), m);
        return byUid;
    }

    /**
     * This node's committed writes, before {@link #changed} hears their events: a listing that
     * held the mailbox just as a write found it takes the write and stays fresh. Writes of one
     * mailbox are made one after the other under its row, and MODSEQ {@code before} names the
     * state each started from, so a listing at that MODSEQ and the write are the state after it.
     */
    synchronized void wrote(List<Write> writes) {
        for (Write w : writes) {
            Listing l = held.get(w.mailboxId());
            if (l != null && l.byUid != null && l.modSeq == w.before()) {
                replace(w.mailboxId(), l, applied(l.byUid, w.expunged(), w.written()), w.after());
            }
        }
    }

    /**
     * A committed batch of changes, this node's or another's, heard before any listener of this
     * node is told of it: the listings it makes stale are answered from no more.
     */
    synchronized void changed(List<AccountEvent> batch) {
        for (AccountEvent a : batch) {
            if (!(a instanceof AccountEvent.MailboxChanged m)) continue;
            long mailboxId = m.change().mailboxId();
            if (m.change() instanceof StoreEvent.MailboxDeleted) {
                drop(mailboxId);
                continue;
            }
            Listing l = held.get(mailboxId);
            if (l != null) l.heard = Math.max(l.heard, StoreEvent.modSeqOf(m.change()));
        }
    }

    /**
     * A read of PostgreSQL found the mailbox at {@code modSeq}: a listing answered after it must
     * show at least that, so one that holds less is read again, though its changes are not heard
     * yet (a caller reads the mailbox's counters, then lists it, and counts on the listing holding
     * every UID below the UIDNEXT it read).
     */
    synchronized void observed(long mailboxId, long modSeq) {
        Listing l = held.get(mailboxId);
        if (l != null) l.heard = Math.max(l.heard, modSeq);
    }

    /**
     * The batch's mailboxes may have changed, by how much is not known (a commit whose outcome
     * was lost): their listings are dropped.
     */
    synchronized void unknown(List<AccountEvent> batch) {
        for (AccountEvent a : batch) {
            if (a instanceof AccountEvent.MailboxChanged m) drop(m.change().mailboxId());
        }
    }

    /** The LISTEN connection broke: other nodes' changes go unheard, so nothing is held until it is back. */
    synchronized void deaf() {
        deaf = true;
        dropAll();
    }

    /**
     * The LISTEN connection is back (before the watched mailboxes are read again): listings read
     * from here on hear every later change; those read while deaf are dropped.
     */
    synchronized void listening() {
        deaf = false;
        dropAll();
    }

    /** Which listings are stale is not known: none is kept. */
    synchronized void forgetAll() {
        dropAll();
    }

    private void dropAll() {
        held.clear();
        messages = 0;
    }

    private void drop(long mailboxId) {
        Listing l = held.remove(mailboxId);
        if (l != null && l.byUid != null) messages -= l.byUid.size();
    }

    /** Drops the least recently read listings but {@code keep} until both limits hold. */
    private void trim(Listing keep) {
        Iterator<Map.Entry<Long, Listing>> eldest = held.entrySet().iterator();
        while ((messages > MAX_MESSAGES || held.size() > MAX_MAILBOXES) && eldest.hasNext()) {
            Listing l = eldest.next().getValue();
            if (l == keep) continue;
            if (l.byUid != null) messages -= l.byUid.size();
            eldest.remove();
        }
    }

    private static List<MessageMeta> slice(NavigableMap<Long, MessageMeta> byUid, UidRange range) {
        return new ArrayList<>(byUid.subMap(range.first(), true, range.last(), true).values());
    }
}
