package org.castellan.server.imap;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedSet;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import org.castellan.protocol.imap.SequenceSet;
import org.castellan.store.EventSubscription;
import org.castellan.store.Mailbox;
import org.castellan.store.StoreEvent;

/**
 * The selected mailbox as this session's client knows it: the UIDs in message-sequence-number
 * order (RFC 9051 §2.3.1.2), changed only when the client is told. Store events queue up in
 * {@link #pending} and are applied by {@link #drain}, which the session calls only where RFC 9051
 * §7 allows untagged EXISTS/EXPUNGE/FETCH: at the end of a command (never during FETCH, STORE or
 * SEARCH by sequence number) and while idling. Until then a sequence number the client uses
 * still means what it meant when the client last heard.
 *
 * <p>Confined to the session's event loop, except {@link #ownModSeq}; commands running on the
 * blocking executor read {@link #uids} only while the session is busy, when nothing changes it.
 *
 * <p>Most selected mailboxes sit in IDLE for hours and hear nothing, so the collections only
 * some commands need (events not told yet, own flag changes, waiters, a saved search) are made
 * on first use and the queue of events is dropped once drained.
 */
final class SelectedMailbox {

    final Mailbox mailbox;
    final boolean readOnly;
    final boolean condStore;
    private final List<Long> uids = new ArrayList<>();
    /** Events the client has not been told of yet; null when there are none. */
    private ArrayDeque<StoreEvent> pending;
    /**
     * MODSEQs of this session's own flag changes: their events need no unsolicited FETCH. Added
     * to by commands on the blocking executor, so made once under a lock and then concurrent.
     */
    private volatile Set<Long> ownModSeqs;
    private EventSubscription subscription;
    private boolean deleted;
    /** The highest UID this view has heard of, from the listing or an event, told to the client or not. */
    private long heardUid;
    /** Runs once the view has heard of a UID: this session's own APPEND or COPY into this mailbox. */
    private List<Map.Entry<Long, Runnable>> waiters;

    private volatile boolean closed;

    /** Subscribe first, then {@link #init} with the listing: no change falls between the two. */
    SelectedMailbox(Mailbox mailbox, boolean readOnly, boolean condStore) {
        this.mailbox = mailbox;
        this.readOnly = readOnly;
        this.condStore = condStore;
    }

    void subscription(EventSubscription s) { this.subscription = s; }

    /** The UIDs listed after subscribing; events queued meanwhile are reconciled by {@link #drain}. */
    void init(List<Long> listed) {
        uids.clear();
        uids.addAll(listed);
        heardUid = Math.max(heardUid, maxUid());
    }

    void close() {
        closed = true;
        if (subscription != null) subscription.close();
        runWaiters(Long.MAX_VALUE); // nobody will hear more; let the commands finish
    }

    /**
     * Runs {@code then} on the event loop once this view has heard of {@code uid}. The store
     * publishes a commit's events after the writing call returns, so without this a session's
     * own APPEND could be answered before its EXISTS, and a SEARCH right after it miss the new
     * message (RFC 9051 §6.3.12: the client SHOULD hear EXISTS for its own append at once).
     */
    void whenHeard(long uid, Runnable then) {
        if (closed || heardUid >= uid) {
            then.run();
        } else {
            if (waiters == null) waiters = new ArrayList<>(1);
            waiters.add(Map.entry(uid, then));
        }
    }

    private void runWaiters(long upTo) {
        if (waiters == null) return;
        List<Runnable> ready = new ArrayList<>();
        waiters.removeIf(w -> {
            if (w.getKey() > upTo) return false;
            ready.add(w.getValue());
            return true;
        });
        if (waiters.isEmpty()) waiters = null;
        ready.forEach(Runnable::run);
    }

    /** Notes a MODSEQ this session's own STORE or FETCH gave: its event is not told back. */
    void ownModSeq(long modSeq) {
        Set<Long> own = ownModSeqs;
        if (own == null) {
            synchronized (this) {
                own = ownModSeqs;
                if (own == null) ownModSeqs = own = ConcurrentHashMap.newKeySet();
            }
        }
        own.add(modSeq);
    }

    private boolean wasOwn(long modSeq) {
        Set<Long> own = ownModSeqs;
        return own != null && own.remove(modSeq);
    }

    boolean closed() { return closed; }

    int count() { return uids.size(); }

    long maxUid() { return uids.isEmpty() ? 0 : uids.get(uids.size() - 1); }

    long uidAt(int msn) { return uids.get(msn - 1); }

    /** The sequence number of {@code uid}, or 0 when it is not in the view. */
    int msnOf(long uid) {
        int i = Collections.binarySearch(uids, uid);
        return i >= 0 ? i + 1 : 0;
    }

    boolean deleted() { return deleted; }

    /** RFC 5182 SEARCHRES: the UIDs of the last SEARCH ... RETURN (SAVE); empty after SELECT. */
    private SortedSet<Long> saved;

    void save(java.util.Collection<Long> uids) {
        saved = new TreeSet<>(uids);
    }

    /** The saved result, as UIDs still in the view (RFC 5182 §2.1: expunged ones drop out). */
    SortedSet<Long> saved() {
        SortedSet<Long> out = new TreeSet<>();
        if (saved == null) return out;
        for (long uid : saved) if (msnOf(uid) > 0) out.add(uid);
        return out;
    }

    /**
     * The UIDs a sequence set names, ascending. By sequence number, {@code *} is the count; by
     * UID, the largest UID (RFC 9051 §6.4.8: a UID range past the end still includes it).
     *
     * @return null when a sequence number is beyond the mailbox (the client gets BAD)
     */
    SortedSet<Long> resolve(SequenceSet set, boolean byUid) {
        if (set.savedResult()) return saved();
        SortedSet<Long> out = new TreeSet<>();
        if (byUid) {
            if (uids.isEmpty()) return out;
            long max = maxUid();
            for (SequenceSet.Range r : set.ranges()) {
                long a = r.first() == SequenceSet.STAR ? max : r.first();
                long b = r.last() == SequenceSet.STAR ? max : r.last();
                long lo = Math.min(a, b);
                long hi = Math.max(a, b);
                int from = Collections.binarySearch(uids, lo);
                if (from < 0) from = -from - 1;
                for (int i = from; i < uids.size() && uids.get(i) <= hi; i++) out.add(uids.get(i));
            }
            return out;
        }
        long max = uids.size();
        for (SequenceSet.Range r : set.ranges()) {
            long a = r.first() == SequenceSet.STAR ? max : r.first();
            long b = r.last() == SequenceSet.STAR ? max : r.last();
            if (Math.max(a, b) > max) return null;
            for (long n = Math.min(a, b); n <= Math.max(a, b); n++) out.add(uids.get((int) n - 1));
        }
        return out;
    }

    /** This session removed {@code uid}: returns the sequence number it had, 0 if absent. */
    int remove(long uid) {
        int msn = msnOf(uid);
        if (msn > 0) uids.remove(msn - 1);
        return msn;
    }

    /** Called on the event loop with each store event, in commit order. */
    void event(StoreEvent e) {
        if (pending == null) pending = new ArrayDeque<>(4);
        pending.add(e);
        if (e instanceof StoreEvent.MessageAdded a && !a.uids().isEmpty()) {
            heardUid = Math.max(heardUid, a.uids().last());
            runWaiters(heardUid);
        }
    }

    boolean hasPending() { return pending != null && !pending.isEmpty(); }

    /** The events {@link #drain} is to apply, oldest first (RFC 5267 contexts read them first). */
    List<StoreEvent> pendingEvents() { return pending == null ? List.of() : List.copyOf(pending); }

    /** What {@link #drain} produced: lines to send now, and UIDs whose new flags must be fetched. */
    record Update(List<String> lines, SortedSet<Long> flagUids) {}

    /**
     * Applies the queued events to the view and returns the untagged responses that tell the
     * client. EXPUNGE lines carry the number each message had when it was removed; with
     * {@code vanished} (QRESYNC enabled) one {@code VANISHED uids} line per commit replaces them
     * (RFC 7162 §3.2.10), naming only UIDs the client knows.
     */
    Update drain(boolean vanished) {
        List<String> lines = new ArrayList<>();
        SortedSet<Long> flagUids = new TreeSet<>();
        boolean grew = false;
        while (pending != null && !pending.isEmpty()) {
            StoreEvent e = pending.poll();
            switch (e) {
                case StoreEvent.MessageAdded a -> {
                    for (long uid : a.uids()) {
                        // UIDs only grow; one at or below the view's last is already known or already gone.
                        if (uid > maxUid()) {
                            uids.add(uid);
                            grew = true;
                        }
                    }
                }
                case StoreEvent.MessagesExpunged x -> {
                    if (grew) {
                        lines.add(uids.size() + " EXISTS");
                        grew = false;
                    }
                    List<Long> gone = new ArrayList<>(x.uids());
                    Collections.reverse(gone);
                    List<Long> known = new ArrayList<>();
                    for (long uid : gone) {
                        int msn = remove(uid);
                        if (msn > 0 && !vanished) lines.add(msn + " EXPUNGE");
                        if (msn > 0) known.add(0, uid);
                        flagUids.remove(uid);
                    }
                    if (vanished && !known.isEmpty()) lines.add("VANISHED " + SequenceSet.compact(known));
                }
                case StoreEvent.FlagsChanged f -> {
                    if (!wasOwn(f.modSeq())) {
                        for (long uid : f.uids()) if (msnOf(uid) > 0) flagUids.add(uid);
                    }
                }
                case StoreEvent.MailboxDeleted d -> deleted = true;
                case StoreEvent.MailboxRenamed r -> { }
            }
        }
        if (grew) lines.add(uids.size() + " EXISTS");
        pending = null;
        return new Update(lines, flagUids);
    }
}
