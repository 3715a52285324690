package org.castellan.store;

/**
 * A committed change to one account's mailboxes or subscriptions, delivered to the listeners of
 * {@link MailStore#subscribeAccount} in commit order: what IMAP NOTIFY (RFC 5465) reports about
 * mailboxes other than the selected one.
 */
public sealed interface AccountEvent {

    long accountId();

    /**
     * A change inside one of the account's mailboxes (messages added, flags changed, messages
     * expunged, the mailbox renamed or deleted): the event the mailbox's own listeners get.
     */
    record MailboxChanged(long accountId, StoreEvent change) implements AccountEvent {}

    /** A mailbox was created: by name, as a missing parent of one, or as RENAME's new home for INBOX's messages. */
    record MailboxCreated(long accountId, long mailboxId, String name) implements AccountEvent {}

    /**
     * A name was subscribed ({@code subscribed}) or unsubscribed; names need not exist
     * (RFC 9051 §6.3.7). Sent only when the subscription really changed, and for both names when
     * a rename moves a subscription.
     */
    record SubscriptionChanged(long accountId, String name, boolean subscribed) implements AccountEvent {}
}
