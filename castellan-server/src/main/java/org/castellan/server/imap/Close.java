package org.castellan.server.imap;

import org.castellan.store.Flags;
import org.castellan.store.MessageMeta;
import org.castellan.store.UidRange;

/**
 * RFC 9051 §6.4.2 CLOSE (removes \Deleted messages silently, unless read-only) and §6.4.3
 * UNSELECT (RFC 3691), which removes nothing. Neither sends EXPUNGE responses.
 */
final class Close {

    private Close() {}

    static void run(ImapSession s, String tag, boolean expunge) {
        SelectedMailbox view = s.selected().orElseThrow();
        s.deselect();
        if (!expunge || view.readOnly) {
            s.ok(tag, (expunge ? "CLOSE" : "UNSELECT") + " completed");
            return;
        }
        var store = s.service().store();
        long id = view.mailbox.id();
        s.blocking(tag, () -> {
            var deleted = store.listMessages(id, UidRange.all()).stream()
                    .filter(m -> m.flags().contains(Flags.DELETED)).map(MessageMeta::uid).toList();
            return deleted.isEmpty() ? null : store.expungeDeleted(id, deleted);
        }, r -> s.ok(tag, "CLOSE completed"));
    }
}
