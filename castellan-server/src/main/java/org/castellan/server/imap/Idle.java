package org.castellan.server.imap;

/** RFC 2177 IDLE: changes of the selected mailbox reach the client as they happen, until DONE. */
final class Idle {

    private Idle() {}

    static void run(ImapSession s, String tag) {
        s.idle(tag);
        s.write("+ idling\r\n");
        s.flushUpdates(() -> { });
    }

    static void done(ImapSession s) {
        s.ok(s.takeIdleTag(), "IDLE terminated");
    }
}
