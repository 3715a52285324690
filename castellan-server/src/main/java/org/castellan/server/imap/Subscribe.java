package org.castellan.server.imap;

/**
 * RFC 9051 §6.3.7 SUBSCRIBE and §6.3.8 UNSUBSCRIBE. Names need not exist; unsubscribing a name
 * that is not subscribed is not an error (RFC 9051 §6.3.8 allows either).
 */
final class Subscribe {

    private Subscribe() {}

    static void run(ImapSession s, String tag, String mailbox, boolean subscribe) {
        var store = s.service().store();
        s.blocking(tag, () -> {
            if (subscribe) store.subscribeMailbox(s.accountId(), mailbox);
            else store.unsubscribeMailbox(s.accountId(), mailbox);
            return mailbox;
        }, m -> s.ok(tag, (subscribe ? "SUBSCRIBE" : "UNSUBSCRIBE") + " completed"));
    }
}
