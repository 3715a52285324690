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
 * while established connections keep theirs.
 *
 * <p>Trusts: nothing of the files until the policy has checked them. A file that is missing,
 * half-written, not PEM, or a key that does not belong to the certificate is refused by the
 * policy, which keeps serving the pair it had (one WARN line per change); the next change of
 * either file is tried again, so writing the key after the certificate ends in the new pair.
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
    private final List<Path> files;
    private final ScheduledExecutorService timer;
    private List<Object> lastStamp;

    public CertificateWatcher(TlsPolicy tls) {
        this.tls = Objects.requireNonNull(tls, "tls");
        this.files = tls.certificateFiles();
        this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "castellan-certificate-watch");
            t.setDaemon(true);
            return t;
        });
    }

    /** Starts polling; the files as they are now are the ones the policy was built from. */
    public CertificateWatcher start() {
        lastStamp = stamp();
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

    /** One round: reload when a file changed since the last round. */
    void poll() {
        List<Object> stamp = stamp();
        if (stamp.equals(lastStamp)) return;
        lastStamp = stamp;
        tls.reloadCertificate();
    }

    /**
     * What identifies the current content of each file: its inode (tools such as certbot and
     * {@code install} replace files by rename), modification time and size.
     */
    private List<Object> stamp() {
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
