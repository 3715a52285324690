package org.castellan.bench.soak;

import java.net.InetAddress;
import java.util.List;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.BooleanSupplier;

/**
 * One attacker: a loop of connections, one at a time, each from {@link #source()}, until the run
 * ends. A connection the server closes before saying anything, or greets with a refusal
 * ({@code * BYE}, SMTP 421 or 554), counts as refused, and the next one waits a second; the
 * attacker works whether or not the server has limits that refuse it. Every kind counts
 * {@code refused} and {@code closed_by_server}; a kind that holds connections open also shows how
 * many it {@code held} at each sample.
 */
abstract class Attacker implements LineClient.Handler {

    /** After a refusal: an attacker retries, but a tight loop would measure the load generator. */
    static final long REFUSED_PAUSE_MILLIS = 1000;
    /** After an ordinary close, before the next connection. */
    static final long PAUSE_MILLIS = 100;

    /** What every attacker needs: the client, the server's ports, the accounts it aims at, the run's state. */
    record Arena(LineClient client, int imaps, int submissions, int smtp, List<String> accounts, String domain,
                 BooleanSupplier running, Counters counters) {}

    /** The listener an attacker connects to: IMAP and submission over implicit TLS, the MX in plain TCP. */
    enum Door { IMAPS, SUBMISSIONS, SMTP }

    final Arena arena;
    private final Door door;
    private final InetAddress address;
    private final LongAdder refused;
    private final LongAdder dropped;
    private final LongAdder held;
    private boolean refusedNow;
    private boolean holding;

    /**
     * @param address where connections come from, unless {@link #source()} says otherwise
     * @param holds whether this kind holds connections open, and so has a {@code held} gauge
     */
    Attacker(Arena arena, String kind, Door door, InetAddress address, boolean holds) {
        this.arena = arena;
        this.door = door;
        this.address = address;
        this.refused = arena.counters().count(kind + ".refused");
        this.dropped = arena.counters().count(kind + ".closed_by_server");
        this.held = holds ? arena.counters().gauge(kind + ".held") : null;
    }

    /** The server's first line, when it is not a refusal. */
    abstract void greeted(LineClient.Connection c, String greeting);

    /** Every later line. */
    abstract void reply(LineClient.Connection c, String line);

    /** The address the next connection comes from. */
    InetAddress source() {
        return address;
    }

    /** This connection is now held open, until it closes. */
    void hold() {
        if (holding) return;
        holding = true;
        held.increment();
    }

    void start() {
        if (!arena.running().getAsBoolean()) return;
        refusedNow = false;
        int port = switch (door) {
            case IMAPS -> arena.imaps();
            case SUBMISSIONS -> arena.submissions();
            case SMTP -> arena.smtp();
        };
        arena.client().connect(source(), port, door != Door.SMTP, this);
    }

    @Override
    public final void line(LineClient.Connection c, String line) {
        if (c.lines() > 1) {
            reply(c, line);
        } else if (line.startsWith("* BYE") || line.startsWith("421") || line.startsWith("554")) {
            refusedNow = true;
            c.close();
        } else {
            greeted(c, line);
        }
    }

    @Override
    public final void closed(LineClient.Connection c, Throwable cause) {
        boolean refusal = refusedNow || c.lines() == 0 && !c.closedByClient();
        if (refusal) refused.increment();
        else if (!c.closedByClient()) dropped.increment();
        if (holding) {
            holding = false;
            held.decrement();
        }
        if (arena.running().getAsBoolean()) arena.client().schedule(this::start, refusal ? REFUSED_PAUSE_MILLIS : PAUSE_MILLIS);
    }

    /** Account {@code n} of those under attack, round robin. */
    String account(long n) {
        return arena.accounts().get((int) Math.floorMod(n, (long) arena.accounts().size()));
    }
}
