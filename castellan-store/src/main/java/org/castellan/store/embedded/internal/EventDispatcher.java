package org.castellan.store.embedded.internal;

import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
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
 */
public final class EventDispatcher implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(EventDispatcher.class);

    /** Queued marker: everything before it has been delivered, stop. */
    private static final AccountEvent STOP = new AccountEvent.SubscriptionChanged(-1, "", false);

    private final ConcurrentHashMap<Long, CopyOnWriteArrayList<Consumer<StoreEvent>>> listeners = new ConcurrentHashMap<>();
    /** Account listeners (IMAP NOTIFY sessions); usually empty, so most events cost one look-up here. */
    private final ConcurrentHashMap<Long, CopyOnWriteArrayList<Consumer<AccountEvent>>> accountListeners =
            new ConcurrentHashMap<>();
    /**
     * The MODSEQ of each mailbox's latest published change. Updated before the event is queued,
     * so a listener registered before a reader saw a value hears every change above it.
     */
    private final ConcurrentHashMap<Long, Long> published = new ConcurrentHashMap<>();

    private final LinkedBlockingQueue<AccountEvent> queue = new LinkedBlockingQueue<>();
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

    private static <E> EventSubscription register(ConcurrentHashMap<Long, CopyOnWriteArrayList<Consumer<E>>> map, long key,
            Consumer<E> listener) {
        Consumer<E> own = listener::accept; // a distinct instance, so one close removes one registration
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
        // Called by the writer thread only, so one batch's events stay together and in order.
        queue.addAll(events);
    }

    /** See {@link org.castellan.store.MailStore#publishedModSeq}. */
    public long publishedModSeq(long mailboxId) {
        return published.getOrDefault(mailboxId, 0L);
    }

    private void loop() {
        while (true) {
            AccountEvent event;
            try {
                event = queue.take();
            } catch (InterruptedException e) {
                continue; // nobody interrupts this thread; close() queues STOP
            }
            if (event == STOP) return;
            if (event instanceof AccountEvent.MailboxChanged m) {
                StoreEvent change = m.change();
                deliver(listeners.get(change.mailboxId()), change, change.mailboxId());
                // Nothing more can happen to a deleted mailbox; drop its listeners.
                if (change instanceof StoreEvent.MailboxDeleted) listeners.remove(change.mailboxId());
            }
            deliver(accountListeners.get(event.accountId()), event, event.accountId());
        }
    }

    private static <E> void deliver(List<Consumer<E>> targets, E event, long key) {
        if (targets == null) return;
        for (Consumer<E> listener : targets) {
            try {
                listener.accept(event);
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
        queue.add(STOP);
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
