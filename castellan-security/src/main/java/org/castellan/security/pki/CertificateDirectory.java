package org.castellan.security.pki;

import java.math.BigInteger;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import org.castellan.security.pki.internal.FileStamp;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The user CA's certificates that may be published, by address: what the certificate directory
 * (docs/kms.md) serves and publishes. A certificate is listed while it is valid now, not revoked,
 * and kept in {@value CertificateAuthority#USER_CERTIFICATES}.
 *
 * <p>Revocation holds at once (docs/design.md §5, invariant 3): the index is looked at (one
 * {@code stat}) on every call and re-read when it changed, as {@link OcspResponder} does, so a
 * certificate revoked by any process is gone from the next answer. Expiry is checked against the
 * clock on every call.
 *
 * <p>Failure: {@link #current} throws {@link PkiException} when the index cannot be read; a kept
 * certificate file that cannot be read is left out and logged.
 */
public final class CertificateDirectory {

    private static final Logger LOG = LoggerFactory.getLogger(CertificateDirectory.class);

    private final CertificateAuthority ca;
    private final Clock clock;
    /**
     * Kept certificates by serial: a file is read once, its content never changes. A missing one
     * is not remembered: the CA writes the file just after the index.
     */
    private final Map<BigInteger, X509Certificate> certificates = new ConcurrentHashMap<>();
    private volatile Snapshot snapshot = new Snapshot(List.of("none"), List.of());

    /** The unrevoked user entries of the index as read, and what identified the file then. */
    private record Snapshot(List<Object> stamp, List<IssuedEntry> users) {}

    /** One address's published certificates, oldest first. */
    public record Listing(String address, List<X509Certificate> certificates) {
        public Listing {
            Objects.requireNonNull(address, "address");
            certificates = List.copyOf(certificates);
        }
    }

    public CertificateDirectory(CertificateAuthority ca, Clock clock) {
        this.ca = Objects.requireNonNull(ca, "ca");
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    /**
     * Every address holding at least one publishable certificate, ordered by address (lower
     * case), each with its certificates oldest first.
     */
    public List<Listing> current() {
        Instant now = clock.instant();
        Map<String, Listing> byAddress = new TreeMap<>();
        for (IssuedEntry entry : users()) {
            if (now.isBefore(entry.notBefore()) || !now.isBefore(entry.notAfter())) continue;
            Optional<X509Certificate> certificate = certificate(entry.serial());
            if (certificate.isEmpty()) continue;
            String key = entry.owner().toLowerCase(Locale.ROOT);
            Listing listed = byAddress.get(key);
            List<X509Certificate> list = new ArrayList<>(listed == null ? List.of() : listed.certificates());
            list.add(certificate.get());
            byAddress.put(key, new Listing(listed == null ? entry.owner() : listed.address(), list));
        }
        return List.copyOf(byAddress.values());
    }

    /** The listing of {@code address} (compared without regard to case), if it has one. */
    public Optional<Listing> find(String address) {
        String key = address.toLowerCase(Locale.ROOT);
        return current().stream().filter(l -> l.address().toLowerCase(Locale.ROOT).equals(key)).findFirst();
    }

    private List<IssuedEntry> users() {
        List<Object> stamp = FileStamp.of(ca.directory().resolve(CertificateAuthority.INDEX_FILE));
        Snapshot now = snapshot;
        if (now.stamp().equals(stamp)) return now.users();
        List<IssuedEntry> users = ca.issued().stream()
                .filter(e -> e.kind() == CertificateKind.USER && !e.revoked())
                .toList();
        snapshot = new Snapshot(stamp, users);
        return users;
    }

    private Optional<X509Certificate> certificate(BigInteger serial) {
        X509Certificate known = certificates.get(serial);
        if (known != null) return Optional.of(known);
        try {
            Optional<X509Certificate> read = ca.userCertificate(serial);
            read.ifPresent(c -> certificates.put(serial, c));
            return read;
        } catch (PkiException e) {
            LOG.warn("user certificate {} left out of the directory: {}", serial.toString(16), e.getMessage());
            return Optional.empty();
        }
    }
}
