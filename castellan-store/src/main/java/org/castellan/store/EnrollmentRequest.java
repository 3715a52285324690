package org.castellan.store;

import java.time.Instant;
import java.util.Objects;
import java.util.Optional;

/**
 * An enrollment request kept for the operator's approval ({@code [enroll] approve}).
 *
 * @param id {@code er-} and 8 hex digits, what the operator names it by
 * @param kind {@code "device"} or {@code "user"}
 * @param device the device name, or the owner's address for a user certificate
 * @param keyType the public key's algorithm ({@code EC}, {@code RSA}, {@code Ed25519})
 * @param keyHash lower-case hex SHA-256 of the public key's SubjectPublicKeyInfo
 * @param csr the request as the client sent it
 * @param reason why it was denied; empty otherwise
 * @param decidedAt when it was approved or denied; empty while pending
 */
public record EnrollmentRequest(String id, long accountId, String kind, String device, String keyType, String keyHash,
                                byte[] csr, Instant requestedAt, State state, Optional<String> reason,
                                Optional<Instant> decidedAt) {

    /** Where a request is: waiting, approved (the client's next repeat is issued), denied, or issued. */
    public enum State {
        PENDING, APPROVED, DENIED, ISSUED;

        public String sqlName() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    public EnrollmentRequest {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(device, "device");
        Objects.requireNonNull(keyType, "keyType");
        Objects.requireNonNull(keyHash, "keyHash");
        Objects.requireNonNull(csr, "csr");
        Objects.requireNonNull(requestedAt, "requestedAt");
        Objects.requireNonNull(state, "state");
        Objects.requireNonNull(reason, "reason");
        Objects.requireNonNull(decidedAt, "decidedAt");
    }
}
