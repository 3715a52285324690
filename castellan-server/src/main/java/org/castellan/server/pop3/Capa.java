package org.castellan.server.pop3;

import java.util.ArrayList;
import java.util.List;

/**
 * RFC 2449 §5 CAPA. What is listed depends on the state and the connection: before login, USER
 * and SASL appear only with what AuthService allows here (so no password mechanism before TLS on
 * a listener without cleartext authentication), and STLS only while it can be used.
 */
final class Capa {

    private Capa() {}

    static void run(Pop3Session s) {
        List<String> caps = new ArrayList<>(List.of("TOP", "UIDL", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING"));
        if (s.state() == Pop3State.AUTHORIZATION) {
            var auth = s.service().auth();
            var ctx = s.authContext();
            if (auth.passwordAllowed(ctx)) caps.add("USER");
            List<String> mechanisms = auth.mechanisms(ctx);
            if (!mechanisms.isEmpty()) caps.add("SASL " + String.join(" ", mechanisms));
            if (s.stlsAvailable()) caps.add("STLS");
        }
        // RFC 2449 §6.7: the server never removes mail by itself; clients may leave it here.
        caps.add("EXPIRE NEVER");
        caps.add("IMPLEMENTATION Castellan");
        s.okMultiline("Capability list follows", caps);
    }
}
