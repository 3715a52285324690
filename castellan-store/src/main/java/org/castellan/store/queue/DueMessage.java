package org.castellan.store.queue;

import java.util.List;

/** A leased part of a queued message: the recipients of one domain that are due now. */
public record DueMessage(QueuedMessage message, String domain, List<QueuedRecipient> recipients) {

    public DueMessage {
        recipients = List.copyOf(recipients);
    }
}
