package org.castellan.store.embedded.internal;

import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.function.Consumer;
import org.castellan.store.EventSubscription;
import org.castellan.store.StoreEvent;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Delivers committed events to listeners on one thread, in the order they were published, so
 * that no listener runs on the writer thread or on a caller's thread.
 */
public final class EventDispatcher implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(EventDispatcher.class);

    /** Queued marker: everything before it has been delivered, stop. */
    private static final StoreEvent STOP = new StoreEvent.MailboxDeleted(-1, "");

    private final ConcurrentHashMap<Long, CopyOnWriteArrayList<Consumer<StoreEvent>>> listeners = new ConcurrentHashMap<>();
    private final LinkedBlockingQueue<StoreEvent> queue = new LinkedBlockingQueue<>();
    private final Thread thread;

    public EventDispatcher(String threadName) {
        thread = Thread.ofPlatform().name(threadName).daemon(true).unstarted(this::loop);
        thread.start();
    }

    public EventSubscription subscribe(long mailboxId, Consumer<StoreEvent> listener) {
        Consumer<StoreEvent> own = listener::accept; // a distinct instance, so one close removes one registration
        listeners.computeIfAbsent(mailboxId, k -> new CopyOnWriteArrayList<>()).add(own);
        return () -> listeners.computeIfPresent(mailboxId, (k, list) -> {
            list.remove(own);
            return list.isEmpty() ? null : list;
        });
    }

    /**
     * The MODSEQ of each mailbox's latest published change. Updated before the event is queued,
     * so a listener registered before a reader saw a value hears every change above it.
     */
    private final ConcurrentHashMap<Long, Long> published = new ConcurrentHashMap<>();

    public void publish(List<StoreEvent> events) {
        if (events.isEmpty()) return;
        for (StoreEvent e : events) {
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
            StoreEvent event;
            try {
                event = queue.take();
            } catch (InterruptedException e) {
                continue; // nobody interrupts this thread; close() queues STOP
            }
            if (event == STOP) return;
            List<Consumer<StoreEvent>> targets = listeners.get(event.mailboxId());
            if (targets == null) continue;
            for (Consumer<StoreEvent> listener : targets) {
                try {
                    listener.accept(event);
                } catch (RuntimeException e) {
                    log.warn("A mail store listener failed on {} for mailbox {}", event.getClass().getSimpleName(),
                            event.mailboxId(), e);
                }
            }
            // Nothing more can happen to a deleted mailbox; drop its listeners.
            if (event instanceof StoreEvent.MailboxDeleted) listeners.remove(event.mailboxId());
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
