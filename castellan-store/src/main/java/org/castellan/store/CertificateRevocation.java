package org.castellan.store;

import java.time.Instant;
import java.util.Objects;

/**
 * A client certificate revoked on one node, kept in the directory so that every node refuses it
 * (docs/kms.md, "Revocation across nodes"): each node's own CA index and CRL know only the
 * revocations made through its own data directory.
 *
 * @param issuer the issuing CA's subject, RFC 2253 form ({@code X500Principal.getName()})
 * @param serial the certificate's serial number in lower-case hex
 * @param revokedAt when it was revoked
 * @param reason the RFC 5280 §5.3.1 reason's name, as the CA index writes it
 */
public record CertificateRevocation(String issuer, String serial, Instant revokedAt, String reason) {
    public CertificateRevocation {
        Objects.requireNonNull(issuer, "issuer");
        Objects.requireNonNull(serial, "serial");
        Objects.requireNonNull(revokedAt, "revokedAt");
        Objects.requireNonNull(reason, "reason");
    }
}
