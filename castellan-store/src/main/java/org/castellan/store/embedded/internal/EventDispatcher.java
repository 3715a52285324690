package org.castellan.store.embedded.internal;

import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.castellan.store.AccountEvent;
import org.castellan.store.EventSubscription;
import org.castellan.store.StoreEvent;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Delivers committed events to listeners on one thread, in the order they were published, so
 * that no listener runs on the writer thread or on a caller's thread. A change inside a mailbox
 * goes to that mailbox's listeners first, then to its account's listeners.
 *
 * <p>A listener hears the events published after it subscribed, and only those. Ids are
 * reused (SQLite gives a deleted mailbox's or account's id to the next one when it was the
 * highest), so an event of the old mailbox may still be queued when a listener subscribes to the
 * new one; it is not for that listener, and the old mailbox's deletion must not end the new
 * subscription. What was published before a subscription is committed before it too, so a
 * reader that subscribes first and then reads sees it.
 */
public final class EventDispatcher implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(EventDispatcher.class);

    /** Queued marker: everything before it has been delivered, stop. */
    private static final AccountEvent STOP = new AccountEvent.SubscriptionChanged(-1, "", false);

    private final ConcurrentHashMap<Long, CopyOnWriteArrayList<Listener<StoreEvent>>> listeners = new ConcurrentHashMap<>();
    /** Account listeners (IMAP NOTIFY sessions); usually empty, so most events cost one look-up here. */
    private final ConcurrentHashMap<Long, CopyOnWriteArrayList<Listener<AccountEvent>>> accountListeners =
            new ConcurrentHashMap<>();
    /** How many batches have been published: a listener hears the batches numbered above this when it subscribed. */
    private final AtomicLong batches = new AtomicLong();
    /**
     * The MODSEQ of each mailbox's latest published change. Updated before the event is queued,
     * so a listener registered before a reader saw a value hears every change above it.
     */
    private final ConcurrentHashMap<Long, Long> published = new ConcurrentHashMap<>();

    private final LinkedBlockingQueue<Queued> queue = new LinkedBlockingQueue<>();
    private final Thread thread;

    public EventDispatcher(String threadName) {
        thread = Thread.ofPlatform().name(threadName).daemon(true).unstarted(this::loop);
        thread.start();
    }

    public EventSubscription subscribe(long mailboxId, Consumer<StoreEvent> listener) {
        return register(listeners, mailboxId, listener);
    }

    public EventSubscription subscribeAccount(long accountId, Consumer<AccountEvent> listener) {
        return register(accountListeners, accountId, listener);
    }

    /** One subscription: the listener, and how many batches had been published when it subscribed. */
    private record Listener<E>(Consumer<E> consumer, long since) {}

    /** An event and the number of the batch it was published in. */
    private record Queued(AccountEvent event, long batch) {}

    private <E> EventSubscription register(ConcurrentHashMap<Long, CopyOnWriteArrayList<Listener<E>>> map, long key,
            Consumer<E> listener) {
        Listener<E> own = new Listener<>(listener, batches.get()); // a distinct instance, so one close removes one registration
        map.computeIfAbsent(key, k -> new CopyOnWriteArrayList<>()).add(own);
        return () -> map.computeIfPresent(key, (k, list) -> {
            list.remove(own);
            return list.isEmpty() ? null : list;
        });
    }

    public void publish(List<AccountEvent> events) {
        if (events.isEmpty()) return;
        for (AccountEvent a : events) {
            if (!(a instanceof AccountEvent.MailboxChanged changed)) continue;
            StoreEvent e = changed.change();
            if (e instanceof StoreEvent.MailboxDeleted) {
                // SQLite may give the id to the next mailbox, whose MODSEQs start again at 1.
                published.remove(e.mailboxId());
            } else {
                long modSeq = StoreEvent.modSeqOf(e);
                if (modSeq > 0) published.merge(e.mailboxId(), modSeq, Math::max);
            }
        }
        // Called by the writer thread only, so one batch's events stay together and in order. The
        // MODSEQs above are published first: a listener that subscribes after the count moves
        // on does not hear this batch, and a reader after it sees them in publishedModSeq.
        long batch = batches.incrementAndGet();
        for (AccountEvent a : events) queue.add(new Queued(a, batch));
    }

    /**
     * Records that the mailbox's changes up to {@code modSeq} are committed and need not be waited
     * for: the store read it before a listener subscribed, which hears only what follows.
     */
    public void committedBefore(long mailboxId, long modSeq) {
        if (modSeq > 0) published.merge(mailboxId, modSeq, Math::max);
    }

    /** The mailboxes that have a listener now. */
    public Set<Long> watchedMailboxes() {
        return Set.copyOf(listeners.keySet());
    }

    /** The accounts that have a listener now. */
    public Set<Long> watchedAccounts() {
        return Set.copyOf(accountListeners.keySet());
    }

    /** See {@link org.castellan.store.MailStore#publishedModSeq}. */
    public long publishedModSeq(long mailboxId) {
        return published.getOrDefault(mailboxId, 0L);
    }

    private void loop() {
        while (true) {
            Queued queued;
            try {
                queued = queue.take();
            } catch (InterruptedException e) {
                continue; // nobody interrupts this thread; close() queues STOP
            }
            AccountEvent event = queued.event();
            if (event == STOP) return;
            long batch = queued.batch();
            if (event instanceof AccountEvent.MailboxChanged m) {
                StoreEvent change = m.change();
                deliver(listeners.get(change.mailboxId()), change, change.mailboxId(), batch);
                // Nothing more can happen to a deleted mailbox; drop its listeners, not those of a
                // new mailbox that has its id already.
                if (change instanceof StoreEvent.MailboxDeleted) {
                    listeners.computeIfPresent(change.mailboxId(), (id, list) -> {
                        list.removeIf(l -> l.since() < batch);
                        return list.isEmpty() ? null : list;
                    });
                }
            }
            deliver(accountListeners.get(event.accountId()), event, event.accountId(), batch);
        }
    }

    private static <E> void deliver(List<Listener<E>> targets, E event, long key, long batch) {
        if (targets == null) return;
        for (Listener<E> listener : targets) {
            if (listener.since() >= batch) continue; // published before it subscribed
            try {
                listener.consumer().accept(event);
            } catch (RuntimeException e) {
                // The boundary between the store and its listeners (sessions): one listener's bug
                // must not keep the event from the others nor stop this thread; it is logged with its stack.
                log.warn("A mail store listener failed on {} for {}", event.getClass().getSimpleName(), key, e);
            }
        }
    }

    /** Delivers what is queued, then stops. */
    @Override
    public void close() {
        queue.add(new Queued(STOP, Long.MAX_VALUE));
        boolean interrupted = false;
        while (thread.isAlive()) {
            try {
                thread.join();
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) Thread.currentThread().interrupt();
    }
}
