package org.castellan.server.imap;

import org.castellan.protocol.imap.ImapCommand;
import org.castellan.store.StoreException;

/** RFC 9051 §6.3.5 DELETE: the mailbox and its messages; children stay. INBOX cannot go. */
final class Delete {

    private Delete() {}

    static void run(ImapSession s, String tag, ImapCommand.Delete c) {
        var store = s.service().store();
        s.blocking(tag, () -> {
            var m = store.getMailbox(s.accountId(), c.mailbox()).orElseThrow(() -> StoreException.notFound("no mailbox"));
            if (m.isInbox()) throw StoreException.invalid("INBOX cannot be deleted");
            store.deleteMailbox(m.id());
            return m;
        }, m -> s.ok(tag, "DELETE completed"));
    }
}
