package org.castellan.server.outbound;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import org.castellan.protocol.mail.EmailAddress;
import org.castellan.protocol.smtp.DeliveryReport;
import org.castellan.protocol.smtp.Dsn;
import org.castellan.protocol.smtp.SmtpCommand;
import org.castellan.store.Directory;
import org.castellan.store.Mailboxes;
import org.castellan.store.Route;
import org.castellan.store.StoreException;
import org.castellan.store.queue.NewQueuedMessage;
import org.castellan.store.queue.NewQueuedRecipient;
import org.castellan.store.queue.OutboundQueue;
import org.castellan.store.queue.QueuedMessage;
import org.castellan.store.queue.QueuedRecipient;
import org.castellan.store.queue.RecipientState;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Delivery status notifications for the outbound queue (docs/outbound.md §4; RFC 3461, RFC 3464):
 * a bounce for recipients that failed, a success report for delivered ones whose NOTIFY asked for
 * it, and a delay warning for recipients still queued {@code delay-warning} after the message
 * arrived whose NOTIFY allows one. Per message and kind, one notification covers every recipient
 * that needs it.
 *
 * <p>A notification goes from the null reverse-path to the message's envelope sender: into the
 * sender's INBOX when the address routes to a local account, otherwise into the queue as a new
 * message with sender {@code <>} and NOTIFY=NEVER. A message whose own sender is {@code <>} never
 * gets one (RFC 5321 §4.5.5, RFC 3461 §4.1), so a notification about a notification cannot
 * happen and bounces cannot loop; its recipients are only marked reported.
 *
 * <p>It runs after the engine records results ({@link #afterRecord}) and on its own timer every
 * {@link #PERIOD}, so nothing depends on being told. Passes never overlap.
 *
 * <p>Crashes: a notification is stored (delivered or enqueued, durably) before its recipients are
 * marked reported, so a crash never loses one; a crash between the two makes the same
 * notification again on the next pass, so a sender may rarely get one twice. A notification that
 * cannot be stored (the sender's mailbox is over quota, the store is unavailable) leaves its
 * recipients unmarked and is tried again on the next pass.
 *
 * <p>SECURITY: a notification names only the message's own recipients and the replies about them,
 * and goes only to the message's own sender; content is returned only as RET asked (RFC 3461
 * §4.3), and never more than {@link NotificationMessage#MAX_RETURNED} octets of it.
 */
public final class Notifier implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(Notifier.class);

    /** How often the queue is looked at without being told: results recorded anyway are reported within a minute. */
    public static final Duration PERIOD = Duration.ofMinutes(1);
    /** Messages read per query; a pass goes on while queries come back full and everything in them was settled. */
    static final int BATCH = 100;
    /** What the queue's operator view shows as where a notification came from. */
    static final String RECEIVED_FROM = "castellan notifier";

    /** The kinds of notification, the NOTIFY keyword that asks for each and what it marks. */
    enum Kind {
        /** RFC 3464 §2.3.3 "failed". */
        FAILED(Dsn.Notify.FAILURE, OutboundQueue.Report.FINAL),
        /** "relayed" or "delivered": RFC 3461 §4.1 SUCCESS. */
        DELIVERED(Dsn.Notify.SUCCESS, OutboundQueue.Report.FINAL),
        /** "delayed": RFC 3461 §4.1 DELAY. */
        DELAYED(Dsn.Notify.DELAY, OutboundQueue.Report.DELAY);

        final Dsn.Notify askedBy;
        final OutboundQueue.Report marks;

        Kind(Dsn.Notify askedBy, OutboundQueue.Report marks) {
            this.askedBy = askedBy;
            this.marks = marks;
        }
    }

    /**
     * What one message needs now: the recipients each notification covers, and the recipients
     * that need none (NOTIFY said so, or the sender is null) but must be marked all the same.
     */
    record Plan(QueuedMessage message, Map<Kind, List<QueuedRecipient>> notices, Map<Kind, List<QueuedRecipient>> silent) {
    }

    /** What one pass did. */
    public record Pass(int notifications, int purged) {}

    /** Where a notification to a local sender goes: the sender's route, then its INBOX. */
    private final Directory directory;
    private final Mailboxes store;
    private final OutboundQueue queue;
    private final String hostname;
    private final Duration delayWarning;
    private final Duration giveUp;
    private final Clock clock;
    private final ReentrantLock passes = new ReentrantLock();
    private final Semaphore wake = new Semaphore(0);
    private volatile boolean closed;
    private Thread timer;

    /**
     * @param hostname the reporting MTA's name (RFC 3464 §2.2.2) and the notification's Message-ID domain
     * @param delayWarning how long after arrival a recipient still queued gets a delay warning
     * @param giveUp how long after arrival the engine gives a recipient up, for a delay warning's Will-Retry-Until
     */
    public <S extends Directory & Mailboxes> Notifier(S store, OutboundQueue queue, String hostname, Duration delayWarning,
            Duration giveUp, Clock clock) {
        if (!delayWarning.isPositive() || !giveUp.isPositive()) {
            throw new IllegalArgumentException("delay-warning and give-up must be positive");
        }
        this.directory = store;
        this.store = store;
        this.queue = queue;
        this.hostname = hostname;
        this.delayWarning = delayWarning;
        this.giveUp = giveUp;
        this.clock = clock;
    }

    /** Starts the timer: a pass every {@link #PERIOD}, and one soon after each {@link #afterRecord}. */
    public Notifier start() {
        timer = Thread.ofVirtual().name("castellan-notifier").start(this::loop);
        return this;
    }

    /** Asks for a pass soon; returns at once. The engine calls it after each {@link OutboundQueue#record}. */
    public void afterRecord() {
        wake.release();
    }

    private void loop() {
        while (!closed) {
            try {
                wake.tryAcquire(PERIOD.toMillis(), TimeUnit.MILLISECONDS);
                wake.drainPermits();
                if (closed) return;
                runOnce();
            } catch (InterruptedException e) {
                return;
            } catch (StoreException e) {
                // The store is closing or busy; the next tick tries again.
                log.warn("notifier: pass failed, trying again in {}: {}", PERIOD, e.getMessage());
            } catch (RuntimeException e) {
                // A bug, not a condition: said loudly, and the timer lives on for the messages it does not touch.
                log.error("notifier: pass failed, trying again in {}", PERIOD, e);
            }
        }
    }

    /**
     * One pass: every message that needs a notification gets it, its recipients are marked, and
     * finished messages are purged. Waits for a pass under way to end first.
     */
    public Pass runOnce() {
        passes.lock();
        try {
            Instant now = clock.instant();
            int made = 0;
            while (true) {
                List<QueuedMessage> batch = queue.needingNotification(now.minus(delayWarning), BATCH);
                boolean settled = true;
                for (QueuedMessage m : batch) {
                    Plan plan = plan(m, now.minus(delayWarning));
                    int before = made;
                    made += settle(plan, now);
                    settled &= made - before == plan.notices().size();
                }
                if (batch.size() < BATCH || !settled) break;
            }
            return new Pass(made, queue.purgeFinished());
        } finally {
            passes.unlock();
        }
    }

    /**
     * What {@code m} needs when delay warnings are due for messages that arrived at or before
     * {@code delayCutoff}: RFC 3461 §4.1 — FAILURE for a failed recipient, SUCCESS for a delivered
     * one, DELAY for one still queued; none at all for a message from the null sender.
     */
    static Plan plan(QueuedMessage m, Instant delayCutoff) {
        Map<Kind, List<QueuedRecipient>> notices = new EnumMap<>(Kind.class);
        Map<Kind, List<QueuedRecipient>> silent = new EnumMap<>(Kind.class);
        // RFC 5321 §4.5.5: never a notification to the null reverse-path.
        boolean nullSender = m.sender().isEmpty();
        for (QueuedRecipient r : m.recipients()) {
            Kind kind = switch (r.state()) {
                case FAILED -> r.finalReported() ? null : Kind.FAILED;
                case DELIVERED -> r.finalReported() ? null : Kind.DELIVERED;
                case QUEUED -> r.delayReported() || m.arrival().isAfter(delayCutoff) ? null : Kind.DELAYED;
            };
            if (kind == null) continue;
            boolean asked = !nullSender && r.notifyOn().contains(kind.askedBy);
            (asked ? notices : silent).computeIfAbsent(kind, k -> new ArrayList<>()).add(r);
        }
        return new Plan(m, notices, silent);
    }

    /** Makes and stores the plan's notifications, then marks; returns how many were stored. */
    private int settle(Plan plan, Instant now) {
        int stored = 0;
        for (Kind kind : Kind.values()) {
            List<QueuedRecipient> covered = plan.notices().getOrDefault(kind, List.of());
            List<Long> mark = new ArrayList<>();
            plan.silent().getOrDefault(kind, List.of()).forEach(r -> mark.add(r.id()));
            if (!covered.isEmpty()) {
                try {
                    send(plan.message(), kind, covered, now);
                    stored++;
                    covered.forEach(r -> mark.add(r.id()));
                } catch (StoreException e) {
                    log.warn("notifier: cannot store the {} notification for queued message {} to <{}>, trying again"
                            + " on the next pass: {}", kind.name().toLowerCase(java.util.Locale.ROOT), plan.message().id(),
                            plan.message().sender(), e.getMessage());
                }
            }
            // Only after the notification is durable (see the class comment).
            queue.markReported(mark, kind.marks);
        }
        return stored;
    }

    /** Renders the notification and stores it: into a local sender's INBOX, or into the queue. */
    private void send(QueuedMessage m, Kind kind, List<QueuedRecipient> covered, Instant now) {
        DeliveryReport.Composed report;
        try (var content = queue.openContent(m.id())) {
            report = NotificationMessage.render(hostname, m, kind, covered, content, m.arrival().plus(giveUp), now);
        } catch (java.io.IOException e) {
            throw StoreException.unavailable("cannot read queued message " + m.id() + ": " + e.getMessage(), e);
        }
        byte[] notification = report.message();
        Optional<Route> local = localRoute(m.sender());
        if (local.isPresent()) {
            // RFC 5321 §4.4: final delivery records the (null) reverse-path.
            byte[] withPath = NotificationMessage.withReturnPath(notification);
            store.deliver(List.of(local.get().inboxId()), withPath, Set.of(), null);
            log.info("notifier: {} notification for queued message {} delivered to <{}>", kind.name().toLowerCase(
                    java.util.Locale.ROOT), m.id(), m.sender());
            return;
        }
        NewQueuedMessage bounce = new NewQueuedMessage("", Optional.empty(), Dsn.Ret.HDRS,
                report.eightBit() ? SmtpCommand.Body.EIGHT_BIT_MIME : SmtpCommand.Body.SEVEN_BIT,
                report.smtpUtf8() || !StandardCharsets.US_ASCII.newEncoder().canEncode(m.sender()), false,
                Optional.empty(), RECEIVED_FROM, now,
                List.of(new NewQueuedRecipient(m.sender(), Set.of(), Optional.empty())));
        QueuedMessage queued = queue.enqueue(bounce, new ByteArrayInputStream(notification));
        log.info("notifier: {} notification for queued message {} queued as {} for <{}>", kind.name().toLowerCase(
                java.util.Locale.ROOT), m.id(), queued.id(), m.sender());
    }

    /** The local account the sender's address reaches, if its domain is local and it is one. */
    private Optional<Route> localRoute(String sender) {
        EmailAddress.Parsed parsed = EmailAddress.parse(sender);
        if (!parsed.ok()) return Optional.empty();
        EmailAddress address = parsed.address().orElseThrow();
        if (directory.getDomain(address.domain()).isEmpty()) return Optional.empty();
        return directory.route(address);
    }

    /** Stops the timer; a pass under way finishes first. */
    @Override
    public void close() {
        closed = true;
        if (timer != null) {
            wake.release();
            try {
                timer.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
