package org.castellan.server.imap;

/**
 * RFC 3501 §6.4.1 CHECK, which RFC 9051 removed (App. E) and IMAP4rev1 clients still send: a
 * checkpoint of the selected mailbox. The store commits every change before answering, so there
 * is nothing to write out; like NOOP, the client hears what changed in the mailbox.
 */
final class Check {

    private Check() {}

    static void run(ImapSession s, String tag) {
        s.ok(tag, "CHECK completed");
    }
}
