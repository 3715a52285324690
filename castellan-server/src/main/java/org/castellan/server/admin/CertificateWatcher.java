package org.castellan.server.admin;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.castellan.security.tls.TlsPolicy;

/**
 * Puts a renewed server certificate into service without a restart: it watches the TLS policy's
 * certificate chain and key files ({@code tls.certificate}, {@code tls.key}) and, when either
 * changes, asks the policy to reload them, so that later handshakes present the new certificate
 * while established connections keep theirs. It also watches the CRL files of external client
 * CAs ({@code tls.crl-files}) and reloads the policy's CRLs when one changes, for later handshakes
 * (the built-in CA's CRLs, and closing live sessions, are {@link RevocationWatcher}'s).
 *
 * <p>Trusts: nothing of the files until the policy has checked them. A file that is missing,
 * half-written, not PEM, or a key that does not belong to the certificate is refused by the
 * policy, which keeps serving the pair it had (one WARN line per change); the next change of
 * either file is tried again, so writing the key after the certificate ends in the new pair. A
 * CRL that does not parse or is not signed by a client CA is likewise refused by the policy.
 *
 * <p>Failure: nothing it does throws to the caller after {@link #start}; a failed poll is logged
 * and the next one tries again.
 */
public final class CertificateWatcher implements AutoCloseable {

    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(CertificateWatcher.class);

    /**
     * Certificates are renewed days before they expire, so a second's delay costs nothing, and
     * two stat calls a second cost nothing either.
     */
    static final Duration POLL_INTERVAL = Duration.ofSeconds(1);

    private final TlsPolicy tls;
    private final List<Path> certificateFiles;
    private final List<Path> crlFiles;
    private final ScheduledExecutorService timer;
    private List<Object> lastCertificates;
    private List<Object> lastCrls;

    /** Watches the policy's certificate and key, and {@code crlFiles} (some of the policy's CRL files). */
    public CertificateWatcher(TlsPolicy tls, List<Path> crlFiles) {
        this.tls = Objects.requireNonNull(tls, "tls");
        this.certificateFiles = tls.certificateFiles();
        this.crlFiles = List.copyOf(crlFiles);
        this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "castellan-certificate-watch");
            t.setDaemon(true);
            return t;
        });
    }

    /** Starts polling; the files as they are now are the ones the policy was built from. */
    public CertificateWatcher start() {
        lastCertificates = stamp(certificateFiles);
        lastCrls = stamp(crlFiles);
        timer.scheduleWithFixedDelay(this::pollSafely, POLL_INTERVAL.toMillis(), POLL_INTERVAL.toMillis(),
                TimeUnit.MILLISECONDS);
        return this;
    }

    private void pollSafely() {
        try {
            poll();
        } catch (RuntimeException e) {
            log.warn("TLS certificate check failed, retrying in {} ms: {}", POLL_INTERVAL.toMillis(), e.toString());
        }
    }

    /** One round: reload what changed since the last round. */
    void poll() {
        List<Object> certificates = stamp(certificateFiles);
        if (!certificates.equals(lastCertificates)) {
            lastCertificates = certificates;
            tls.reloadCertificate();
        }
        List<Object> crls = stamp(crlFiles);
        if (!crls.equals(lastCrls)) {
            lastCrls = crls;
            tls.reloadCrls();
        }
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
    }
}
