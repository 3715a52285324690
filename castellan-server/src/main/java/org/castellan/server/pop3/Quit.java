package org.castellan.server.pop3;

/**
 * RFC 1939 §4, §6 QUIT: from AUTHORIZATION it just closes; from TRANSACTION it enters UPDATE,
 * where the marked messages are removed from the store before the goodbye.
 */
final class Quit {

    private Quit() {}

    static void run(Pop3Session s) {
        if (s.state() == Pop3State.TRANSACTION) {
            s.enterUpdate();
        } else {
            s.closeWith("+OK Castellan POP3 server signing off");
        }
    }
}
