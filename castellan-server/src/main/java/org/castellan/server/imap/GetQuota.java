package org.castellan.server.imap;

import org.castellan.protocol.imap.ImapCommand;
import org.castellan.store.Quota;

/**
 * RFC 9208 §4.1.1 GETQUOTA. Each account has one quota root, {@code ""}, holding every mailbox of
 * the account, with the STORAGE resource (§5.1) when the account has a limit.
 */
final class GetQuota {

    private GetQuota() {}

    /** The name of the one quota root of an account. */
    static final String ROOT = "";

    /** RFC 9208 §5.1: STORAGE counts units of 1024 octets. */
    static final long STORAGE_UNIT = 1024;

    static void run(ImapSession s, String tag, ImapCommand.GetQuota c) {
        if (!c.root().equals(ROOT)) {
            s.no(tag, "NONEXISTENT", "No such quota root; GETQUOTAROOT names the root of a mailbox");
            return;
        }
        s.blocking(tag, () -> s.service().store().quota(s.accountId()), q -> {
            if (q.limitBytes().isEmpty()) {
                s.no(tag, "NONEXISTENT", "This account has no quota");
                return;
            }
            s.untagged(line(q));
            s.ok(tag, "GETQUOTA completed");
        });
    }

    /** RFC 9208 §4.2.1 {@code QUOTA "" (STORAGE used limit)}, both in KiB, usage rounded up. */
    static String line(Quota q) {
        long used = (q.usedBytes() + STORAGE_UNIT - 1) / STORAGE_UNIT;
        long limit = q.limitBytes().getAsLong() / STORAGE_UNIT;
        return "QUOTA \"" + ROOT + "\" (STORAGE " + used + " " + limit + ")";
    }
}
