package org.castellan.store;

import java.time.Instant;
import java.util.Objects;

/**
 * A client certificate an operator has bound to an account, so that SASL EXTERNAL and
 * certificate-and-password logins accept it for that account although it names no address of it.
 *
 * @param fingerprint the lower-case hex SHA-256 of the certificate's DER encoding (64 characters)
 * @param accountId the account the certificate belongs to
 * @param label what the operator called it ("alice's smart card")
 */
public record CertificateBinding(String fingerprint, long accountId, String label, Instant createdAt) {

    /** SHA-256 is 32 bytes: 64 hex digits. */
    public static final int FINGERPRINT_LENGTH = 64;

    public CertificateBinding {
        Objects.requireNonNull(fingerprint, "fingerprint");
        Objects.requireNonNull(label, "label");
        Objects.requireNonNull(createdAt, "createdAt");
    }

    /** Whether {@code text} is a fingerprint in the stored form: 64 lower-case hex digits. */
    public static boolean isFingerprint(String text) {
        return text != null && text.length() == FINGERPRINT_LENGTH && text.chars().allMatch(
                ch -> (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f'));
    }
}
