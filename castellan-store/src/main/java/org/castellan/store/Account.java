package org.castellan.store;

import java.time.Instant;
import java.util.OptionalLong;
import org.castellan.protocol.mail.EmailAddress;

/**
 * A local account. {@code credential} is opaque to the store (a SCRAM-SHA-256 secret computed by
 * the security module); {@link #toString()} leaves it out so that it never reaches a log.
 *
 * @param quotaBytes the storage limit, empty when unlimited
 */
public record Account(long id, EmailAddress address, String credential, OptionalLong quotaBytes, Instant createdAt) {

    @Override
    public String toString() {
        return "Account[id=" + id + ", address=" + address + ", quotaBytes=" + quotaBytes + ", createdAt=" + createdAt + "]";
    }
}
