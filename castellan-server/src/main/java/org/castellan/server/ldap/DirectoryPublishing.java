package org.castellan.server.ldap;

import java.math.BigInteger;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.castellan.security.pki.CertificateDirectory;
import org.castellan.security.pki.PkiException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The running server's side of publishing ({@code [directory.publish]}, docs/kms.md): watches what
 * {@link CertificateDirectory} lists and publishes each address whose certificates changed —
 * issued by enrollment (EST), revoked by any process, or expired — through the
 * {@link DirectoryPublisher}. At start every listed address is published once. When the directory
 * cannot be reached the changes wait and are tried again after {@link #RETRY}; issuing and
 * revoking never wait for it.
 */
public final class DirectoryPublishing implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(DirectoryPublishing.class);

    /** How often the list is compared (one stat of the CA's index, as the OCSP responder does per request). */
    static final Duration POLL = Duration.ofSeconds(1);
    /** How long failed changes wait before the next attempt: a directory that is down is not hammered. */
    static final Duration RETRY = Duration.ofMinutes(1);

    private final DirectoryPublisher publisher;
    private final CertificateDirectory directory;
    private final Clock clock;
    private final ScheduledExecutorService timer;
    /** The serials each address had when it was last published successfully. */
    private Map<String, Set<BigInteger>> published = Map.of();
    private Instant nextAttempt = Instant.MIN;

    public DirectoryPublishing(DirectoryPublisher publisher, CertificateDirectory directory, Clock clock) {
        this.publisher = Objects.requireNonNull(publisher, "publisher");
        this.directory = Objects.requireNonNull(directory, "directory");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.timer = Executors.newSingleThreadScheduledExecutor(Thread.ofVirtual().name("directory-publishing").factory());
    }

    public DirectoryPublishing start() {
        timer.scheduleWithFixedDelay(this::round, 0, POLL.toMillis(), TimeUnit.MILLISECONDS);
        return this;
    }

    private void round() {
        try {
            Map<String, Set<BigInteger>> now = new HashMap<>();
            for (CertificateDirectory.Listing l : directory.current()) {
                Set<BigInteger> serials = new HashSet<>();
                for (X509Certificate c : l.certificates()) serials.add(c.getSerialNumber());
                now.put(l.address(), serials);
            }
            Set<String> changed = new TreeSet<>();
            for (var e : now.entrySet()) if (!e.getValue().equals(published.get(e.getKey()))) changed.add(e.getKey());
            for (String gone : published.keySet()) if (!now.containsKey(gone)) changed.add(gone);
            if (changed.isEmpty() || clock.instant().isBefore(nextAttempt)) return;
            DirectoryPublisher.Report report = publisher.publishAll(changed);
            if (report.failed() > 0) {
                nextAttempt = clock.instant().plus(RETRY);
                log.warn("certificate directory: {} of {} address(es) not published to {}, trying again in {} s: {}",
                        report.failed(), changed.size(), publisher.settings().url(), RETRY.toSeconds(), report.problems());
                return;
            }
            if (!report.problems().isEmpty()) log.info("certificate directory: {}", report.problems());
            published = Map.copyOf(now);
        } catch (PkiException e) {
            log.warn("certificate directory: cannot read the CA's index: {}", e.getMessage());
        }
    }

    @Override
    public void close() {
        timer.shutdownNow();
    }
}
