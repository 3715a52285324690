package org.castellan.bench.soak;

import java.net.InetAddress;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.LongAdder;

/**
 * Recipient harvesting on the MX listener: one transaction after another, each RCPT TO a local
 * part that may exist (one in five is an account's) to learn from 250 and 550 which do. Never
 * sends a message. Continues on the same connection until the server closes it.
 */
final class Harvester extends Attacker {

    static final String KIND = "harvest";
    /** RCPTs per transaction before RSET: below the 100 recipients a server must accept (RFC 5321 §4.5.3.1.8). */
    private static final int RCPTS_PER_TRANSACTION = 20;
    private static final String[] NAMES = {"admin", "info", "sales", "support", "john", "mary", "office", "billing", "hr", "test"};

    private enum State { EHLO, MAIL, RCPT, RSET }

    private final LongAdder accepted;
    private final LongAdder rejected;
    private final LongAdder deferred;
    private State state;
    private int rcpts;

    Harvester(Arena arena, InetAddress address) {
        super(arena, KIND, Door.SMTP, address, false);
        this.accepted = arena.counters().count(KIND + ".accepted");
        this.rejected = arena.counters().count(KIND + ".rejected");
        this.deferred = arena.counters().count(KIND + ".deferred");
    }

    @Override
    void greeted(LineClient.Connection c, String greeting) {
        state = State.EHLO;
        c.send("EHLO harvest.example\r\n");
    }

    @Override
    void reply(LineClient.Connection c, String line) {
        if (line.length() < 4 || line.charAt(3) == '-') return; // RFC 5321 §4.2.1: only the last line of a reply counts
        char code = line.charAt(0);
        switch (state) {
            case EHLO, RSET -> mail(c);
            case MAIL -> {
                if (code == '2') rcpt(c);
                else c.close();
            }
            case RCPT -> {
                if (line.startsWith("421")) return; // the server is closing the connection (RFC 5321 §3.8)
                if (code == '2') accepted.increment();
                else if (code == '5') rejected.increment();
                else deferred.increment(); // 4xx: the server slows harvesting down
                if (rcpts >= RCPTS_PER_TRANSACTION) {
                    state = State.RSET;
                    c.send("RSET\r\n");
                } else {
                    rcpt(c);
                }
            }
        }
    }

    private void mail(LineClient.Connection c) {
        state = State.MAIL;
        rcpts = 0;
        c.send("MAIL FROM:<list@harvest.example>\r\n");
    }

    private void rcpt(LineClient.Connection c) {
        state = State.RCPT;
        rcpts++;
        ThreadLocalRandom r = ThreadLocalRandom.current();
        String account = account(r.nextInt(arena.accounts().size()));
        String local = r.nextInt(5) == 0
                ? account.substring(0, account.indexOf('@'))
                : NAMES[r.nextInt(NAMES.length)] + (r.nextBoolean() ? "" : Integer.toString(r.nextInt(100)));
        c.send("RCPT TO:<" + local + "@" + arena.domain() + ">\r\n");
    }
}
