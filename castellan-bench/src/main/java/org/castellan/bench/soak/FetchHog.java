package org.castellan.bench.soak;

import java.net.InetAddress;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.LongAdder;
import org.castellan.bench.imap.MixedWorkloadBench;

/**
 * A logged-in client that pipelines {@code FETCH 1:* BODY.PEEK[]} over a mailbox of multi-megabyte
 * messages and never reads the answers: the server must stop producing when the connection stops
 * draining, rather than buffer every message of every FETCH. It holds the connection for a while,
 * then drops it with the output still pending, and logs in again.
 */
final class FetchHog extends Attacker {

    static final String KIND = "hog";
    /** How long a hog holds its unread FETCHes before hanging up, at random in this range. */
    private static final long MIN_HOLD_MILLIS = 30_000;
    private static final long MAX_HOLD_MILLIS = 120_000;

    private final String account;
    private final int pipeline;
    private final LongAdder fetches;
    /** The FETCHes are out: whatever still arrives is not looked at. */
    private boolean fetched;

    FetchHog(Arena arena, InetAddress address, String account, int pipeline) {
        super(arena, KIND, Door.IMAPS, address, true);
        this.account = account;
        this.pipeline = pipeline;
        this.fetches = arena.counters().count(KIND + ".fetches");
    }

    @Override
    void greeted(LineClient.Connection c, String greeting) {
        fetched = false;
        c.send("h1 LOGIN " + account + " \"" + MixedWorkloadBench.PASSWORD + "\"\r\n");
    }

    @Override
    void reply(LineClient.Connection c, String line) {
        if (fetched) return;
        if (line.startsWith("h1 ")) {
            if (line.startsWith("h1 OK")) c.send("h2 SELECT INBOX\r\n");
            else c.close();
        } else if (line.startsWith("h2 ")) {
            if (!line.startsWith("h2 OK")) {
                c.close();
                return;
            }
            StringBuilder all = new StringBuilder();
            for (int i = 0; i < pipeline; i++) all.append("f").append(i).append(" FETCH 1:* BODY.PEEK[]\r\n");
            c.send(all.toString());
            c.stopReading();
            fetches.add(pipeline);
            fetched = true;
            hold();
            c.later(c::close, ThreadLocalRandom.current().nextLong(MIN_HOLD_MILLIS, MAX_HOLD_MILLIS));
        }
    }
}
