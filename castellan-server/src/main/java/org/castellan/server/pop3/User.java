package org.castellan.server.pop3;

import org.castellan.protocol.pop3.Pop3Command;

/**
 * RFC 1939 §7 USER. The name is only remembered for PASS; whether it exists is never revealed
 * (RFC 1939 §13). Refused where passwords may not cross the connection.
 */
final class User {

    private User() {}

    static void run(Pop3Session s, Pop3Command.User c) {
        if (!s.service().auth().passwordAllowed(s.authContext())) {
            // docs/design.md §5.1: no credential without TLS unless the listener allows cleartext.
            s.err("[AUTH] Cleartext login not allowed here; use STLS or the POP3S port first");
            return;
        }
        s.pendingUser(c.name());
        s.ok("Send PASS");
    }
}
