package org.castellan.server.imap;

import org.castellan.protocol.imap.ImapCommand;
import org.castellan.store.StoreException;

/**
 * RFC 9208 §4.1.2 GETQUOTAROOT: the quota root of a mailbox and its usage. A mailbox of an
 * account without a limit has no quota root: the QUOTAROOT response names none (§4.2.2).
 */
final class GetQuotaRoot {

    private GetQuotaRoot() {}

    static void run(ImapSession s, String tag, ImapCommand.GetQuotaRoot c) {
        var store = s.service().store();
        s.blocking(tag, () -> {
            var mailbox = store.getMailbox(s.accountId(), c.mailbox())
                    .orElseThrow(() -> StoreException.notFound("no mailbox " + c.mailbox()));
            return java.util.Map.entry(mailbox.name(), store.quota(s.accountId()));
        }, found -> {
            String name = ImapSession.mailboxOut(found.getKey(), s.utf8Names());
            if (found.getValue().limitBytes().isEmpty()) {
                s.untagged("QUOTAROOT " + name);
            } else {
                s.untagged("QUOTAROOT " + name + " \"" + GetQuota.ROOT + "\"");
                s.untagged(GetQuota.line(found.getValue()));
            }
            s.ok(tag, "GETQUOTAROOT completed");
        });
    }
}
