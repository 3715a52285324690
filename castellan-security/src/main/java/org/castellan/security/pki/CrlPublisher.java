package org.castellan.security.pki;

import java.security.cert.CRLException;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509CRL;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.castellan.security.pki.internal.FileStamp;

/**
 * The issuing CAs' CRLs and certificates as an HTTP server hands them out, without HTTP in it:
 * what the CRL distribution point and the caIssuers access of certificates issued with a public
 * URL point at ({@link CertificateAuthority#load(java.nio.file.Path, java.util.Optional)}).
 *
 * <p>Trusts: the CA directory. Exposes: each CRL as DER (RFC 5280 §5; served as
 * {@value #CRL_CONTENT_TYPE}), re-read when the CA rewrote it (a revocation, in any process), and
 * re-signed when it is older than {@link #REFRESH}, long before its nextUpdate
 * ({@link CertificateAuthority#CRL_VALIDITY}); each issuing CA's certificate as DER
 * ({@value #CERTIFICATE_CONTENT_TYPE}, RFC 5280 §4.2.2.1).
 *
 * <p>Failure: {@link #crl} throws {@link PkiException} if the CRL can neither be read nor signed.
 */
public final class CrlPublisher {

    /** RFC 2585 §4.2. */
    public static final String CRL_CONTENT_TYPE = "application/pkix-crl";
    /** RFC 2585 §4.1. */
    public static final String CERTIFICATE_CONTENT_TYPE = "application/pkix-cert";
    /**
     * A CRL older than this is re-signed before it is handed out: daily, so that a relying party
     * caching it until nextUpdate holds one at most a day old plus {@link CertificateAuthority#CRL_VALIDITY}.
     */
    public static final Duration REFRESH = Duration.ofDays(1);

    private final CertificateAuthority ca;
    private final Clock clock;
    private final Map<CertificateKind, Published> published = new EnumMap<>(CertificateKind.class);

    /** The DER of a CRL file as it was when stamped, and its thisUpdate. */
    private record Published(List<Object> stamp, byte[] der, Instant thisUpdate) {}

    public CrlPublisher(CertificateAuthority ca, Clock clock) {
        this.ca = Objects.requireNonNull(ca, "ca");
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    /** The current DER CRL of {@code kind}'s issuing CA. */
    public synchronized byte[] crl(CertificateKind kind) {
        List<Object> stamp = FileStamp.of(ca.crlFile(kind));
        Published now = published.get(kind);
        if (now == null || !now.stamp().equals(stamp)) {
            now = stamp.equals(List.of("missing")) ? null : read(kind, stamp);
        }
        if (now == null || !now.thisUpdate().plus(REFRESH).isAfter(clock.instant())) {
            ca.writeCrl(kind);
            now = read(kind, FileStamp.of(ca.crlFile(kind)));
        }
        published.put(kind, now);
        return now.der().clone();
    }

    /** The DER certificate of {@code kind}'s issuing CA. */
    public byte[] caCertificate(CertificateKind kind) {
        try {
            return ca.caCertificate(kind).getEncoded();
        } catch (CertificateEncodingException e) {
            throw new PkiException("cannot encode the " + kind.caName() + " CA certificate: " + e.getMessage(), e);
        }
    }

    private Published read(CertificateKind kind, List<Object> stamp) {
        X509CRL crl = Pem.readCrl(ca.crlFile(kind));
        try {
            return new Published(stamp, crl.getEncoded(), crl.getThisUpdate().toInstant());
        } catch (CRLException e) {
            throw new PkiException("cannot encode the CRL " + ca.crlFile(kind) + ": " + e.getMessage(), e);
        }
    }
}
