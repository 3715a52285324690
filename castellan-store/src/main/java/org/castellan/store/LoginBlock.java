package org.castellan.store;

import java.time.Instant;
import java.util.Objects;
import java.util.Optional;

/**
 * A block of the login limiter in force on every node sharing the directory (docs/security.md,
 * "Blocks across nodes"): the node that decided it writes it, the others refuse the source
 * until {@code until}. Opaque to the store but for its key, {@code source} and {@code account}.
 *
 * @param source the blocked host or network in CIDR form, or {@code certificate sha256:<hex>}
 * @param account present when only this account is blocked from {@code source}
 * @param failures the failures that led to the block
 * @param until when the block ends
 */
public record LoginBlock(String source, Optional<String> account, int failures, Instant until) {
    public LoginBlock {
        Objects.requireNonNull(source, "source");
        Objects.requireNonNull(account, "account");
        Objects.requireNonNull(until, "until");
    }
}
