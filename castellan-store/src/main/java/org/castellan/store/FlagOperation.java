package org.castellan.store;

/** How {@link MailStore#storeFlags} combines the given flags with a message's flags (RFC 9051 §6.4.6). */
public enum FlagOperation {
    /** {@code +FLAGS}. */
    ADD,
    /** {@code -FLAGS}. */
    REMOVE,
    /** {@code FLAGS}. */
    REPLACE
}
