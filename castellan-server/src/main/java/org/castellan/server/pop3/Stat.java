package org.castellan.server.pop3;

/** RFC 1939 §5 STAT: messages not marked deleted, and their octets. */
final class Stat {

    private Stat() {}

    static void run(Pop3Session s) {
        s.ok(s.maildrop().count() + " " + s.maildrop().octets());
    }
}
