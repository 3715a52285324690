package org.castellan.server.pop3;

/** RFC 2595 §4 STLS. */
final class Stls {

    private Stls() {}

    static void run(Pop3Session s) {
        if (!s.stlsAvailable()) {
            s.error(s.connection().tlsStarted() ? "Command not permitted when TLS active" : "STLS not offered here");
            return;
        }
        s.startTls();
    }
}
