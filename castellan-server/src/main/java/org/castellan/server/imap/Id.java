package org.castellan.server.imap;

import org.castellan.protocol.imap.ImapCommand;

/** RFC 2971 ID: names the server, never its version (RFC 2971 §5 warns it helps attackers). */
final class Id {

    private Id() {}

    static void run(ImapSession s, String tag, ImapCommand.Id c) {
        s.clientId(c.fieldsAndValues()); // carried to the mailbox node by an edge (docs/roles.md §2)
        s.untagged("ID (\"name\" \"Castellan\")");
        s.ok(tag, "ID completed");
    }
}
