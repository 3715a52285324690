package org.castellan.server.pop3;

/** RFC 1939 §5 RSET: unmarks every message marked deleted. */
final class Rset {

    private Rset() {}

    static void run(Pop3Session s) {
        s.maildrop().undeleteAll();
        s.ok("Maildrop has " + s.maildrop().count() + " messages (" + s.maildrop().octets() + " octets)");
    }
}
