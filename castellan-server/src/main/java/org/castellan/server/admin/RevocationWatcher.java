package org.castellan.server.admin;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.castellan.security.pki.CertificateAuthority;
import org.castellan.security.pki.CertificateKind;
import org.castellan.security.pki.Pem;
import org.castellan.security.pki.PkiException;
import org.castellan.security.tls.TlsPolicy;
import org.castellan.server.transport.Connection;
import org.castellan.server.transport.SessionRegistry;

/**
 * Makes a revocation by the built-in CA take effect at once (docs/design.md §5.3): it watches the
 * issuing CAs' CRL files, and when one changes — a {@code castellan cert revoke} in another
 * process, or a revocation within the server — it reloads the TLS policy's CRLs, so the next
 * handshake refuses the certificate, and closes every live session whose verified client
 * certificate is now revoked. It also re-signs each CRL daily, long before its nextUpdate.
 *
 * <p>Trusts: the CA directory (0700, the server's user only). A CRL file that does not parse or
 * is not signed by its CA is refused by the policy, which keeps the CRLs it had (one WARN line).
 *
 * <p>Failure: nothing it does throws to the caller after {@link #start}; a failed poll is logged
 * and the next one tries again.
 */
public final class RevocationWatcher implements AutoCloseable {

    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(RevocationWatcher.class);

    /** A quarter of the one second within which live sessions of a revoked certificate must close (docs/design.md §5.3). */
    static final Duration POLL_INTERVAL = Duration.ofMillis(250);
    /**
     * A CRL older than this is re-signed: daily, so a week-long CRL_VALIDITY leaves six days to
     * notice a server that stopped refreshing before clients refuse every certificate.
     */
    static final Duration CRL_REFRESH = Duration.ofDays(1);
    /** How often the watcher asks whether a CRL is due for refresh; reading the CRLs 4 times a second would be waste. */
    static final Duration REFRESH_CHECK = Duration.ofMinutes(10);
    /**
     * Sweeps of the live sessions after each reload. A handshake whose certificate was checked
     * just before the reload completes just after the first sweep; later sweeps catch it.
     */
    static final int SWEEPS_AFTER_RELOAD = 4;

    /** The issuing CAs whose client certificates a listener may trust, and whose CRLs the TLS policy holds. */
    public static final List<CertificateKind> CLIENT_KINDS = List.of(CertificateKind.DEVICE, CertificateKind.USER);

    private final CertificateAuthority ca;
    private final List<CertificateKind> kinds;
    private final TlsPolicy tls;
    private final SessionRegistry sessions;
    private final Clock clock;
    private final ScheduledExecutorService timer;
    private List<Object> lastStamp;
    private Instant nextRefreshCheck = Instant.MIN;
    private int sweepsLeft;
    /** Told after each reload of changed CRL files, on the watcher's thread. */
    private volatile Runnable afterReload = () -> {};

    public RevocationWatcher(CertificateAuthority ca, TlsPolicy tls, SessionRegistry sessions, Clock clock) {
        this(ca, tls, sessions, clock, CLIENT_KINDS);
    }

    /**
     * A watcher of the CRLs of {@code kinds} only, for a TLS policy that trusts those CAs alone:
     * the link's, whose node CA the client listeners never trust (docs/roles.md §2).
     */
    public RevocationWatcher(CertificateAuthority ca, TlsPolicy tls, SessionRegistry sessions, Clock clock,
            List<CertificateKind> kinds) {
        this.kinds = List.copyOf(kinds);
        this.ca = Objects.requireNonNull(ca, "ca");
        this.tls = Objects.requireNonNull(tls, "tls");
        this.sessions = Objects.requireNonNull(sessions, "sessions");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "castellan-revocation");
            t.setDaemon(true);
            return t;
        });
    }

    /** Starts polling; the first poll records the CRL files as they are now. */
    public RevocationWatcher start() {
        lastStamp = stamp();
        timer.scheduleWithFixedDelay(this::pollSafely, POLL_INTERVAL.toMillis(), POLL_INTERVAL.toMillis(),
                TimeUnit.MILLISECONDS);
        return this;
    }

    /**
     * Re-signs every issuing CA's CRL that is missing or older than {@link #CRL_REFRESH}. The
     * server calls it before building its TLS policy, so that it never starts with an expired CRL.
     *
     * @throws PkiException if a CRL cannot be signed or written
     */
    public static void refreshStaleCrls(CertificateAuthority ca, Clock clock) {
        for (CertificateKind kind : CertificateKind.values()) {
            Path file = ca.crlFile(kind);
            boolean stale;
            if (!Files.exists(file)) {
                stale = true;
            } else {
                Instant issued = Pem.readCrl(file).getThisUpdate().toInstant();
                stale = !issued.plus(CRL_REFRESH).isAfter(clock.instant());
            }
            if (stale) {
                ca.writeCrl(kind);
                log.info("re-signed the CRL of the {} CA ({})", kind.caName(), file);
            }
        }
    }

    private void pollSafely() {
        try {
            poll();
        } catch (RuntimeException e) {
            log.warn("revocation check failed, retrying in {} ms: {}", POLL_INTERVAL.toMillis(), e.toString());
        }
    }

    /** One round: refresh CRLs when due, reload them when a file changed, close revoked sessions. */
    void poll() {
        Instant now = clock.instant();
        if (!now.isBefore(nextRefreshCheck)) {
            nextRefreshCheck = now.plus(REFRESH_CHECK);
            refreshStaleCrls(ca, clock);
        }
        List<Object> stamp = stamp();
        if (!stamp.equals(lastStamp)) {
            lastStamp = stamp;
            if (tls.reloadCrls()) {
                sweepsLeft = SWEEPS_AFTER_RELOAD;
                afterReload.run();
            }
        }
        if (sweepsLeft > 0) {
            sweepsLeft--;
            closeRevoked();
        }
    }

    /**
     * Runs {@code action} after each reload of CRL files that changed (a revocation through this
     * node's data directory), on the watcher's thread: how the revocation reaches the other nodes
     * (docs/kms.md, "Revocation across nodes").
     */
    public RevocationWatcher afterReload(Runnable action) {
        this.afterReload = Objects.requireNonNull(action, "action");
        return this;
    }

    /**
     * The TLS policy has just been told of revocations made on another node: sweeps the live
     * sessions now and after, as after a reload of this node's CRLs.
     */
    public void revokedElsewhere() {
        try {
            timer.execute(() -> {
                sweepsLeft = SWEEPS_AFTER_RELOAD;
                closeRevoked();
            });
        } catch (java.util.concurrent.RejectedExecutionException closing) {
            // the server is stopping: its sessions close anyway
        }
    }

    /** Closes every live session whose verified client certificate a CRL in force lists; returns how many. */
    public int closeRevoked() {
        int closed = sessions.closeWhere(this::revoked);
        if (closed > 0) log.info("closed {} session(s) of revoked certificates", closed);
        return closed;
    }

    private boolean revoked(Connection c) {
        return c.tls().flatMap(Connection.TlsInfo::peer).map(this::revoked).orElse(false);
    }

    private boolean revoked(X509Certificate certificate) {
        return tls.revoked(certificate);
    }

    /**
     * What identifies the current content of each CRL file: its inode (the CA replaces files by
     * rename, so a new file is a new inode), modification time and size.
     */
    private List<Object> stamp() {
        List<Object> stamp = new ArrayList<>();
        for (CertificateKind kind : kinds) {
            Path file = ca.crlFile(kind);
            try {
                BasicFileAttributes a = Files.readAttributes(file, BasicFileAttributes.class);
                stamp.add(List.of(String.valueOf(a.fileKey()), a.lastModifiedTime(), a.size()));
            } catch (NoSuchFileException e) {
                stamp.add("missing");
            } catch (IOException e) {
                stamp.add("unreadable " + e.getMessage());
            }
        }
        return stamp;
    }

    @Override
    public void close() {
        timer.shutdownNow();
    }
}
