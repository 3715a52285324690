package org.castellan.server.imap;

/** RFC 9051 §6.1.2 NOOP (and §6.4.1 CHECK, gone from IMAP4rev2, kept as NOOP for rev1 clients): reports mailbox changes. */
final class Noop {

    private Noop() {}

    static void run(ImapSession s, String tag) {
        s.ok(tag, "NOOP completed");
    }
}
