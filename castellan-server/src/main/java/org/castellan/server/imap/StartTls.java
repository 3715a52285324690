package org.castellan.server.imap;

/** RFC 9051 §6.2.1 STARTTLS; the command table refuses it where it is not offered. */
final class StartTls {

    private StartTls() {}

    static void run(ImapSession s, String tag) {
        // The TLS handler goes in before the OK; plaintext pipelined behind the command is dropped.
        s.startTls();
        s.write(tag + " OK Begin TLS negotiation now\r\n");
    }
}
