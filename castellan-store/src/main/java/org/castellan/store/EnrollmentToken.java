package org.castellan.store;

import java.time.Instant;
import java.util.Objects;
import java.util.Optional;

/**
 * A one-time enrollment token as the store keeps it: never the token's secret, only its hash.
 *
 * @param id the token's public half ({@code et-} and hex)
 * @param secretHash lower-case hex SHA-256 of the secret half
 * @param device the device name the certificate will carry
 * @param kind {@code "device"} or {@code "user"}
 * @param used when a certificate was issued with it; empty while it is unused
 */
public record EnrollmentToken(String id, long accountId, String secretHash, String device, String kind,
                              Instant createdAt, Instant expiresAt, Optional<Instant> used) {

    public EnrollmentToken {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(secretHash, "secretHash");
        Objects.requireNonNull(device, "device");
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(createdAt, "createdAt");
        Objects.requireNonNull(expiresAt, "expiresAt");
        Objects.requireNonNull(used, "used");
    }
}
