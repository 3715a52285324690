package org.castellan.store;

import java.time.Instant;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * A password of an account for some protocols only, for a client that cannot do better than a
 * password. {@code credential} is opaque to the store (a SCRAM-SHA-256 secret); {@link #toString()}
 * leaves it out so that it never reaches a log.
 *
 * @param id unique in the store, for revoking
 * @param label what the owner called it ("phone", "laptop Thunderbird")
 * @param scope the lower-case protocol names it may be used on ({@code imap}, {@code pop3}, {@code smtp})
 * @param selector the first characters of the password, by which a login finds it; empty for one
 *     made before selectors existed
 */
public record AppPassword(long id, long accountId, String label, String credential, Set<String> scope, Instant createdAt,
        Optional<String> selector) {

    public AppPassword {
        Objects.requireNonNull(label, "label");
        Objects.requireNonNull(credential, "credential");
        scope = Set.copyOf(scope);
        Objects.requireNonNull(createdAt, "createdAt");
        Objects.requireNonNull(selector, "selector");
    }

    @Override
    public String toString() {
        return "AppPassword[id=" + id + ", accountId=" + accountId + ", label=" + label + ", scope=" + scope
                + ", createdAt=" + createdAt + "]";
    }
}
