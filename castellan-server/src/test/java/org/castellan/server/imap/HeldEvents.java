package org.castellan.server.imap;

import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.castellan.server.testing.Transcript;
import org.castellan.server.transport.Connection;
import org.castellan.store.EventSubscription;

/**
 * Holds back the store's change events for one mailbox, to show what a session answers while
 * another session's committed change is still on its way to it. A real store listener,
 * subscribed before any session selects the mailbox so that it is called first: while it waits,
 * the store's event thread delivers nothing to anyone.
 */
final class HeldEvents implements AutoCloseable {

    /** No test holds events longer than this; past it the store is let go so the test can fail cleanly. */
    private static final Duration MAX_HOLD = Duration.ofSeconds(20);

    private final ImapTestServer imap;
    private final EventSubscription subscription;
    private volatile CountDownLatch gate = new CountDownLatch(0);

    private HeldEvents(ImapTestServer imap, long mailbox) {
        this.imap = imap;
        this.subscription = imap.store().subscribe(mailbox, event -> {
            try {
                gate.await(MAX_HOLD.toSeconds(), TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
    }

    /** Subscribe before the sessions select the mailbox. */
    static HeldEvents on(ImapTestServer imap, long mailbox) {
        return new HeldEvents(imap, mailbox);
    }

    /** From now on events wait until {@link #release}. */
    void hold() {
        gate = new CountDownLatch(1);
    }

    void release() {
        gate.countDown();
    }

    /**
     * Sends {@code line} on {@code t}, waits until the server has read it, then releases the held
     * events. The server acts on input in the same event-loop task that reads it, so a session that
     * did not wait for the store has answered before the events can reach it.
     */
    void sendThenRelease(Transcript t, String line) {
        Connection c = connectionOf(t);
        long before = c.bytesIn();
        t.send(line);
        await().atMost(MAX_HOLD).until(() -> c.bytesIn() >= before + line.length() + 2);
        release();
    }

    private Connection connectionOf(Transcript t) {
        int port = t.socket().getLocalPort();
        return imap.server.sessions().list().stream().filter(c -> c.remote().getPort() == port).findFirst().orElseThrow();
    }

    @Override
    public void close() {
        release();
        subscription.close();
    }
}
