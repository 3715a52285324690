package org.castellan.store.queue;

import java.util.EnumSet;
import java.util.Optional;
import java.util.Set;
import org.castellan.protocol.smtp.Dsn;

/**
 * One recipient of a message to enqueue.
 *
 * @param address the forward-path as given, local part and domain (the domain in the form routing
 *     uses: A-labels or ASCII)
 * @param notifyOn RFC 3461 §4.1: empty for NEVER; {@code FAILURE, DELAY} when the client gave none
 * @param orcpt RFC 3461 §4.2, as given ({@code addr-type;xtext-decoded address})
 */
public record NewQueuedRecipient(String address, Set<Dsn.Notify> notifyOn, Optional<String> orcpt) {

    public NewQueuedRecipient {
        notifyOn = notifyOn.isEmpty() ? Set.of() : Set.copyOf(EnumSet.copyOf(notifyOn));
    }

    /** The domain this recipient is routed by, lower case. */
    public String domain() {
        return address.substring(address.lastIndexOf('@') + 1).toLowerCase(java.util.Locale.ROOT);
    }
}
