package org.castellan.server.imap;

/**
 * RFC 9208 §4.1.3 SETQUOTA. Limits are the administrator's (the account's quota in the store);
 * no IMAP user may change them, so QUOTASET is not advertised and SETQUOTA is refused with
 * NOPERM (RFC 5530 §3).
 */
final class SetQuota {

    private SetQuota() {}

    static void run(ImapSession s, String tag) {
        s.no(tag, "NOPERM", "Quota limits are set by the server administrator");
    }
}
