package org.castellan.bench.soak;

import java.net.InetAddress;
import java.util.concurrent.atomic.LongAdder;

/**
 * One connection of a flood: it connects (IMAP over implicit TLS, or SMTP to the MX listener in
 * plain TCP), reads the greeting and then says nothing, holding the connection until the server
 * closes it, and connects again. Many of them from a few addresses exhaust a server that has no
 * per-address cap or pre-login timeout.
 */
final class Flood extends Attacker {

    static final String KIND = "flood";

    private final LongAdder opened;

    Flood(Arena arena, InetAddress address, boolean smtp) {
        super(arena, KIND, smtp ? Door.SMTP : Door.IMAPS, address, true);
        this.opened = arena.counters().count(KIND + ".opened");
    }

    @Override
    void greeted(LineClient.Connection c, String greeting) {
        opened.increment();
        hold();
    }

    @Override
    void reply(LineClient.Connection c, String line) {}
}
