package org.castellan.bench.soak;

import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * Online password guessing against the accounts the well-behaved clients use, over IMAP LOGIN
 * (implicit TLS) or SMTP AUTH PLAIN on the submissions listener: a wrong password after each
 * answer, on as many connections as there are guessers, each connection until the server closes
 * it. A persistent guesser keeps its one address, so the server's limiter delays and then blocks
 * it; a botnet guesser comes from an address in a new /24 for every connection, so no per-host or
 * per-network count ever grows and every guess costs the server a password hash.
 */
final class Guesser extends Attacker {

    /** Botnet addresses handed out so far, over all botnet guessers. */
    private static final AtomicInteger BOTNET = new AtomicInteger();
    private static final AtomicLong GUESSES = new AtomicLong();

    private final boolean smtp;
    private final boolean botnet;
    private final LongAdder rejected;
    private final LongAdder blocked;
    private final LongAdder accepted;
    private boolean ehloDone;

    /**
     * @param home the persistent guesser's address; ignored for a botnet guesser
     */
    Guesser(Arena arena, boolean smtp, boolean botnet, InetAddress home) {
        super(arena, kind(smtp), smtp ? Door.SUBMISSIONS : Door.IMAPS, home, false);
        this.smtp = smtp;
        this.botnet = botnet;
        this.rejected = arena.counters().count(kind(smtp) + ".rejected");
        this.blocked = arena.counters().count(kind(smtp) + ".blocked");
        this.accepted = arena.counters().count(kind(smtp) + ".accepted");
    }

    static String kind(boolean smtp) {
        return smtp ? "smtp_guess" : "imap_guess";
    }

    @Override
    InetAddress source() {
        return botnet ? Loopback.spread(BOTNET.getAndIncrement()) : super.source();
    }

    @Override
    void greeted(LineClient.Connection c, String greeting) {
        ehloDone = false;
        if (smtp) c.send("EHLO guesser.example\r\n");
        else guess(c);
    }

    @Override
    void reply(LineClient.Connection c, String line) {
        if (smtp) {
            if (line.length() < 4 || line.charAt(3) == '-') return; // RFC 5321 §4.2.1: only the last line of a reply counts
            if (!ehloDone) {
                ehloDone = true;
                guess(c);
                return;
            }
            // RFC 4954 §6: 535 credentials invalid, 454 temporary failure; 421 the server is closing.
            if (line.startsWith("235")) accepted.increment();
            else if (line.startsWith("454")) blocked.increment();
            else if (line.startsWith("421")) return;
            else rejected.increment();
            guess(c);
        } else if (line.startsWith("g ")) {
            // RFC 9051 §7.1: [UNAVAILABLE] is the temporary refusal a blocked source gets.
            if (line.startsWith("g OK")) accepted.increment();
            else if (line.contains("[UNAVAILABLE]")) blocked.increment();
            else rejected.increment();
            guess(c);
        }
    }

    private void guess(LineClient.Connection c) {
        long n = GUESSES.incrementAndGet();
        String user = account(n);
        String password = "guess-" + n;
        if (smtp) {
            String plain = "\0" + user + "\0" + password; // RFC 4616 §2
            c.send("AUTH PLAIN " + Base64.getEncoder().encodeToString(plain.getBytes(StandardCharsets.UTF_8)) + "\r\n");
        } else {
            c.send("g LOGIN " + user + " \"" + password + "\"\r\n");
        }
    }
}
