package org.castellan.security.pki;

import java.math.BigInteger;
import java.time.Instant;
import java.util.Objects;
import java.util.Optional;

/**
 * One line of the CA's index of issued certificates ({@code issued.tsv}).
 *
 * @param serial the certificate's serial number
 * @param kind which issuing CA signed it
 * @param subject the subject DN (RFC 4514 form)
 * @param owner the account it belongs to ({@code local@domain}), or the first host name for a server
 * @param notBefore start of validity
 * @param notAfter end of validity
 * @param revocation when and why it was revoked, if it was
 */
public record IssuedEntry(
        BigInteger serial,
        CertificateKind kind,
        String subject,
        String owner,
        Instant notBefore,
        Instant notAfter,
        Optional<Revocation> revocation) {

    public IssuedEntry {
        Objects.requireNonNull(serial, "serial");
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(subject, "subject");
        Objects.requireNonNull(owner, "owner");
        Objects.requireNonNull(notBefore, "notBefore");
        Objects.requireNonNull(notAfter, "notAfter");
        Objects.requireNonNull(revocation, "revocation");
    }

    /** A revocation: its time and reason. */
    public record Revocation(Instant time, RevocationReason reason) {
        public Revocation {
            Objects.requireNonNull(time, "time");
            Objects.requireNonNull(reason, "reason");
        }
    }

    public boolean revoked() {
        return revocation.isPresent();
    }

    /** The serial as lower-case hex, the form used in file names, the index and the CLI. */
    public String serialHex() {
        return serial.toString(16);
    }

    IssuedEntry revoke(Instant time, RevocationReason reason) {
        return new IssuedEntry(serial, kind, subject, owner, notBefore, notAfter,
                Optional.of(new Revocation(time, reason)));
    }
}
