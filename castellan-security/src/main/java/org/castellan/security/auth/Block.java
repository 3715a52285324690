package org.castellan.security.auth;

import java.time.Instant;
import java.util.Objects;
import java.util.Optional;

/**
 * A source the login limiter refuses until {@code until}: every attempt from it gets
 * {@link FailureKind#TEMPORARY} without its credentials being looked at.
 *
 * @param source the blocked host or network in CIDR form ({@code 192.0.2.7/32},
 *     {@code 192.0.2.0/24}, {@code 2001:db8:1:2::/64}), or {@code certificate sha256:<hex>} for a
 *     client certificate whose own failures reached the limit
 * @param account present when only this account is blocked from {@code source}
 * @param failures the failures that led to the block
 * @param until when the block ends
 */
public record Block(String source, Optional<String> account, int failures, Instant until) {
    public Block {
        Objects.requireNonNull(source, "source");
        Objects.requireNonNull(account, "account");
        Objects.requireNonNull(until, "until");
    }
}
