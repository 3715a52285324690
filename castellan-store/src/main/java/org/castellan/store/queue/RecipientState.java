package org.castellan.store.queue;

/** Where one recipient of a queued message stands. */
public enum RecipientState {
    /** Waiting for an attempt, or in one. */
    QUEUED,
    /** The receiving server accepted it (or it was delivered locally). */
    DELIVERED,
    /** Permanently refused, or given up on after the retry period. */
    FAILED
}
