package org.castellan.store;

import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * The auth log: every authentication attempt, written by BatchingAuthLog and read by
 * {@code castellan authlog}; never a password or SASL payload.
 *
 * <p><b>Failures.</b> Every method throws {@link StoreException}: {@code INVALID} for a malformed
 * request; {@code UNAVAILABLE} (temporary) for an I/O error, a full disk, a busy database or a
 * closed store. A write that throws has changed nothing.
 *
 * <p><b>Durability.</b> A write returns only once it is durable.
 */
public interface AuthLogStore {

    /** How many rows the auth log keeps; older ones are dropped as new ones come in. */
    int AUTH_LOG_MAX_ROWS = 100_000;

    /** How long the auth log keeps an attempt: long enough to look back over a month's incidents. */
    Duration AUTH_LOG_MAX_AGE = Duration.ofDays(90);

    /**
     * Appends attempts to the auth log in one write, then drops rows beyond
     * {@link #AUTH_LOG_MAX_ROWS} and older than {@link #AUTH_LOG_MAX_AGE}.
     */
    void recordAuthAttempts(List<AuthAttempt> attempts);

    /**
     * The newest {@code limit} attempts, newest first; only those of {@code account}
     * (case-insensitive) when present.
     */
    List<AuthAttempt> listAuthAttempts(Optional<String> account, int limit);
}
