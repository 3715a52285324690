package org.castellan.store.queue;

import java.time.Instant;
import java.util.Optional;

/**
 * What one attempt did for one recipient.
 *
 * @param state {@code DELIVERED}, {@code FAILED}, or {@code QUEUED} for a deferral
 * @param retryAt the next attempt, for a deferral
 * @param reply the receiver's reply or the local reason, one line
 */
public record AttemptResult(
        long recipientId, RecipientState state, Instant at, Optional<Instant> retryAt, String reply, Optional<String> host) {

    public AttemptResult {
        if (state == RecipientState.QUEUED && retryAt.isEmpty()) throw new IllegalArgumentException("a deferral needs a retry time");
    }
}
