package org.castellan.server.transport;

import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.function.Predicate;

/**
 * Every live connection of this server, in one place: listing, kicking, and closing the sessions
 * of a revoked certificate all go through here (docs/design.md §2).
 */
public final class SessionRegistry {

    private final ConcurrentMap<Long, Connection> live = new ConcurrentHashMap<>();
    private final java.util.concurrent.atomic.AtomicLong ids = new java.util.concurrent.atomic.AtomicLong();

    /** A connection id not given before in this server run. */
    long nextId() {
        return ids.incrementAndGet();
    }

    void register(Connection connection) {
        live.put(connection.id(), connection);
    }

    void unregister(Connection connection) {
        live.remove(connection.id());
    }

    /** A snapshot of the live connections, oldest first. */
    public List<Connection> list() {
        return live.values().stream().sorted(Comparator.comparingLong(Connection::id)).toList();
    }

    public Optional<Connection> get(long id) {
        return Optional.ofNullable(live.get(id));
    }

    public int size() {
        return live.size();
    }

    /**
     * The event a session gets when it is asked to leave, with the reason its goodbye carries
     * (an IMAP BYE): it ends as on a shutdown, as soon as it is not in the middle of a command.
     */
    public record Departure(String reason) {
        public Departure {
            // It ends a protocol line: a line break would let it write a second one.
            if (reason.indexOf('\r') >= 0 || reason.indexOf('\n') >= 0) throw new IllegalArgumentException("a reason is one line");
        }
    }

    /**
     * Asks every connection the predicate selects to leave for {@code reason} (its protocol says
     * goodbye as on a shutdown), and closes any still open after {@code grace}; returns how many
     * it asked. A connection no protocol session reads (a relayed one on an edge) ends when its
     * other side does, or after the grace.
     */
    public int departWhere(Predicate<Connection> which, String reason, java.time.Duration grace) {
        int n = 0;
        for (Connection c : live.values()) {
            if (!which.test(c)) continue;
            c.channel().pipeline().fireUserEventTriggered(new Departure(reason));
            c.channel().eventLoop().schedule(c::close, grace.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
            n++;
        }
        return n;
    }

    /** Closes every connection the predicate selects and returns how many it closed. */
    public int closeWhere(Predicate<Connection> which) {
        int n = 0;
        for (Connection c : live.values()) {
            if (which.test(c)) {
                c.close();
                n++;
            }
        }
        return n;
    }
}
