package org.castellan.server.imap;

import org.castellan.protocol.imap.ImapCommand;

/**
 * RFC 5267 §4.3.5 CANCELUPDATE: stops the updates of the named searches and sorts. A tag that
 * names no context gets NO, after the others are cancelled.
 */
final class CancelUpdate {

    private CancelUpdate() {}

    static void run(ImapSession s, String tag, ImapCommand.CancelUpdate c) {
        long unknown = c.tags().stream().filter(t -> !s.searchContexts().cancel(t)).count();
        // The tags are the client's quoted strings: counted, not echoed.
        if (unknown == 0) s.ok(tag, "CANCELUPDATE completed");
        else s.no(tag, "NONEXISTENT", unknown + " of the tags name no update context");
    }
}
