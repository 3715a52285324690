package org.castellan.server.outbound;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.IDN;
import java.net.InetSocketAddress;
import java.nio.file.Path;
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
import org.castellan.security.mailauth.DkimSigner;
import org.castellan.server.dkim.DkimKeys;
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
     * How long a lease holds unless it is renewed: how long the recipients of an engine that died
     * (its node killed, on a queue several nodes share) wait before another engine attempts them
     * (docs/store.md, "Failure"). An attempt may last far longer (connect, greeting, EHLO,
     * STARTTLS, MAIL, RCPT, DATA, data blocks and the final reply add up to about 40 minutes when
     * every step takes its full RFC 5321 §4.5.3.2 time), so a running group's leases are renewed
     * every {@link #LEASE_RENEWAL}; a lease lapses under a live engine only when it cannot reach
     * the queue for {@code LEASE - LEASE_RENEWAL}, and then at worst a message is sent twice.
     */
    static final Duration LEASE = Duration.ofMinutes(5);
    /** How often the leases of running groups are renewed: a fifth of {@link #LEASE}, so four renewals may fail in a row. */
    static final Duration LEASE_RENEWAL = Duration.ofMinutes(1);
    /**
     * A group starts no further connection or message once this long after it was leased; the
     * recipients left are made due again at once, so one slow destination cannot hold its
     * recipients' leases (renewed meanwhile) without end.
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
    /**
     * How much of a message is read for its {@code TLS-Required} field (RFC 8689 §3), which is in the
     * header section: a field beyond this is not seen, so the usual policies apply to that message.
     */
    static final int HEADER_PEEK = 64 * 1024;
    /** The names of DANE and of the operator's {@code [[outbound.tls-policy]]} in a deferral's reply. */
    private static final String DANE = "DANE";
    private static final String LOCAL_POLICY = "tls-policy";
    /** How long {@link #close} waits for sessions it interrupted. */
    private static final Duration STOP_WAIT = Duration.ofSeconds(5);

    private final OutboundQueue queue;
    private final Router router;
    private final Outbound settings;
    private final String heloName;
    private final Clock clock;
    private final Map<String, Semaphore> destinations = new ConcurrentHashMap<>();
    private final Set<Thread> running = ConcurrentHashMap.newKeySet();
    /** The recipients of running groups, whose leases {@link #renewLeases} extends; a group removes its own as it ends. */
    private final Set<Long> held = ConcurrentHashMap.newKeySet();
    /** When the leases were last renewed (the scheduler's thread only). */
    private Instant renewed;
    private final AtomicInteger groups = new AtomicInteger();
    private final Object signal = new Object();
    private boolean woken;
    private volatile boolean stopped;
    private Thread scheduler;
    /** Every MX session's TLS result, per policy, for TLS-RPT (RFC 8460 §4). */
    private final TlsRptAggregator tlsReports;
    /** MTA-STS policies (RFC 8461) of MX destinations without DANE; none applies no MTA-STS. */
    private volatile Optional<MtaStsPolicies> mtaSts = Optional.empty();
    /** CAs trusted for MTA-STS beside the system's (tests); empty in production. */
    private volatile Optional<Path> mtaStsCaFile = Optional.empty();
    /** DKIM keys by sender domain (docs/outbound.md §6); none signs nothing. */
    private volatile Optional<DkimKeys> dkim = Optional.empty();
    /** Told after each recorded batch of results; the notifier makes their notifications. */
    private volatile Runnable recorded = () -> {};

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
        this.tlsReports = new TlsRptAggregator(queue, clock);
    }

    public OutboundQueue queue() {
        return queue;
    }

    /** Signs the mail enqueued from now on with the keys {@code castellan dkim} keeps. */
    public OutboundEngine signWith(DkimKeys keys) {
        this.dkim = Optional.of(keys);
        return this;
    }

    /** Runs {@code hook} after each recorded batch of results (the notifier's cue); set before {@link #start}. */
    public OutboundEngine afterRecord(Runnable hook) {
        this.recorded = hook;
        return this;
    }

    /**
     * The DKIM signer for mail from {@code domain} (RFC 6376): its active selectors, RSA and
     * Ed25519 (RFC 8463) when both are kept; empty when the domain has no key.
     */
    public Optional<DkimSigner> signer(String domain) {
        return dkim.flatMap(k -> k.signer(routingDomain(domain)));
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

    /**
     * Applies the MTA-STS policies of recipient domains to their MX hosts (RFC 8461 §5) where DANE
     * does not apply; the engine closes them when it closes.
     *
     * @param caFile CAs an MX certificate may chain to beside the system's trust store; empty in production
     */
    public OutboundEngine applyMtaSts(MtaStsPolicies policies, Optional<Path> caFile) {
        this.mtaSts = Optional.of(policies);
        this.mtaStsCaFile = caFile;
        return this;
    }

    /** The TLS results of MX sessions counted so far, for the daily TLS-RPT reports (RFC 8460). */
    public TlsRptAggregator tlsReports() {
        return tlsReports;
    }

    /**
     * Starts the scheduler thread; returns at once. Leases left in the queue are those of a
     * process that died (one engine serves a data directory): they end now, so their recipients are
     * attempted again at once rather than when the lease would have run out (docs/outbound.md §2).
     */
    public OutboundEngine start() {
        int lapsed = queue.releaseLeases();
        if (lapsed > 0) LOG.info("outbound: {} recipient(s) leased by a previous run are due again", lapsed);
        renewed = clock.instant();
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
                renewLeases();
                int leased = groups.get() < MAX_GROUPS ? leaseAndRun() : 0;
                if (leased == 0) sleep();
            } catch (StoreException | UncheckedIOException e) {
                LOG.warn("outbound: cannot lease from the queue: {}", e.getMessage());
                sleep();
            } catch (RuntimeException e) {
                // The one scheduler must outlive a round that failed (a fault met on some entry): without
                // it no delivery at all would follow. The next round tries again; the log says why.
                LOG.error("outbound: a scheduler round failed; trying again", e);
                sleep();
            }
        }
    }

    /**
     * Every {@link #LEASE_RENEWAL}, extends the leases of the running groups' recipients to a
     * full {@link #LEASE} from now. The scheduler sleeps at most {@link #MAX_SLEEP}, no longer
     * than the renewal interval, so it comes here in time.
     */
    private void renewLeases() {
        Instant now = clock.instant();
        if (now.isBefore(renewed.plus(LEASE_RENEWAL))) return;
        List<Long> ids = List.copyOf(held);
        try {
            if (!ids.isEmpty()) queue.renewLeases(ids, now.plus(LEASE));
            renewed = now;
        } catch (StoreException e) {
            // Not marked renewed: the scheduler's next round (after its sleep) tries again.
            LOG.warn("outbound: cannot renew the leases of {} recipient(s) under way: {}", ids.size(), e.getMessage());
        }
    }

    private void sleep() {
        Instant now = clock.instant();
        Duration wait = MAX_SLEEP;
        if (groups.get() < MAX_GROUPS) {
            try {
                Optional<Instant> next = queue.nextAttempt();
                if (next.isPresent()) wait = Duration.between(now, next.get());
            } catch (StoreException e) {
                // Called from the scheduler's own error handling too: a failure here must not end the thread.
                LOG.warn("outbound: cannot read the next attempt from the queue: {}", e.getMessage());
            }
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
                List<Long> ids = group.stream().flatMap(m -> m.recipients().stream()).map(QueuedRecipient::id).toList();
                held.addAll(ids);
                Thread t = Thread.ofVirtual().name("outbound " + e.getKey()).unstarted(() -> {
                    try {
                        runGroup(e.getKey(), group, now);
                    } finally {
                        ids.forEach(held::remove);
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
        } catch (RuntimeException e) {
            // A fault the group cannot get past: logged here, since nothing else would see a virtual thread end.
            LOG.error("outbound {}: stopped by a fault; the leased recipients become due again", destination, e);
        } finally {
            slots.release();
        }
    }

    private void deliverGroup(List<DueMessage> group, Instant leasedAt) {
        Router.Plan plan = router.plan(group.get(0).domain());
        Connection connection = new Connection();
        DomainTls domainTls = new DomainTls(group.get(0).domain(), settings.tlsPolicy(group.get(0).domain()));
        try {
            for (DueMessage m : group) {
                if (stopped) return;
                if (clock.instant().isAfter(leasedAt.plus(ATTEMPT_BUDGET))) {
                    record(m, null, m.recipients().stream().<Outcome>map(r -> new Deferred("4.4.0 Not attempted within the lease; due again")).toList(),
                            true);
                    continue;
                }
                try {
                    switch (plan) {
                        case Router.Fail f -> record(m, null, same(m, new Failed(f.reply())), false);
                        case Router.Defer d -> record(m, null, same(m, new Deferred(d.reply())), false);
                        case Router.Hosts h when m.message().tlsReport() -> {
                            // Its session may have weaker TLS than the others' policy: none is shared with it.
                            connection.close();
                            deliver(m, h, connection, domainTls);
                            connection.close();
                        }
                        case Router.Hosts h -> deliver(m, h, connection, domainTls);
                    }
                } catch (UnreadableMessage e) {
                    // One message that cannot be read must not hold up the rest of its group.
                    LOG.warn("outbound msg={}: {}; deferred, the others go on", m.message().id(), e.getMessage());
                    connection.close();
                    record(m, null, same(m, new Deferred("4.3.0 The queued message cannot be read")), false);
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
        /** The session was opened after a policy failure was passed over: only a message that allows that may use it. */
        boolean passedOver;

        void close() {
            if (session != null) session.close();
            session = null;
            passedOver = false;
        }
    }

    /** Tries the hosts in order, each of their addresses, until one gives replies for the recipients. */
    private void deliver(DueMessage m, Router.Hosts plan, Connection connection, DomainTls domainTls) {
        QueuedMessage message = m.message();
        Envelope envelope = new Envelope(message.sender(), m.recipients().stream().map(QueuedRecipient::address).toList(),
                message.size(), message.body(), message.smtpUtf8(), message.ret(), message.envid(),
                m.recipients().stream().map(QueuedRecipient::notifyOn).toList(),
                m.recipients().stream().map(QueuedRecipient::orcpt).toList(), message.requireTls());
        // Only MX destinations have domain policies a message may ask to pass over; a route's is the operator's.
        RequireTlsPolicy.Demand demand = plan.mx() ? demand(message)
                : RequireTlsPolicy.demand(message.requireTls(), new byte[0]);
        String last = null;
        String refused = null; // the last hop that could not keep the message's REQUIRETLS (RFC 8689 §4.2.1)
        if (connection.session != null && connection.session.usable()
                && (!connection.passedOver || RequireTlsPolicy.mayIgnorePolicyFailure(demand))) {
            try {
                List<Outcome> outcomes = send(connection.session, envelope, message.id());
                record(m, connection.session, outcomes, false);
                return;
            } catch (Failure f) {
                last = f.reply();
                if (f.refusedHop()) refused = f.reply();
                connection.close();
            }
        }
        connection.close();
        for (Router.Hop hop : plan.hops()) {
            if (hop.addresses().isEmpty()) last = hop.failure();
            HopTls hopTls = message.tlsReport() ? reportTls(plan) : hopTls(plan, hop, domainTls, demand);
            if (hopTls instanceof Skip skip) {
                last = skip.reply(); // RFC 7672 §2.2.1, RFC 8461 §4.2: this host is not used, the next one may be
                LOG.info("outbound msg={} host={}: {}", message.id(), hop.host(), skip.reply());
                continue;
            }
            Use use = (Use) hopTls;
            for (InetSocketAddress address : hop.addresses()) {
                if (stopped) return;
                Target target = new Target(hop.host(), address, use.tls(), use.caFile(), false, use.tlsa(), use.name());
                try {
                    Opened opened = connect(target, use);
                    connection.session = opened.session();
                    connection.passedOver = opened.passedOver();
                    List<Outcome> outcomes = send(connection.session, envelope, message.id());
                    record(m, connection.session, outcomes, false);
                    return;
                } catch (Failure f) {
                    last = f.reply();
                    // RFC 8689 §4.2.1: after QUIT the next MX host is tried; the message fails only when none will do.
                    if (f.refusedHop()) refused = f.reply();
                    LOG.info("outbound msg={} relay={} tls={}: {}", message.id(), target.describe(),
                            connection.session == null ? "-" : connection.session.tls(), f.reply());
                    connection.close();
                }
            }
        }
        if (refused != null) {
            // RFC 8689 §4.2.1: no MX host could keep REQUIRETLS, so the message is not sent; the sender is told.
            record(m, null, same(m, new Failed(refused)), false);
        } else {
            record(m, null, same(m, new Deferred(last == null ? "4.4.4 No host to try" : last)), false);
        }
    }

    /**
     * What the message asks of TLS (RFC 8689): REQUIRETLS from its envelope, else whether its header
     * section has {@code TLS-Required: No}.
     */
    private RequireTlsPolicy.Demand demand(QueuedMessage message) {
        if (message.requireTls()) return RequireTlsPolicy.Demand.REQUIRE_TLS;
        try (InputStream content = queue.openContent(message.id())) {
            return RequireTlsPolicy.demand(false, content.readNBytes(HEADER_PEEK));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read queued message " + message.id() + ": " + e.getMessage(), e);
        }
    }

    /** A session, and whether it was opened after a policy failure was passed over. */
    private record Opened(OutboundSession session, boolean passedOver) {
    }

    /**
     * Opens a session and counts its TLS result for TLS-RPT; under opportunistic TLS a failed
     * handshake is retried in cleartext, as Postfix does. Where the policy's failure may be passed
     * over (an MTA-STS policy in {@code testing} mode, RFC 8461 §5; a message with
     * {@code TLS-Required: No}, RFC 8689 §4.2.2) the failure is counted and the host tried again
     * under what remains: the operator's own policy, else opportunistic TLS.
     */
    private Opened connect(Target target, Use use) throws Failure {
        try {
            OutboundSession session = OutboundSession.open(target, settings, heloName);
            use.report().ifPresent(policy -> {
                if (!session.tls().equals("none")) tlsReports.success(policy);
                else tlsReports.failure(policy, details(TlsRptResultType.STARTTLS_NOT_SUPPORTED, target));
            });
            return new Opened(session, false);
        } catch (Failure f) {
            if (use.report().isPresent() && f.tlsResult().isPresent()) {
                tlsReports.failure(use.report().get(), details(f.tlsResult().get(), target));
            }
            if (use.passOver().isPresent() && f.tlsResult().isPresent()) {
                PassOver p = use.passOver().get();
                LOG.info("outbound relay={}: {}; {}, trying again under {}", target.describe(), f.reply(), p.why(),
                        p.then().name().isEmpty() ? "opportunistic TLS" : p.then().name() + " " + p.then().tls());
                Use then = p.then();
                return new Opened(connect(new Target(target.host(), target.address(), then.tls(), then.caFile(), false,
                        List.of(), then.name()), then).session(), true);
            }
            if (!f.handshake() || target.tls() != OutboundTls.OPPORTUNISTIC) throw f;
            LOG.info("outbound relay={}: {}; trying again without TLS", target.describe(), f.reply());
            return new Opened(OutboundSession.open(target.inCleartext(), settings, heloName), false);
        }
    }

    private static TlsRptAggregator.FailureDetails details(TlsRptResultType type, Target target) {
        InetSocketAddress a = target.address();
        return TlsRptAggregator.FailureDetails.of(type, target.host(),
                a.getAddress() == null ? a.getHostString() : a.getAddress().getHostAddress());
    }

    private static TlsRptAggregator.FailureDetails hostOnly(TlsRptResultType type, String host) {
        return new TlsRptAggregator.FailureDetails(type, Optional.empty(), host, Optional.empty(), Optional.empty(),
                Optional.empty(), Optional.empty());
    }

    /** The TLS policy of one host of a destination (docs/outbound.md §5). */
    private sealed interface HopTls {
    }

    /** The host is not tried: DANE or MTA-STS rules it out ({@code reply} says why). */
    private record Skip(String reply) implements HopTls {
    }

    /**
     * The host is tried with this TLS.
     *
     * @param name the policy's name in a failure's reply ("DANE", "MTA-STS", "tls-policy"), empty for
     *     a route's own and for opportunistic TLS
     * @param report the TLS-RPT policy its session is counted under; empty for static routes
     * @param passOver when the policy's TLS check fails: the policy that still holds, tried at once
     */
    private record Use(OutboundTls tls, Optional<Path> caFile, List<MailRouting.TlsaRecord> tlsa, String name,
                       Optional<TlsRptPolicy> report, Optional<PassOver> passOver) implements HopTls {
        static Use opportunistic(Optional<TlsRptPolicy> report) {
            return new Use(OutboundTls.OPPORTUNISTIC, Optional.empty(), List.of(), "", report, Optional.empty());
        }

        /** DANE applies: the host has secure TLSA records, of which {@link #tlsa} are the usable ones. */
        boolean tlsaApplies() {
            return name.equals(DANE);
        }

        Use withCaFile(Optional<Path> file) {
            return new Use(tls, file, tlsa, name, report, passOver);
        }

        Use withReport(Optional<TlsRptPolicy> policy) {
            return new Use(tls, caFile, tlsa, name, policy, passOver);
        }

        Use withPassOver(Optional<PassOver> p) {
            return new Use(tls, caFile, tlsa, name, report, p);
        }
    }

    /** A failure of a domain's policy that does not stop delivery ({@code why}); {@code then} is tried instead. */
    private record PassOver(String why, Use then) {
    }

    /**
     * What a destination domain asks of TLS beyond DANE: its MTA-STS policy, looked up once per group,
     * and the operator's {@code [[outbound.tls-policy]]} for it.
     */
    private final class DomainTls {
        private final String domain;
        private final Optional<Outbound.TlsPolicy> local;
        private MtaStsPolicies.Lookup sts;

        DomainTls(String domain, Optional<Outbound.TlsPolicy> local) {
            this.domain = domain;
            this.local = local;
        }

        Optional<MtaStsPolicies.Applies> mtaSts() {
            if (mtaSts.isEmpty()) return Optional.empty();
            if (sts == null) {
                sts = mtaSts.get().lookup(domain);
                // RFC 8460 §4.3.2.2: a policy the domain announced that could not be fetched, or was invalid, is
                // reported as such; the sessions then go as with no policy (RFC 8461 §5.1), counted under that.
                if (sts instanceof MtaStsPolicies.NoPolicy(Optional<MtaStsFetcher.Failed> failure) && failure.isPresent()) {
                    tlsReports.failure(TlsRptPolicy.stsUnavailable(domain), new TlsRptAggregator.FailureDetails(
                            failure.get().type(), Optional.empty(), MtaStsFetcher.host(domain), Optional.empty(),
                            Optional.empty(), Optional.of(failure.get().reason()), Optional.empty()));
                }
            }
            return sts instanceof MtaStsPolicies.Applies a && a.policy().mode() != MtaStsPolicy.Mode.NONE
                    ? Optional.of(a) : Optional.empty();
        }
    }

    /**
     * The strictest policy that applies to one host (docs/outbound.md §5): a static route's own; for an
     * MX host the domain's DANE when the MX RRset and the host's addresses are DNSSEC-secure and the host
     * has secure TLSA records (RFC 7672 §2.2), else its MTA-STS policy (RFC 8461 §5; it never overrides
     * DANE, §2), else opportunistic TLS; then the operator's {@code [[outbound.tls-policy]]} where it asks
     * more. A message's {@code TLS-Required: No} passes over the domain's policies, not the operator's.
     */
    private HopTls hopTls(Router.Hosts plan, Router.Hop hop, DomainTls domainTls, RequireTlsPolicy.Demand demand) {
        if (!plan.mx()) return new Use(plan.tls(), plan.caFile(), List.of(), "", Optional.empty(), Optional.empty());
        Optional<HopTls> dane = dane(plan, hop, domainTls.domain);
        Optional<Outbound.TlsPolicy> local = domainTls.local;
        if (local.isPresent() && local.get().tls() == OutboundTls.DANE_ONLY) {
            // Postfix's dane-only: DANE authenticates the host or it is not used; nothing weaker, whatever the message says.
            if (dane.isEmpty()) return new Skip("4.7.5 " + LOCAL_POLICY + ": dane-only, and " + hop.host()
                    + " has no DNSSEC-secure TLSA records");
            if (dane.get() instanceof Use u && u.tlsa().isEmpty()) {
                return new Skip("4.7.5 " + LOCAL_POLICY + ": dane-only, and no TLSA record of " + hop.host() + " is usable");
            }
            return dane.get();
        }
        HopTls domainPolicy = dane.isPresent() ? dane.get() : mtaSts(hop, domainTls);
        Use floor = local.map(p -> new Use(p.tls(), p.caFile(), List.of(), LOCAL_POLICY, Optional.empty(), Optional.empty()))
                .orElse(Use.opportunistic(Optional.empty()));
        // RFC 8689 §4.2.2: TLS-Required: No asks that the recipient domain's DANE and MTA-STS not stop the
        // message; the operator's own policy is the sender side's and still holds.
        boolean tlsOptional = RequireTlsPolicy.mayIgnorePolicyFailure(demand);
        if (domainPolicy instanceof Skip skip) return tlsOptional ? floor : skip;
        Use u = (Use) domainPolicy;
        if (u.name().isEmpty()) return local.isPresent() ? floor.withReport(u.report()) : u; // no domain policy applies
        if (u.tlsa().isEmpty() && u.tlsaApplies() && local.isPresent() && local.get().tls() == OutboundTls.VERIFY_NAME) {
            // RFC 7672 §2.2: with no usable TLSA record DANE asks only for TLS; the operator asks more.
            return floor.withReport(u.report());
        }
        if (u.tls() == OutboundTls.VERIFY_NAME && local.isPresent() && local.get().caFile().isPresent()) {
            u = u.withCaFile(local.get().caFile()); // the CAs the operator trusts for this domain
        }
        if (u.passOver().isPresent()) return u.withPassOver(Optional.of(new PassOver(u.passOver().get().why(), floor)));
        if (tlsOptional) return u.withPassOver(Optional.of(new PassOver("the message has TLS-Required: No", floor)));
        return u;
    }

    /**
     * DANE for one MX host (RFC 7672 §2.2.1, §2.2.2: it needs a secure MX RRset and secure addresses
     * of the host): the host's TLSA records, a skip when their look-up failed; empty when DANE does not
     * apply (no TLSA records, or insecure DNS).
     */
    private Optional<HopTls> dane(Router.Hosts plan, Router.Hop hop, String domain) {
        if (!plan.dnssec() || !hop.dnssec()) return Optional.empty();
        return switch (router.tlsa(hop.host())) {
            // RFC 7672 §2.2: a failed or bogus TLSA look-up may hide records: the host is not used, in clear or otherwise.
            case MailRouting.TlsaFailure f -> {
                tlsReports.failure(TlsRptPolicy.tlsa(domain, hop.host(), List.of()),
                        hostOnly(TlsRptResultType.DNSSEC_INVALID, hop.host()));
                yield Optional.of(new Skip("4.7.5 DANE: TLSA lookup failed for " + hop.host() + ": " + f.reason()));
            }
            // RFC 7672 §2.2: with no usable record TLS is still required, any certificate will do.
            case MailRouting.SecureTlsa t when !t.records().isEmpty() -> Optional.of(new Use(OutboundTls.REQUIRE,
                    Optional.empty(), DaneVerifier.usable(t.records()), DANE,
                    Optional.of(TlsRptPolicy.tlsa(domain, hop.host(), t.records())), Optional.empty()));
            default -> Optional.empty(); // no TLSA records: DANE does not apply to this host
        };
    }

    /** The domain's MTA-STS policy for one MX host where DANE does not apply (RFC 8461 §5). */
    private HopTls mtaSts(Router.Hop hop, DomainTls domainTls) {
        String domain = domainTls.domain;
        Optional<MtaStsPolicies.Applies> sts = domainTls.mtaSts();
        if (sts.isEmpty()) return Use.opportunistic(Optional.of(TlsRptPolicy.none(domain)));
        MtaStsPolicy policy = sts.get().policy();
        boolean enforce = policy.mode() == MtaStsPolicy.Mode.ENFORCE;
        TlsRptPolicy report = TlsRptPolicy.sts(domain, policyText(policy), policy);
        if (!policy.mxAllowed(hop.host())) {
            tlsReports.failure(report, hostOnly(TlsRptResultType.VALIDATION_FAILURE, hop.host()));
            // RFC 8461 §4.1: under enforce an MX host the policy does not list is not used.
            if (enforce) {
                return new Skip("4.7.5 MTA-STS: " + hop.host() + " is not an MX host the policy of " + domain + " lists");
            }
            return Use.opportunistic(Optional.empty());
        }
        // RFC 8461 §4.2: STARTTLS with a certificate valid for the MX host name; under testing a failure is
        // reported, not enforced (§5).
        Optional<PassOver> testing = enforce ? Optional.empty()
                : Optional.of(new PassOver("the MTA-STS policy is in testing mode", Use.opportunistic(Optional.empty())));
        return new Use(OutboundTls.VERIFY_NAME, mtaStsCaFile, List.of(), "MTA-STS", Optional.of(report), testing);
    }

    /**
     * RFC 8460 §3: "sending MTAs MUST deliver reports despite any TLS-related failures and SHOULD
     * NOT include this SMTP session in the next report". A TLS report goes with opportunistic TLS
     * where DANE, MTA-STS or a route's {@code require} or {@code verify-name} would defer it, and its
     * session is not counted; a route that says {@code none} keeps its cleartext.
     */
    private static HopTls reportTls(Router.Hosts plan) {
        if (!plan.mx() && plan.tls() == OutboundTls.NONE) return new Use(OutboundTls.NONE, Optional.empty(), List.of(), "",
                Optional.empty(), Optional.empty());
        return Use.opportunistic(Optional.empty());
    }

    /** The policy as RFC 8461 §3.2 writes it, for the TLS-RPT report's {@code policy-string}. */
    private static String policyText(MtaStsPolicy policy) {
        StringBuilder b = new StringBuilder("version: STSv1\nmode: ").append(policy.mode().text()).append('\n');
        policy.mx().forEach(mx -> b.append("mx: ").append(mx).append('\n'));
        return b.append("max_age: ").append(policy.maxAge().toSeconds()).append('\n').toString();
    }

    private List<Outcome> send(OutboundSession session, Envelope envelope, long messageId) throws Failure {
        InputStream opened;
        try {
            opened = queue.openContent(messageId);
        } catch (StoreException e) {
            // Its body is gone (a damaged blob directory, or the operator deleted the message meanwhile).
            if (e.kind() == StoreException.Kind.NOT_FOUND) throw new UnreadableMessage(e.getMessage(), e);
            throw e;
        }
        try (InputStream content = opened) {
            return session.send(envelope, content);
        } catch (IOException e) {
            throw new UnreadableMessage("cannot read queued message " + messageId + ": " + e.getMessage(), e);
        }
    }

    /** A queued message's content cannot be read: that message is deferred, the others of its group go on. */
    private static final class UnreadableMessage extends RuntimeException {
        UnreadableMessage(String message, Exception cause) {
            super(message, cause);
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
        if (session != null && session.offersDsn()) {
            // RFC 3461 §5.2.2: a receiver that offers DSN reports delivery itself; no "relayed" report from here.
            List<Long> passedOn = results.stream().filter(r -> r.state() == RecipientState.DELIVERED)
                    .map(AttemptResult::recipientId).toList();
            queue.markReported(passedOn, OutboundQueue.Report.FINAL);
        }
        recorded.run();
        String relay = host.orElse("none");
        String tls = session == null ? "-" : session.tls();
        String policy = session == null ? "-" : session.policy();
        for (int i = 0; i < results.size(); i++) {
            AttemptResult r = results.get(i);
            String status = switch (r.state()) {
                case DELIVERED -> "sent";
                case FAILED -> "bounced";
                case QUEUED -> "deferred";
            };
            LOG.info("outbound msg={} to=<{}> relay={} tls={} policy={} status={} ({})", m.message().id(),
                    m.recipients().get(i).address(), relay, tls, policy, status, r.reply());
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

    /**
     * Stops the scheduler and interrupts running sessions; their leases lapse and nothing is lost.
     * Then closes the MTA-STS policies it applies.
     */
    @Override
    public void close() {
        try {
            stopSessions();
        } finally {
            mtaSts.ifPresent(MtaStsPolicies::close); // after the sessions, so that none sees a closed client as a fetch failure
        }
    }

    private void stopSessions() {
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
