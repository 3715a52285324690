package org.castellan.store;

/** A listener registration from {@link MailStore#subscribe}; closing it stops delivery. */
public interface EventSubscription extends AutoCloseable {

    /** Stops delivery; an event already being delivered may still arrive. Never fails. */
    @Override
    void close();
}
