package org.castellan.server.imap;

import org.castellan.protocol.imap.ImapCommand;
import org.castellan.store.Mailboxes;
import org.castellan.store.StoreException;

/**
 * RFC 4467 §7 RESETKEY: forgets the access key of one mailbox, or of all the user's mailboxes,
 * so that every URL authorized with it stops working. The OK of a one-mailbox reset carries
 * {@code URLMECH INTERNAL} (§8 allows it in the tagged response).
 */
final class ResetKey {

    private ResetKey() {}

    static void run(ImapSession s, String tag, ImapCommand.ResetKey c) {
        for (String mechanism : c.mechanisms()) {
            if (!mechanism.equals(UrlAccess.INTERNAL)) {
                s.no(tag, null, "Unsupported URLAUTH mechanism " + mechanism);
                return;
            }
        }
        Mailboxes store = s.service().store();
        if (c.mailbox().isEmpty()) {
            s.blocking(tag, () -> {
                store.resetAccessKeys(s.accountId());
                return null;
            }, v -> s.ok(tag, "All keys removed"));
            return;
        }
        s.blocking(tag, () -> {
            var m = store.getMailbox(s.accountId(), c.mailbox().get())
                    .orElseThrow(() -> StoreException.notFound("no mailbox " + c.mailbox().get()));
            store.resetAccessKey(m.id());
            return null;
        }, v -> s.ok(tag, "[URLMECH INTERNAL] Key reset"));
    }
}
