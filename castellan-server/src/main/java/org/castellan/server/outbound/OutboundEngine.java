package org.castellan.server.outbound;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.IDN;
import java.net.InetSocketAddress;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicInteger;
import org.castellan.protocol.smtp.SmtpError;
import org.castellan.server.config.Outbound;
import org.castellan.server.config.OutboundTls;
import org.castellan.server.dns.MailRouting;
import org.castellan.server.outbound.OutboundSession.Deferred;
import org.castellan.server.outbound.OutboundSession.Delivered;
import org.castellan.server.outbound.OutboundSession.Envelope;
import org.castellan.server.outbound.OutboundSession.Failed;
import org.castellan.server.outbound.OutboundSession.Failure;
import org.castellan.server.outbound.OutboundSession.Outcome;
import org.castellan.server.outbound.OutboundSession.Target;
import org.castellan.store.StoreException;
import org.castellan.store.queue.AttemptResult;
import org.castellan.store.queue.DueMessage;
import org.castellan.store.queue.OutboundQueue;
import org.castellan.store.queue.QueuedMessage;
import org.castellan.store.queue.QueuedRecipient;
import org.castellan.store.queue.RecipientState;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The delivery engine (docs/outbound.md §4): one scheduler thread leases due recipients from the
 * queue, groups them by destination (a static route, or the recipient domain) and runs each group
 * of up to {@code max-messages-per-connection} messages on a virtual thread over one connection,
 * at most {@code max-connections-per-destination} at a time per destination.
 *
 * <p>SECURITY: trusts the queue; sends only what was enqueued, to the hosts routing names. Every
 * attempt's result is recorded with {@link OutboundQueue#record} before it is logged or acted on,
 * so a recipient the receiver acknowledged is {@code DELIVERED} before anything else happens and
 * is never sent again (docs/outbound.md §2).
 *
 * <p>Failure: a store failure while recording ends the group; its leases lapse and the recipients
 * become due again (an acknowledged one may then be sent twice: RFC 5321 §6.1 prefers that to a
 * loss). {@link #close} stops the scheduler and interrupts sessions; their leases lapse, nothing
 * is lost.
 */
public final class OutboundEngine implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(OutboundEngine.class);

    /**
     * How long a lease holds. Longer than the longest attempt with the default timeouts (connect,
     * greeting, EHLO, STARTTLS, MAIL, RCPT, DATA, data blocks and the final reply add up to about
     * 40 minutes when every step takes its full RFC 5321 §4.5.3.2 time), since a lease that lapsed
     * under a running attempt would let a second attempt start.
     */
    static final Duration LEASE = Duration.ofHours(1);
    /**
     * A group starts no further connection or message once this much of its lease has passed; the
     * recipients left are made due again at once, so no attempt outlives its lease.
     */
    static final Duration ATTEMPT_BUDGET = Duration.ofMinutes(20);
    /** Recipients leased at once: a scheduler round's worth, not the whole queue. */
    static final int LEASE_BATCH = 1000;
    /** Groups running at once across all destinations; more wait in the queue, unleased. */
    static final int MAX_GROUPS = 200;
    /** Longest sleep without a due recipient: a clock change or a lapsed lease is noticed within it. */
    static final Duration MAX_SLEEP = Duration.ofMinutes(1);
    /** Shortest sleep, so that a queue reporting a due time in the past cannot make the scheduler spin. */
    static final Duration MIN_SLEEP = Duration.ofMillis(200);
    /** How long {@link #close} waits for sessions it interrupted. */
    private static final Duration STOP_WAIT = Duration.ofSeconds(5);

    private final OutboundQueue queue;
    private final Router router;
    private final Outbound settings;
    private final String heloName;
    private final Clock clock;
    private final Map<String, Semaphore> destinations = new ConcurrentHashMap<>();
    private final Set<Thread> running = ConcurrentHashMap.newKeySet();
    private final AtomicInteger groups = new AtomicInteger();
    private final Object signal = new Object();
    private boolean woken;
    private volatile boolean stopped;
    private Thread scheduler;

    /**
     * @param mx MX routing for domains without a static route; empty defers them
     * @param heloName the name in EHLO: {@code outbound.hostname} or {@code server.hostname}
     * @param clock the time of leases, retries and give-up (tests move it)
     */
    public OutboundEngine(OutboundQueue queue, Optional<MailRouting> mx, Outbound settings, String heloName, Clock clock) {
        this.queue = queue;
        this.router = new Router(settings.routes(), mx);
        this.settings = settings;
        this.heloName = heloName;
        this.clock = clock;
    }

    public OutboundQueue queue() {
        return queue;
    }

    /**
     * A domain as routing and the queue use it: lower case, A-labels for an internationalized
     * name (RFC 5890 §2.3.2.1), so that DNS and static routes see one spelling.
     */
    public static String routingDomain(String domain) {
        String lower = domain.toLowerCase(Locale.ROOT);
        if (lower.chars().allMatch(c -> c < 0x80)) return lower;
        try {
            return IDN.toASCII(lower, IDN.ALLOW_UNASSIGNED).toLowerCase(Locale.ROOT);
        } catch (IllegalArgumentException e) {
            return lower; // not a valid IDN: routing will not find it, and says so
        }
    }

    /** Starts the scheduler thread; returns at once. */
    public OutboundEngine start() {
        scheduler = Thread.ofPlatform().name("outbound-scheduler").daemon().start(this::schedule);
        return this;
    }

    /** Makes the scheduler look for due recipients now: a message was enqueued or made due. */
    public void wake() {
        synchronized (signal) {
            woken = true;
            signal.notifyAll();
        }
    }

    /**
     * The refusal at RCPT for a remote domain (docs/outbound.md §1): a null MX (RFC 7505 §3) or a
     * domain that does not exist; empty when the mail may be queued, a DNS failure included (the
     * queue retries). Blocks on DNS.
     */
    public Optional<SmtpError> refusal(String domain) {
        if (router.staticRoute(domain).isPresent()) return Optional.empty();
        Router.Plan plan = router.plan(domain);
        return switch (plan) {
            case Router.Fail f when f.reply().startsWith("5.1.10") ->
                    Optional.of(new SmtpError(556, "5.1.10", "Recipient domain " + domain + " accepts no mail (null MX)"));
            case Router.Fail f -> Optional.of(new SmtpError(550, "5.1.2", "Recipient domain " + domain + " does not exist"));
            default -> Optional.empty();
        };
    }

    private void schedule() {
        while (!stopped) {
            try {
                int leased = groups.get() < MAX_GROUPS ? leaseAndRun() : 0;
                if (leased == 0) sleep();
            } catch (StoreException | UncheckedIOException e) {
                LOG.warn("outbound: cannot lease from the queue: {}", e.getMessage());
                sleep();
            }
        }
    }

    private void sleep() {
        Instant now = clock.instant();
        Duration wait = MAX_SLEEP;
        if (groups.get() < MAX_GROUPS) {
            Optional<Instant> next = queue.nextAttempt();
            if (next.isPresent()) wait = Duration.between(now, next.get());
        }
        if (wait.compareTo(MIN_SLEEP) < 0) wait = MIN_SLEEP;
        if (wait.compareTo(MAX_SLEEP) > 0) wait = MAX_SLEEP;
        synchronized (signal) {
            long end = System.nanoTime() + wait.toNanos();
            while (!woken && !stopped) {
                long left = end - System.nanoTime();
                if (left <= 0) break;
                try {
                    signal.wait(Math.max(1, left / 1_000_000));
                } catch (InterruptedException e) {
                    return;
                }
            }
            woken = false;
        }
    }

    private int leaseAndRun() {
        Instant now = clock.instant();
        List<DueMessage> due = queue.lease(now, now.plus(LEASE), LEASE_BATCH);
        Map<String, List<DueMessage>> byDestination = new LinkedHashMap<>();
        for (DueMessage d : due) byDestination.computeIfAbsent(router.destination(d.domain()), k -> new ArrayList<>()).add(d);
        for (Map.Entry<String, List<DueMessage>> e : byDestination.entrySet()) {
            List<DueMessage> all = e.getValue();
            for (int i = 0; i < all.size(); i += settings.maxMessagesPerConnection()) {
                List<DueMessage> group = List.copyOf(all.subList(i, Math.min(all.size(), i + settings.maxMessagesPerConnection())));
                groups.incrementAndGet();
                Thread t = Thread.ofVirtual().name("outbound " + e.getKey()).unstarted(() -> {
                    try {
                        runGroup(e.getKey(), group, now);
                    } finally {
                        groups.decrementAndGet();
                        running.remove(Thread.currentThread());
                        wake();
                    }
                });
                running.add(t);
                t.start();
            }
        }
        return due.size();
    }

    private void runGroup(String destination, List<DueMessage> group, Instant leasedAt) {
        Semaphore slots = destinations.computeIfAbsent(destination, k -> new Semaphore(settings.maxConnectionsPerDestination()));
        try {
            slots.acquire();
        } catch (InterruptedException e) {
            return; // stopping: the leases lapse
        }
        try {
            deliverGroup(group, leasedAt);
        } catch (StoreException | UncheckedIOException e) {
            LOG.warn("outbound {}: stopped, the queue failed: {}; the leased recipients become due again", destination,
                    e.getMessage());
        } finally {
            slots.release();
        }
    }

    private void deliverGroup(List<DueMessage> group, Instant leasedAt) {
        Router.Plan plan = router.plan(group.get(0).domain());
        Connection connection = new Connection();
        try {
            for (DueMessage m : group) {
                if (stopped) return;
                if (clock.instant().isAfter(leasedAt.plus(ATTEMPT_BUDGET))) {
                    record(m, null, m.recipients().stream().<Outcome>map(r -> new Deferred("4.4.0 Not attempted within the lease; due again")).toList(),
                            true);
                    continue;
                }
                switch (plan) {
                    case Router.Fail f -> record(m, null, same(m, new Failed(f.reply())), false);
                    case Router.Defer d -> record(m, null, same(m, new Deferred(d.reply())), false);
                    case Router.Hosts h -> deliver(m, h, connection);
                }
            }
        } finally {
            connection.close();
        }
    }

    private static List<Outcome> same(DueMessage m, Outcome o) {
        return m.recipients().stream().map(r -> o).toList();
    }

    /** The session a group reuses from one message to the next. */
    private static final class Connection {
        OutboundSession session;

        void close() {
            if (session != null) session.close();
            session = null;
        }
    }

    /** Tries the hosts in order, each of their addresses, until one gives replies for the recipients. */
    private void deliver(DueMessage m, Router.Hosts plan, Connection connection) {
        QueuedMessage message = m.message();
        Envelope envelope = new Envelope(message.sender(), m.recipients().stream().map(QueuedRecipient::address).toList(),
                message.size(), message.body(), message.smtpUtf8(), message.ret(), message.envid(),
                m.recipients().stream().map(QueuedRecipient::notifyOn).toList(),
                m.recipients().stream().map(QueuedRecipient::orcpt).toList());
        String last = null;
        if (connection.session != null && connection.session.usable()) {
            try {
                List<Outcome> outcomes = send(connection.session, envelope, message.id());
                record(m, connection.session, outcomes, false);
                return;
            } catch (Failure f) {
                last = f.reply();
                connection.close();
            }
        }
        connection.close();
        for (Router.Hop hop : plan.hops()) {
            if (hop.addresses().isEmpty()) last = hop.failure();
            for (InetSocketAddress address : hop.addresses()) {
                if (stopped) return;
                Target target = new Target(hop.host(), address, plan.tls(), plan.caFile(), false);
                try {
                    connection.session = connect(target);
                    List<Outcome> outcomes = send(connection.session, envelope, message.id());
                    record(m, connection.session, outcomes, false);
                    return;
                } catch (Failure f) {
                    last = f.reply();
                    LOG.info("outbound msg={} relay={} tls={}: {}", message.id(), target.describe(),
                            connection.session == null ? "-" : connection.session.tls(), f.reply());
                    connection.close();
                }
            }
        }
        record(m, null, same(m, new Deferred(last == null ? "4.4.4 No host to try" : last)), false);
    }

    /** Opens a session; under opportunistic TLS a failed handshake is retried in cleartext, as Postfix does. */
    private OutboundSession connect(Target target) throws Failure {
        try {
            return OutboundSession.open(target, settings, heloName);
        } catch (Failure f) {
            if (!f.handshake() || target.tls() != OutboundTls.OPPORTUNISTIC) throw f;
            LOG.info("outbound relay={}: {}; trying again without TLS", target.describe(), f.reply());
            return OutboundSession.open(new Target(target.host(), target.address(), target.tls(), target.caFile(), true),
                    settings, heloName);
        }
    }

    private List<Outcome> send(OutboundSession session, Envelope envelope, long messageId) throws Failure {
        try (InputStream content = queue.openContent(messageId)) {
            return session.send(envelope, content);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read queued message " + messageId + ": " + e.getMessage(), e);
        }
    }

    /**
     * Records the outcomes first, then logs them. A deferral past {@code give-up} fails; the next
     * attempt backs off from {@code retry-initial}, doubling to {@code retry-max}, never after the
     * give-up time, so that the final attempt comes on time.
     *
     * @param dueNow the recipients were not attempted: due again at once
     */
    private void record(DueMessage m, OutboundSession session, List<Outcome> outcomes, boolean dueNow) {
        Instant now = clock.instant();
        Optional<String> host = session == null ? Optional.empty() : Optional.of(session.target().describe());
        Instant giveUpAt = m.message().arrival().plus(settings.giveUp());
        List<AttemptResult> results = new ArrayList<>();
        for (int i = 0; i < outcomes.size(); i++) {
            QueuedRecipient r = m.recipients().get(i);
            AttemptResult result = switch (outcomes.get(i)) {
                case Delivered d -> new AttemptResult(r.id(), RecipientState.DELIVERED, now, Optional.empty(), d.reply(), host);
                case Failed f -> new AttemptResult(r.id(), RecipientState.FAILED, now, Optional.empty(), f.reply(), host);
                case Deferred d when dueNow -> new AttemptResult(r.id(), RecipientState.QUEUED, now, Optional.of(now), d.reply(), host);
                case Deferred d when !now.isBefore(giveUpAt) -> new AttemptResult(r.id(), RecipientState.FAILED, now,
                        Optional.empty(), "4.4.7 Delivery time expired after " + hours(settings.giveUp())
                        + "; last attempt: " + d.reply(), host); // RFC 3463 §3.5
                case Deferred d -> new AttemptResult(r.id(), RecipientState.QUEUED, now,
                        Optional.of(min(now.plus(backoff(r.attempts())), giveUpAt)), d.reply(), host);
            };
            results.add(result);
        }
        queue.record(results);
        String relay = host.orElse("none");
        String tls = session == null ? "-" : session.tls();
        for (int i = 0; i < results.size(); i++) {
            AttemptResult r = results.get(i);
            String status = switch (r.state()) {
                case DELIVERED -> "sent";
                case FAILED -> "bounced";
                case QUEUED -> "deferred";
            };
            LOG.info("outbound msg={} to=<{}> relay={} tls={} status={} ({})", m.message().id(),
                    m.recipients().get(i).address(), relay, tls, status, r.reply());
        }
    }

    private Duration backoff(int attempts) {
        Duration d = settings.retryInitial();
        for (int i = 0; i < attempts && d.compareTo(settings.retryMax()) < 0; i++) d = d.multipliedBy(2);
        return d.compareTo(settings.retryMax()) > 0 ? settings.retryMax() : d;
    }

    private static String hours(Duration d) {
        return d.toHours() >= 48 && d.toHours() % 24 == 0 ? d.toDays() + " days" : d.toMinutes() + " minutes";
    }

    private static Instant min(Instant a, Instant b) {
        return a.isBefore(b) ? a : b;
    }

    /** Stops the scheduler and interrupts running sessions; their leases lapse and nothing is lost. */
    @Override
    public void close() {
        stopped = true;
        wake();
        if (scheduler != null) {
            try {
                scheduler.join(STOP_WAIT.toMillis());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        for (Thread t : running) t.interrupt();
        long end = System.nanoTime() + STOP_WAIT.toNanos();
        for (Thread t : running) {
            long left = end - System.nanoTime();
            if (left <= 0) break;
            try {
                t.join(Math.max(1, left / 1_000_000));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }
}
