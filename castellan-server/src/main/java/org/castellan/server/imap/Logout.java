package org.castellan.server.imap;

/** RFC 9051 §6.1.3 LOGOUT: BYE, the tagged OK, then close. */
final class Logout {

    private Logout() {}

    static void run(ImapSession s, String tag) {
        s.untagged("BYE Castellan IMAP server logging out");
        s.closeWith(tag + " OK LOGOUT completed");
    }
}
