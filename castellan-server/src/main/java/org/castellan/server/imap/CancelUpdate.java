package org.castellan.server.imap;

import org.castellan.protocol.imap.ImapCommand;

/**
 * RFC 5267 §4.3.5 CANCELUPDATE: stops the updates of the named searches and sorts. A tag that
 * names no context gets NO, after the others are cancelled.
 */
final class CancelUpdate {

    private CancelUpdate() {}

    static void run(ImapSession s, String tag, ImapCommand.CancelUpdate c) {
        java.util.List<String> unknown = c.tags().stream().filter(t -> !s.searchContexts().cancel(t)).toList();
        if (unknown.isEmpty()) s.ok(tag, "CANCELUPDATE completed");
        else s.no(tag, "NONEXISTENT", "No update context for " + String.join(" ", unknown));
    }
}
