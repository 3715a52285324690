package org.castellan.server.imap;

import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.castellan.protocol.imap.FetchAttribute;
import org.castellan.store.Mailboxes;
import org.castellan.store.MessageMeta;
import org.castellan.store.StoreEvent;
import org.castellan.store.StoreException;
import org.castellan.store.UidRange;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * RFC 5465 §5.2 {@code MessageNew (fetch-att ...)} for the selected mailbox: once the client has
 * heard a new message's EXISTS, an unsolicited FETCH with the requested attributes, except for
 * messages the session's own APPEND or COPY added (it knows them). Part of a {@link Notifier},
 * confined to the session's event loop like it.
 *
 * <p>Bounded: what is due is one {@code [first, last]} UID range per commit (the store gives a
 * commit's messages consecutive UIDs), so a COPY of any size is one entry; at most
 * {@link #FETCH_BATCH} messages are read per turn, and each response has gone to the socket before
 * the next message is read.
 */
final class NewMessageFetches {

    private static final Logger log = LoggerFactory.getLogger(NewMessageFetches.class);

    /** New messages fetched per turn; each may carry a whole message (BODY[]). */
    static final int FETCH_BATCH = 16;

    private final ImapSession session;
    /** MessageNew's fetch attributes, the UID first. */
    private final List<FetchAttribute> attributes;
    private final ArrayDeque<long[]> ranges = new ArrayDeque<>();
    /** The mailbox {@link #ranges} are in: the selected one when they were noted. */
    private long mailbox;
    /** UIDs of the session's own APPEND or COPY whose commit has not been heard of yet. */
    private final Set<Long> own = new HashSet<>();

    NewMessageFetches(ImapSession session, List<FetchAttribute> attributes) {
        this.session = session;
        this.attributes = List.copyOf(attributes);
    }

    /** New messages in the selected mailbox. */
    void added(StoreEvent.MessageAdded a) {
        in(a.mailboxId());
        // Not filtered by what the view knows: with SELECTED the view may have told the client
        // already. A commit that SELECT's listing also saw gets a FETCH the client did not need,
        // which is harmless; its EXISTS went out with SELECT.
        long first = a.uids().first();
        long last = a.uids().last();
        if (own.removeIf(uid -> uid >= first && uid <= last)) return;
        ranges.add(new long[] {first, last});
    }

    /** The session's APPEND or COPY put {@code uid} into {@code mailboxId}: its commit gets no FETCH. */
    void ownAddition(long mailboxId, long uid) {
        if (session.selected().map(v -> v.mailbox.id() != mailboxId).orElse(true)) return; // another mailbox gets STATUS
        in(mailboxId);
        if (!ranges.removeIf(r -> r[0] <= uid && uid <= r[1])) own.add(uid);
    }

    /** What is noted is for {@code mailboxId}, the selected mailbox: what was noted for another one is forgotten. */
    private void in(long mailboxId) {
        if (mailbox == mailboxId) return;
        clear();
        mailbox = mailboxId;
    }

    void clear() {
        ranges.clear();
        own.clear();
    }

    /** Commits whose FETCH responses are due. */
    int pending() {
        return ranges.size();
    }

    /**
     * Reads and sends the FETCH responses of up to {@link #FETCH_BATCH} new messages the client
     * has heard of, as the session's blocking work. False when none is ready.
     */
    boolean fetch() {
        SelectedMailbox view = session.selected().filter(v -> v.mailbox.id() == mailbox).orElse(null);
        if (view == null) {
            clear();
            return false;
        }
        List<Long> ready = ready(view);
        if (ready.isEmpty()) return false;
        Mailboxes store = session.service().store();
        StructureCache cache = session.service().structures();
        boolean condStore = session.condStoreOn(view);
        session.blocking(() -> {
            List<MessageMeta> metas = new ArrayList<>(store.listMessages(view.mailbox.id(), new UidRange(ready.get(0),
                    ready.get(ready.size() - 1))));
            metas.removeIf(m -> !ready.contains(m.uid()));
            // RFC 5465 §5.2: attributes without .PEEK set \Seen, as in FETCH (the client SHOULD NOT ask for them).
            Set<Long> seen = !view.readOnly && Fetch.setsSeen(attributes) ? Fetch.markSeen(store, view, metas) : Set.of();
            // The sender waits while the client does not read: the session runs nothing else, and
            // notifications wait (bounded), until a large response is on its way.
            FetchOutput.Sender sender = new FetchOutput.Sender(session, store, view.mailbox.id());
            for (MessageMeta m : metas) send(sender, store, cache, view, m, seen.contains(m.uid()), condStore);
            // Flushed on the event loop when the blocking work is done (LineSession#await).
            sender.finish();
            return null;
        }, done -> { }, e -> log.warn("{} imap notification FETCH failed: {}", session.connection().logId(), e.toString()));
        return true;
    }

    /** Up to {@link #FETCH_BATCH} UIDs the view holds (their EXISTS is out), taken from the ranges. */
    private List<Long> ready(SelectedMailbox view) {
        List<Long> ready = new ArrayList<>();
        while (!ranges.isEmpty() && ready.size() < FETCH_BATCH) {
            long[] range = ranges.peek();
            long heard = Math.min(range[1], view.maxUid());
            // UIDs the view lacks were expunged before the client heard of them.
            int msn = firstAtOrAbove(view, range[0]);
            for (; msn <= view.count() && view.uidAt(msn) <= heard && ready.size() < FETCH_BATCH; msn++) {
                ready.add(view.uidAt(msn));
            }
            range[0] = msn <= view.count() && view.uidAt(msn) <= heard ? view.uidAt(msn) : heard + 1;
            if (range[0] <= range[1]) break; // the rest next turn, or once its EXISTS is out
            ranges.poll();
        }
        return ready;
    }

    /** The sequence number of the first UID at or above {@code uid}; past the end when there is none. */
    private static int firstAtOrAbove(SelectedMailbox view, long uid) {
        int lo = 1;
        int hi = view.count() + 1;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (view.uidAt(mid) < uid) lo = mid + 1;
            else hi = mid;
        }
        return lo;
    }

    /** Blocking: one FETCH response; a message that cannot be fetched any more gets just its UID. */
    private void send(FetchOutput.Sender sender, Mailboxes store, StructureCache cache, SelectedMailbox view, MessageMeta m,
            boolean seen, boolean condStore) {
        int msn = view.msnOf(m.uid());
        try {
            sender.send(Fetch.response(store, cache, view.mailbox.id(), msn, m, attributes, seen, condStore, session, view));
        } catch (StoreException | Fetch.UnknownCte e) {
            log.info("{} imap notification FETCH of UID {} failed: {}", session.connection().logId(), m.uid(), e.toString());
            FetchOutput uidOnly = new FetchOutput();
            uidOnly.text("* " + msn + " FETCH (UID " + m.uid() + ")\r\n");
            sender.send(uidOnly);
        }
    }
}
