package org.castellan.server.imap;

/** RFC 9051 §6.2.1 STARTTLS. */
final class StartTls {

    private StartTls() {}

    static void run(ImapSession s, String tag) {
        if (!s.startTlsAvailable()) {
            s.bad(tag, s.connection().tlsStarted() ? "TLS is already active" : "STARTTLS not offered here");
            return;
        }
        // The TLS handler goes in before the OK; plaintext pipelined behind the command is dropped.
        s.startTls();
        s.write(tag + " OK Begin TLS negotiation now\r\n");
    }
}
