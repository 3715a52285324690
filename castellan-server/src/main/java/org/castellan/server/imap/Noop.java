package org.castellan.server.imap;

/** RFC 9051 §6.1.2 NOOP: reports mailbox changes. */
final class Noop {

    private Noop() {}

    static void run(ImapSession s, String tag) {
        s.ok(tag, "NOOP completed");
    }
}
