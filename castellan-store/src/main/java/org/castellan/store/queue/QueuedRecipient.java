package org.castellan.store.queue;

import java.time.Instant;
import java.util.Optional;
import java.util.Set;
import org.castellan.protocol.smtp.Dsn;

/**
 * One recipient of a queued message and what happened to it so far.
 *
 * @param lastReply the last reply (or local reason) for this recipient, one line, as a DSN's
 *     Diagnostic-Code would give it
 * @param lastHost the host that gave it, when a remote one did
 * @param finalReported a bounce or success notification was made (or none was needed)
 * @param delayReported a delay warning was made
 */
public record QueuedRecipient(
        long id,
        long messageId,
        String address,
        String domain,
        Set<Dsn.Notify> notifyOn,
        Optional<String> orcpt,
        RecipientState state,
        int attempts,
        Instant nextAttempt,
        Optional<Instant> lastAttempt,
        Optional<String> lastReply,
        Optional<String> lastHost,
        boolean finalReported,
        boolean delayReported) {
}
