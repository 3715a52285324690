package org.castellan.server.pop3;

/** RFC 2595 §4 STLS. */
final class Stls {

    private Stls() {}

    static void run(Pop3Session s) {
        if (!s.stlsAvailable()) {
            s.error(s.connection().tlsStarted() ? "Command not permitted when TLS active" : "STLS not offered here");
            return;
        }
        // RFC 2595 §4: the go-ahead is the last cleartext line; what the client sent behind STLS is dropped.
        s.startTls();
        s.ok("Begin TLS negotiation");
    }
}
