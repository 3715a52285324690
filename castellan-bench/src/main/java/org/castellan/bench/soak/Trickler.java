package org.castellan.bench.soak;

import java.net.InetAddress;
import java.util.concurrent.atomic.LongAdder;

/**
 * A slow client: after the greeting it sends one byte every few seconds — an IMAP LOGIN that
 * takes minutes to arrive, or SMTP commands to the MX listener that each complete just before an
 * idle timer would end them. It holds its connection until the server closes it.
 */
final class Trickler extends Attacker {

    static final String KIND = "trickle";

    private final boolean smtp;
    private final long everyMillis;
    private final LongAdder bytes;
    private String script;
    private int sent;

    Trickler(Arena arena, InetAddress address, boolean smtp, long everyMillis) {
        super(arena, KIND, smtp ? Door.SMTP : Door.IMAPS, address, true);
        this.smtp = smtp;
        this.everyMillis = everyMillis;
        this.bytes = arena.counters().count(KIND + ".bytes");
    }

    @Override
    void greeted(LineClient.Connection c, String greeting) {
        script = smtp ? "EHLO trickle.example\r\n" : "t LOGIN " + account(source().hashCode()) + " \"trickle\"\r\n";
        sent = 0;
        hold();
        c.later(() -> next(c), everyMillis);
    }

    @Override
    void reply(LineClient.Connection c, String line) {}

    private void next(LineClient.Connection c) {
        c.send(script.substring(sent, sent + 1));
        bytes.increment();
        if (++sent == script.length()) {
            // Then NOOPs (SMTP) or the LOGIN again (IMAP), as slowly.
            if (smtp) script = "NOOP\r\n";
            sent = 0;
        }
        c.later(() -> next(c), everyMillis);
    }
}
