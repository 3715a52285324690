package org.castellan.server.outbound;

import java.io.ByteArrayInputStream;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.List;
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
 * delay of up to {@link #MAX_DELAY}, it drains the counts of every day before the new one from the
 * engine's {@link TlsRptAggregator} and, for each policy domain whose {@code _smtp._tls} TXT record
 * names destinations, enqueues the report mail for every {@code mailto:} (DKIM-signed when the
 * server's host name has keys, marked so that it goes despite TLS failures, RFC 8460 §3) and POSTs
 * it to every {@code https:} (docs/outbound.md §5). Days a stopped server did not report are
 * reported, each on its own, once it runs again.
 *
 * <p>The reporting organization is the server's host name; reports come from, and questions go to,
 * {@code postmaster@<host name>} (RFC 8460 §4.4 {@code contact-info}, §5.3 From).
 *
 * <p>Each day's report goes at most once: the counts of a domain's day are drained (committed)
 * before its report is built, queued and posted, so a crash after that never sends the day again;
 * a crash between the drain and the queue's commit, where nothing but local work happens, loses
 * that report instead. Receivers add reports up, so a day sent twice would double every count,
 * while a missing day shows as missing.
 *
 * <p>Failure: a look-up that fails or a POST that is refused is logged and that destination misses
 * the day's report; counts are drained either way, so a report never covers more than its day.
 * Never throws out of {@link #sendDue}.
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
            // Days before this one are due at its start (plus the delay): at once for days a stopped server left.
            LocalDate day = LocalDate.ofInstant(clock.instant(), ZoneOffset.UTC);
            while (!Thread.currentThread().isInterrupted()) {
                long delay = maxDelay.isZero() ? 0 : ThreadLocalRandom.current().nextLong(maxDelay.toMillis());
                Duration wait = Duration.between(clock.instant(), day.atStartOfDay(ZoneOffset.UTC).toInstant().plusMillis(delay));
                if (wait.isPositive()) Thread.sleep(wait);
                sendDue(day);
                // The next UTC day, even when the clock has not yet passed this midnight's delay.
                LocalDate today = LocalDate.ofInstant(clock.instant(), ZoneOffset.UTC);
                day = today.isAfter(day) ? today : day.plusDays(1);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Sends the report of every day before {@code day} that holds counts, one per policy domain
     * and day; blocks on DNS and HTTPS.
     */
    public void sendDue(LocalDate day) {
        engine.tlsReports().dueBefore(day).forEach((reported, domains) -> {
            for (String domain : domains) {
                try {
                    send(reported, domain);
                } catch (RuntimeException e) {
                    LOG.warn("tlsrpt {}: the report of {} could not be sent: {}", domain, reported, e.getMessage());
                }
            }
        });
    }

    /** RFC 8460 §4.4: unique per report; the day and the domain make it so for this host. */
    private String reportId(String domain, LocalDate day) {
        return day + "." + domain + "@" + hostname;
    }

    private void send(LocalDate day, String domain) {
        // RFC 8460 §3: the policy domain's reporting record, looked up before the drain so that
        // nothing slow stands between the drain and the queue.
        Optional<TlsRptRecord> record = switch (dns.txt("_smtp._tls." + domain)) {
            case DnsLookup.Found<String> f -> TlsRptRecord.select(f.values());
            case DnsLookup.NotFound<String> n -> Optional.empty();
            case DnsLookup.Failed<String> f -> {
                LOG.warn("tlsrpt {}: cannot look up _smtp._tls.{}: {}", domain, domain, f.reason());
                yield Optional.empty();
            }
        };
        List<TlsRptAggregator.PolicyResult> results = engine.tlsReports().drain(day, domain);
        if (record.isEmpty() || results.isEmpty()) return;
        Instant start = day.atStartOfDay(ZoneOffset.UTC).toInstant();
        TlsRptReport report = new TlsRptReport(hostname, "postmaster@" + hostname, reportId(domain, day), start,
                start.plus(Duration.ofDays(1)), results);
        for (String mailbox : record.get().mailboxes()) enqueue(domain, report, mailbox);
        for (var endpoint : record.get().httpsEndpoints()) {
            TlsRptPost.Result result = post.post(endpoint, report);
            if (!result.delivered()) LOG.warn("tlsrpt {}: not delivered: {}", domain, result.reason());
        }
    }

    /**
     * RFC 8460 §5.3: the mail comes from the reporting host's postmaster and is DKIM-signed by that
     * domain. No delivery status notification is asked (RFC 3461 NOTIFY=NEVER): a report that cannot
     * be delivered is not worth a bounce to the postmaster every day. The queue marks it a TLS
     * report, which the engine delivers despite TLS failures (RFC 8460 §3).
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
                List.of(new NewQueuedRecipient(mailbox, Set.of(), Optional.empty())), true);
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
