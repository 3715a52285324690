package org.castellan.server.admin;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import javax.security.auth.x500.X500Principal;
import org.castellan.security.tls.TlsPolicy;
import org.castellan.server.transport.Connection;
import org.castellan.server.transport.SessionRegistry;

/**
 * Puts a renewed server certificate into service without a restart: it watches the TLS policy's
 * certificate chain and key files ({@code tls.certificate}, {@code tls.key}) and its SNI
 * certificates ({@code tls.sni-certificates}) and, when one changes, asks the policy to reload
 * them, so that later handshakes present the new certificates while established connections keep
 * theirs. It also watches the CRL files of external client CAs ({@code tls.crl-files}): when one
 * changes it reloads the policy's CRLs, so the next handshake refuses a newly listed certificate,
 * and closes every live session whose client certificate the new CRL lists (docs/design.md §5.3; the
 * built-in CA's CRLs are {@link RevocationWatcher}'s). With {@code tls.ocsp} on, it re-asks the
 * OCSP responders of live sessions' certificates whenever their cached answer runs out, and closes
 * the sessions of a certificate that is now revoked.
 *
 * <p>Trusts: nothing of the files until the policy has checked them. A file that is missing,
 * half-written, not PEM, or a key that does not belong to the certificate is refused by the
 * policy, which keeps serving the pairs it had (one WARN line per change); the next change of
 * either file is tried again, so writing the key after the certificate ends in the new pair. A
 * CRL that does not parse or is not signed by a client CA is likewise refused by the policy, and
 * closes nothing. Only an OCSP "revoked" answer closes a session; an unreachable responder does
 * not end a session that was accepted.
 *
 * <p>Failure: nothing it does throws to the caller after {@link #start}; a failed poll is logged
 * and the next one tries again.
 */
public final class CertificateWatcher implements AutoCloseable {

    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(CertificateWatcher.class);

    /**
     * A quarter of the one second within which live sessions of a revoked certificate must close
     * (docs/design.md §5.3); a few stat calls four times a second cost nothing.
     */
    static final Duration POLL_INTERVAL = Duration.ofMillis(250);
    /**
     * Sweeps of the live sessions after each CRL reload. A handshake whose certificate was checked
     * just before the reload completes just after the first sweep; later sweeps catch it.
     */
    static final int SWEEPS_AFTER_RELOAD = 4;
    /**
     * How often live sessions' certificates are re-checked by OCSP. Each answer is cached until
     * its nextUpdate, so a round only asks a responder about certificates whose answer ran out.
     */
    static final Duration OCSP_RECHECK = Duration.ofSeconds(1);

    private final TlsPolicy tls;
    private final List<Path> crlFiles;
    private final SessionRegistry sessions;
    private final ScheduledExecutorService timer;
    /** Its own thread: a slow responder must not hold up certificate and CRL reloads. */
    private final ScheduledExecutorService ocspTimer;
    private List<Object> lastCertificates;
    private List<Object> lastCrls;
    private int sweepsLeft;

    /**
     * Watches the policy's certificates, and {@code crlFiles} (some of the policy's CRL files),
     * closing live sessions in {@code sessions} whose certificate is found revoked.
     */
    public CertificateWatcher(TlsPolicy tls, List<Path> crlFiles, SessionRegistry sessions) {
        this.tls = Objects.requireNonNull(tls, "tls");
        this.crlFiles = List.copyOf(crlFiles);
        this.sessions = Objects.requireNonNull(sessions, "sessions");
        this.timer = Executors.newSingleThreadScheduledExecutor(r -> daemon(r, "castellan-certificate-watch"));
        this.ocspTimer = Executors.newSingleThreadScheduledExecutor(r -> daemon(r, "castellan-ocsp-recheck"));
    }

    private static Thread daemon(Runnable r, String name) {
        Thread t = new Thread(r, name);
        t.setDaemon(true);
        return t;
    }

    /** Starts polling; the files as they are now are the ones the policy was built from. */
    public CertificateWatcher start() {
        lastCertificates = stamp(tls.certificateFiles());
        lastCrls = stamp(crlFiles);
        timer.scheduleWithFixedDelay(this::pollSafely, POLL_INTERVAL.toMillis(), POLL_INTERVAL.toMillis(),
                TimeUnit.MILLISECONDS);
        if (tls.ocsp() != TlsPolicy.OcspMode.OFF) {
            ocspTimer.scheduleWithFixedDelay(this::recheckSafely, OCSP_RECHECK.toMillis(), OCSP_RECHECK.toMillis(),
                    TimeUnit.MILLISECONDS);
        }
        return this;
    }

    private void pollSafely() {
        try {
            poll();
        } catch (RuntimeException e) {
            log.warn("TLS certificate check failed, retrying in {} ms: {}", POLL_INTERVAL.toMillis(), e.toString());
        }
    }

    /** One round: reload what changed since the last round, close sessions of newly revoked certificates. */
    void poll() {
        List<Object> certificates = stamp(tls.certificateFiles());
        if (!certificates.equals(lastCertificates)) {
            lastCertificates = certificates;
            tls.reloadCertificate();
        }
        List<Object> crls = stamp(crlFiles);
        if (!crls.equals(lastCrls)) {
            lastCrls = crls;
            if (tls.reloadCrls()) sweepsLeft = SWEEPS_AFTER_RELOAD;
        }
        if (sweepsLeft > 0) {
            sweepsLeft--;
            int closed = sessions.closeWhere(c -> c.tls().flatMap(Connection.TlsInfo::peer).map(tls::revoked).orElse(false));
            if (closed > 0) log.info("closed {} session(s) of certificates a reloaded CRL revokes", closed);
        }
    }

    private void recheckSafely() {
        try {
            recheckOcsp();
        } catch (RuntimeException e) {
            log.warn("OCSP re-check of live sessions failed, retrying in {} ms: {}", OCSP_RECHECK.toMillis(),
                    e.toString());
        }
    }

    private record Serial(X500Principal issuer, BigInteger serial) {}

    /** Asks (or the cache answers) once per distinct certificate, then closes the sessions of revoked ones. */
    int recheckOcsp() {
        Map<Serial, Boolean> revoked = new HashMap<>();
        int closed = sessions.closeWhere(c -> {
            List<X509Certificate> chain = c.peerChain();
            if (chain.isEmpty()) return false;
            X509Certificate leaf = chain.get(0);
            return revoked.computeIfAbsent(new Serial(leaf.getIssuerX500Principal(), leaf.getSerialNumber()),
                    k -> tls.revokedNow(chain));
        });
        if (closed > 0) log.info("closed {} session(s) of certificates their OCSP responder now says are revoked", closed);
        return closed;
    }

    /**
     * What identifies the current content of each file: its inode (tools such as certbot and
     * {@code install} replace files by rename), modification time and size.
     */
    private static List<Object> stamp(List<Path> files) {
        List<Object> stamp = new ArrayList<>();
        for (Path file : files) {
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
        ocspTimer.shutdownNow();
    }
}
