package org.castellan.server.imap;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedSet;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import org.castellan.protocol.imap.SequenceSet;
import org.castellan.store.EventSubscription;
import org.castellan.store.Flags;
import org.castellan.store.Mailbox;
import org.castellan.store.StoreEvent;

/**
 * The selected mailbox as this session's client knows it: the UIDs in message-sequence-number
 * order (RFC 9051 §2.3.1.2), changed only when the client is told.
 *
 * <p><b>How changes reach the client.</b> The store calls the session's listener with every
 * committed change, in commit order, on its event thread; the listener hops each event to the
 * session's event loop and hands it to {@link #event}, which queues it in {@link #pending} and
 * notes how far the view has heard ({@link #heardModSeq}). Nothing the client sees changes until
 * {@link #drain}, which the session calls only where RFC 9051 §7 allows untagged responses: at the
 * end of a command and while idling. Before draining at the end of a command the session
 * synchronises with the store ({@link #whenHeard} with {@link org.castellan.store.Mailboxes#publishedModSeq}),
 * so every change committed before the command started is reported by its end (RFC 9051 §5.2).
 * During FETCH, STORE and SEARCH by sequence number expunges are held back in {@link #heldExpunges}
 * (RFC 9051 §7.5.1) while additions and flag changes are told; the next drain that may report
 * expunges reports them first. Until then a sequence number the client uses still means what it
 * meant when the client last heard.
 *
 * <p>Confined to the session's event loop, except {@link #ownModSeq}; commands running on the
 * blocking executor read {@link #uids} and {@link #recent} only while the session is busy, when
 * nothing changes them.
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
    /** Expunges that reached the view during FETCH, STORE or SEARCH by sequence number; null when none. */
    private ArrayDeque<StoreEvent.MessagesExpunged> heldExpunges;
    /**
     * MODSEQs of this session's own flag changes: their events need no unsolicited FETCH. Added
     * to by commands on the blocking executor, so made once under a lock and then concurrent.
     */
    private volatile Set<Long> ownModSeqs;
    private EventSubscription subscription;
    private boolean deleted;
    /** The highest MODSEQ of the mailbox this view has heard of, from the opening or an event, told to the client or not. */
    private long heardModSeq;
    /** The highest MODSEQ up to which the client has been told of every change (RFC 7162 HIGHESTMODSEQ). */
    private long toldModSeq;
    /** The highest UID ever in the view: an added UID at or below it is known already, or already gone. */
    private long highestUid;
    /** Runs once the view has heard up to a MODSEQ: commands waiting to tell the client everything. */
    private List<Map.Entry<Long, Runnable>> waiters;
    /** RFC 3501 §2.3.2: the messages this session reports as \Recent (IMAP4rev1 sessions only). */
    private final SortedSet<Long> recent = new TreeSet<>();
    /** The keywords the client has been told of in FLAGS (RFC 9051 §7.3.5). */
    private final SortedSet<String> keywords = new TreeSet<>();

    private volatile boolean closed;

    /** Subscribe first, then {@link #init} with the listing: no change falls between the two. */
    SelectedMailbox(Mailbox mailbox, boolean readOnly, boolean condStore) {
        this.mailbox = mailbox;
        this.readOnly = readOnly;
        this.condStore = condStore;
    }

    void subscription(EventSubscription s) { this.subscription = s; }

    /**
     * The UIDs listed after subscribing; events queued meanwhile are reconciled by {@link #drain}.
     *
     * @param uidNext the mailbox's UIDNEXT read before the listing: every UID below it is in the
     *     listing or was expunged before it, so an event adding it is stale
     */
    void init(List<Long> listed, long uidNext) {
        uids.clear();
        uids.addAll(listed);
        highestUid = Math.max(maxUid(), uidNext - 1);
    }

    /**
     * On the event loop, once the view is opened: the store had published up to {@code published}
     * when the view subscribed, and the client is told the mailbox as of {@code highestModSeq}.
     */
    void opened(long published, long highestModSeq) {
        heardModSeq = Math.max(heardModSeq, published);
        toldModSeq = highestModSeq;
    }

    void close() {
        closed = true;
        if (subscription != null) subscription.close();
        runWaiters(Long.MAX_VALUE); // nobody will hear more; let the commands finish
    }

    /** Whether the view has heard of every change up to {@code modSeq}. */
    boolean heardUpTo(long modSeq) {
        return closed || heardModSeq >= modSeq;
    }

    /**
     * Runs {@code then} on the event loop once this view has heard of every change up to
     * {@code modSeq}: the store publishes a commit's events before the writing call returns, but
     * they reach this view a little later, on the store's event thread and then the event loop.
     */
    void whenHeard(long modSeq, Runnable then) {
        if (heardUpTo(modSeq)) {
            then.run();
        } else {
            if (waiters == null) waiters = new ArrayList<>(1);
            waiters.add(Map.entry(modSeq, then));
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

    /** A copy of the UIDs in sequence-number order. */
    List<Long> uidsInOrder() { return List.copyOf(uids); }

    /** The sequence number of {@code uid}, or 0 when it is not in the view. */
    int msnOf(long uid) {
        int i = Collections.binarySearch(uids, uid);
        return i >= 0 ? i + 1 : 0;
    }

    boolean deleted() { return deleted; }

    /** RFC 7162: the HIGHESTMODSEQ the client may be told; no expunge it has not heard of lies below it. */
    long toldModSeq() { return toldModSeq; }

    // ---- \Recent and keywords

    /** Adds the UIDs in the view from {@code firstRecent} on to this session's recent messages. */
    void recentFrom(long firstRecent, Collection<Long> candidates) {
        for (long uid : candidates) if (uid >= firstRecent && msnOf(uid) > 0) recent.add(uid);
    }

    boolean isRecent(long uid) { return recent.contains(uid); }

    int recentCount() { return recent.size(); }

    /** The flags the client sees: the stored ones, and \Recent when this session reports the message as recent. */
    Set<String> flagsOf(long uid, Set<String> stored) {
        if (!recent.contains(uid)) return stored;
        Set<String> out = new TreeSet<>(stored);
        out.add(RECENT);
        return out;
    }

    /** RFC 3501 §2.3.2: a flag the server sets, never stored. */
    static final String RECENT = "\\Recent";

    /**
     * Takes note of keywords among {@code flags}; true when one is new to the client, which must
     * then be sent a new FLAGS ({@link #flagsLine}).
     */
    boolean learnKeywords(Collection<String> flags) {
        boolean added = false;
        for (String f : flags) {
            if (!f.startsWith("\\") && !Flags.SYSTEM.contains(f)) added |= keywords.add(f);
        }
        return added;
    }

    /** RFC 9051 §7.3.5: the system flags and every keyword the client has been told of. */
    String flagsList() {
        StringBuilder b = new StringBuilder("(\\Answered \\Flagged \\Deleted \\Seen \\Draft");
        for (String k : keywords) b.append(' ').append(k);
        return b.append(')').toString();
    }

    /** The {@code FLAGS} and {@code OK [PERMANENTFLAGS]} lines (RFC 9051 §7.1, §7.3.5), without "* ". */
    List<String> flagsLines() {
        String list = flagsList();
        // "\*": new keywords may be created; a read-only session may change nothing.
        String permanent = readOnly ? "()" : list.substring(0, list.length() - 1) + " \\*)";
        return List.of("FLAGS " + list, "OK [PERMANENTFLAGS " + permanent + "] Flags permitted");
    }

    // ---- SEARCHRES

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
     * @return null when a sequence number is beyond the mailbox, "*" of an empty one included (the client gets BAD)
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
            // RFC 9051 §9 seq-number: 1 to the message count; "*" is the count of a non-empty mailbox.
            if (Math.max(a, b) > max || Math.min(a, b) < 1) return null;
            for (long n = Math.min(a, b); n <= Math.max(a, b); n++) out.add(uids.get((int) n - 1));
        }
        return out;
    }

    /** This session removed {@code uid}: returns the sequence number it had, 0 if absent. */
    int remove(long uid) {
        int msn = msnOf(uid);
        if (msn > 0) uids.remove(msn - 1);
        recent.remove(uid);
        return msn;
    }

    // ---- events

    /** Called on the event loop with each store event, in commit order. */
    void event(StoreEvent e) {
        if (pending == null) pending = new ArrayDeque<>(4);
        pending.add(e);
        long modSeq = StoreEvent.modSeqOf(e);
        if (modSeq > heardModSeq) {
            heardModSeq = modSeq;
            runWaiters(modSeq);
        }
    }

    /** Whether a drain would tell the client something (expunges held back included). */
    boolean hasPending() {
        return (pending != null && !pending.isEmpty()) || (heldExpunges != null && !heldExpunges.isEmpty());
    }

    /**
     * The events {@link #drain} with {@code expungesAllowed} is to apply, oldest first: the held
     * expunges when they may go now, then the pending events, without their expunges when those
     * are to be held (RFC 5267 contexts read them first).
     */
    List<StoreEvent> pendingEvents(boolean expungesAllowed) {
        List<StoreEvent> events = new ArrayList<>();
        if (expungesAllowed && heldExpunges != null) events.addAll(heldExpunges);
        if (pending != null) {
            for (StoreEvent e : pending) {
                if (expungesAllowed || !(e instanceof StoreEvent.MessagesExpunged)) events.add(e);
            }
        }
        return events;
    }

    /**
     * What {@link #drain} produced: lines to send now, UIDs whose new flags must be fetched, UIDs
     * that came in (for \Recent), and whether a keyword new to the client came with them.
     */
    record Update(List<String> lines, SortedSet<Long> flagUids, SortedSet<Long> added, boolean newKeywords) {}

    /**
     * Applies the queued events to the view and returns the untagged responses that tell the
     * client. EXPUNGE lines carry the number each message had when it was removed; with
     * {@code vanished} (QRESYNC enabled) one {@code VANISHED uids} line per commit replaces them
     * (RFC 7162 §3.2.10), naming only UIDs the client knows. Without {@code expungesAllowed}
     * (during FETCH, STORE, SEARCH by sequence number, RFC 9051 §7.5.1) expunges are held back for
     * a later drain; messages they remove keep their numbers meanwhile, so the EXISTS sent for
     * new messages still counts them.
     */
    Update drain(boolean vanished, boolean expungesAllowed) {
        Drain d = new Drain(vanished);
        if (expungesAllowed) {
            while (heldExpunges != null && !heldExpunges.isEmpty()) d.expunge(heldExpunges.poll());
            heldExpunges = null;
        }
        long applied = 0;
        while (pending != null && !pending.isEmpty()) {
            StoreEvent e = pending.poll();
            applied = Math.max(applied, StoreEvent.modSeqOf(e));
            switch (e) {
                case StoreEvent.MessageAdded a -> {
                    for (long uid : a.uids()) {
                        if (uid > highestUid) {
                            uids.add(uid);
                            highestUid = uid;
                            d.added.add(uid);
                            d.grew = true;
                        }
                    }
                    d.newKeywords |= learnKeywords(a.keywords());
                }
                case StoreEvent.MessagesExpunged x -> {
                    if (expungesAllowed) {
                        d.expunge(x);
                    } else {
                        if (heldExpunges == null) heldExpunges = new ArrayDeque<>(2);
                        heldExpunges.add(x);
                    }
                }
                case StoreEvent.FlagsChanged f -> {
                    if (!wasOwn(f.modSeq())) {
                        for (long uid : f.uids()) if (msnOf(uid) > 0) d.flagUids.add(uid);
                    }
                }
                case StoreEvent.MailboxDeleted m -> deleted = true;
                case StoreEvent.MailboxRenamed r -> { }
            }
        }
        if (d.grew) d.lines.add(uids.size() + " EXISTS");
        pending = null;
        // Everything up to the last event drained has been told, but for an expunge held back.
        long told = heldExpunges == null ? applied : Math.min(applied, heldExpunges.peek().modSeq() - 1);
        toldModSeq = Math.max(toldModSeq, told);
        d.added.removeIf(uid -> msnOf(uid) == 0);
        return new Update(d.lines, d.flagUids, d.added, d.newKeywords);
    }

    /** One drain's output under construction. */
    private final class Drain {
        final boolean vanished;
        final List<String> lines = new ArrayList<>();
        final SortedSet<Long> flagUids = new TreeSet<>();
        final SortedSet<Long> added = new TreeSet<>();
        boolean grew;
        boolean newKeywords;

        Drain(boolean vanished) {
            this.vanished = vanished;
        }

        void expunge(StoreEvent.MessagesExpunged x) {
            if (grew) {
                // RFC 9051 §7.5.1: numbers in EXPUNGE refer to the mailbox as last told, EXISTS included.
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
    }
}
