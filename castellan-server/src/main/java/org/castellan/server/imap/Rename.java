package org.castellan.server.imap;

import org.castellan.protocol.imap.ImapCommand;
import org.castellan.store.StoreException;

/** RFC 9051 §6.3.6 RENAME; renaming INBOX moves its messages (the store does that). */
final class Rename {

    private Rename() {}

    static void run(ImapSession s, String tag, ImapCommand.Rename c) {
        var store = s.service().store();
        s.blocking(tag, () -> {
            var m = store.getMailbox(s.accountId(), c.from()).orElseThrow(() -> StoreException.notFound("no mailbox"));
            if (store.getMailbox(s.accountId(), c.to()).isPresent()) throw StoreException.alreadyExists("target exists");
            return store.renameMailbox(m.id(), c.to());
        }, m -> s.ok(tag, "RENAME completed"));
    }
}
