package org.castellan.server.outbound;

import java.io.ByteArrayInputStream;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import org.castellan.protocol.smtp.Dsn;
import org.castellan.protocol.smtp.SmtpCommand;
import org.castellan.security.mailauth.DkimSigner;
import org.castellan.security.mailauth.DnsLookup;
import org.castellan.store.queue.NewQueuedMessage;
import org.castellan.store.queue.NewQueuedRecipient;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sends the daily TLS reports (RFC 8460 §4.1): shortly after each midnight UTC, after a random
 * delay of up to {@link #MAX_DELAY}, it drains the engine's {@link TlsRptAggregator} and, for each
 * policy domain whose {@code _smtp._tls} TXT record names destinations, enqueues the report mail
 * for every {@code mailto:} (DKIM-signed when the server's host name has keys) and POSTs it to
 * every {@code https:} (docs/outbound.md §5).
 *
 * <p>The reporting organization is the server's host name; reports come from, and questions go to,
 * {@code postmaster@<host name>} (RFC 8460 §4.4 {@code contact-info}, §5.3 From).
 *
 * <p>Failure: a look-up that fails or a POST that is refused is logged and that destination misses
 * the day's report; counts are drained either way, so a report never covers more than its day.
 * Never throws out of {@link #sendNow}.
 */
public final class TlsRptSender implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(TlsRptSender.class);

    /** RFC 8460 §4.1: reports SHOULD be sent after a random delay, to spread the load on receivers. */
    public static final Duration MAX_DELAY = Duration.ofHours(1);
    /** How the queue records where the report mail came from. */
    private static final String RECEIVED_FROM = "local TLS reporting";

    private final OutboundEngine engine;
    private final DnsLookup dns;
    private final String hostname;
    private final TlsRptPost post;
    private final Clock clock;
    private final Duration maxDelay;
    private Thread scheduler;

    /**
     * @param hostname the reporting host: organization name, submitter and the sender's domain
     * @param maxDelay the random delay after midnight is below this ({@link #MAX_DELAY} in service)
     */
    public TlsRptSender(OutboundEngine engine, DnsLookup dns, String hostname, TlsRptPost post, Clock clock,
            Duration maxDelay) {
        this.engine = engine;
        this.dns = dns;
        this.hostname = hostname;
        this.post = post;
        this.clock = clock;
        this.maxDelay = maxDelay;
    }

    /** Starts the thread that sends each day's reports; returns at once. */
    public synchronized TlsRptSender start() {
        scheduler = Thread.ofPlatform().name("tlsrpt-sender").daemon().start(this::run);
        return this;
    }

    private void run() {
        try {
            Instant dayEnd = clock.instant().truncatedTo(ChronoUnit.DAYS).plus(Duration.ofDays(1));
            while (!Thread.currentThread().isInterrupted()) {
                long delay = maxDelay.isZero() ? 0 : ThreadLocalRandom.current().nextLong(maxDelay.toMillis());
                Duration wait = Duration.between(clock.instant(), dayEnd.plusMillis(delay));
                if (wait.isPositive()) Thread.sleep(wait);
                sendNow(dayEnd.minus(Duration.ofDays(1)), dayEnd);
                // The next UTC day, even when the clock has not yet passed this midnight's delay.
                dayEnd = later(dayEnd.plus(Duration.ofDays(1)), clock.instant().truncatedTo(ChronoUnit.DAYS).plus(Duration.ofDays(1)));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static Instant later(Instant a, Instant b) {
        return a.isAfter(b) ? a : b;
    }

    /**
     * Drains the counts and sends one report per policy domain for the period
     * {@code [dayStart, dayEnd)}; blocks on DNS and HTTPS.
     */
    public void sendNow(Instant dayStart, Instant dayEnd) {
        Map<String, List<TlsRptAggregator.PolicyResult>> byDomain = engine.tlsReports().drain();
        byDomain.forEach((domain, results) -> {
            try {
                send(domain, new TlsRptReport(hostname, "postmaster@" + hostname, reportId(domain, dayStart), dayStart,
                        dayEnd, results));
            } catch (RuntimeException e) {
                LOG.warn("tlsrpt {}: the report could not be sent: {}", domain, e.getMessage());
            }
        });
    }

    /** RFC 8460 §4.4: unique per report; the day and the domain make it so for this host. */
    private String reportId(String domain, Instant dayStart) {
        return LocalDate.ofInstant(dayStart, ZoneOffset.UTC) + "." + domain + "@" + hostname;
    }

    private void send(String domain, TlsRptReport report) {
        // RFC 8460 §3: the policy domain's reporting record.
        Optional<TlsRptRecord> record = switch (dns.txt("_smtp._tls." + domain)) {
            case DnsLookup.Found<String> f -> TlsRptRecord.select(f.values());
            case DnsLookup.NotFound<String> n -> Optional.empty();
            case DnsLookup.Failed<String> f -> {
                LOG.warn("tlsrpt {}: cannot look up _smtp._tls.{}: {}", domain, domain, f.reason());
                yield Optional.empty();
            }
        };
        if (record.isEmpty()) return;
        for (String mailbox : record.get().mailboxes()) enqueue(domain, report, mailbox);
        for (var endpoint : record.get().httpsEndpoints()) {
            TlsRptPost.Result result = post.post(endpoint, report);
            if (!result.delivered()) LOG.warn("tlsrpt {}: not delivered: {}", domain, result.reason());
        }
    }

    /**
     * RFC 8460 §5.3: the mail comes from the reporting host's postmaster and is DKIM-signed by that
     * domain. No delivery status notification is asked (RFC 3461 NOTIFY=NEVER): a report that cannot
     * be delivered is not worth a bounce to the postmaster every day.
     */
    private void enqueue(String domain, TlsRptReport report, String mailbox) {
        String from = "postmaster@" + hostname;
        byte[] message = TlsRptMail.message(report, domain, hostname, from, mailbox);
        Optional<DkimSigner> signer = engine.signer(hostname);
        if (signer.isPresent()) {
            byte[] fields = signer.get().sign(message, clock.instant());
            byte[] signed = new byte[fields.length + message.length];
            System.arraycopy(fields, 0, signed, 0, fields.length);
            System.arraycopy(message, 0, signed, fields.length, message.length);
            message = signed;
        }
        NewQueuedMessage queued = new NewQueuedMessage(from, Optional.empty(), Dsn.Ret.HDRS, SmtpCommand.Body.SEVEN_BIT,
                false, false, Optional.empty(), RECEIVED_FROM, clock.instant(),
                List.of(new NewQueuedRecipient(mailbox, Set.of(), Optional.empty())));
        engine.queue().enqueue(queued, new ByteArrayInputStream(message));
        engine.wake();
    }

    /** Stops the scheduler; a report being sent is interrupted. */
    @Override
    public synchronized void close() {
        if (scheduler != null) scheduler.interrupt();
        post.close();
    }
}
