package org.castellan.store.embedded.internal;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.castellan.store.StoreException;

/**
 * Read-only connections. Each read runs in its own transaction, so it sees one committed
 * snapshot (WAL lets it run while the writer writes). {@link #close} waits for reads under way
 * to end before it closes their connections; reads after it are refused.
 */
public final class ReadPool implements AutoCloseable {

    /**
     * How long {@link #close} waits for reads under way: a read is a few milliseconds, a SEARCH
     * over a large mailbox a few seconds; a read still running after this has its connection
     * closed under it and fails as the store being unavailable.
     */
    private static final long CLOSE_WAIT_MILLIS = 10_000;
    /** How often a read waiting for a connection looks whether the pool has closed. */
    private static final long TAKE_POLL_MILLIS = 200;

    /** Work done with a read connection inside a read transaction. */
    @FunctionalInterface
    public interface Read<T> {
        T run(Connection connection) throws SQLException;
    }

    private final List<Connection> all;
    private final ArrayBlockingQueue<Connection> idle;
    private volatile boolean closed;

    public ReadPool(List<Connection> connections) {
        this.all = List.copyOf(connections);
        this.idle = new ArrayBlockingQueue<>(connections.size(), false, connections);
    }

    public <T> T read(String doing, Read<T> read) {
        Connection c = null;
        try {
            while (c == null) {
                if (closed) throw StoreException.unavailable("cannot " + doing + ": the store is closed", null);
                c = idle.poll(TAKE_POLL_MILLIS, TimeUnit.MILLISECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw StoreException.unavailable("cannot " + doing + ": interrupted", e);
        }
        try {
            exec(c, "BEGIN");
            try {
                return read.run(c);
            } finally {
                exec(c, "COMMIT");
            }
        } catch (SQLException e) {
            throw SqlErrors.map(e, doing);
        } finally {
            idle.add(c);
        }
    }

    /** Through the per-connection statement cache: every read opens and ends a transaction. */
    private static void exec(Connection c, String sql) throws SQLException {
        Sql.exec(c, sql);
    }

    @Override
    public void close() {
        closed = true;
        // Each connection back in the pool is one read fewer under way; the statement cache of a
        // connection in use must not be closed while its read is still preparing statements.
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(CLOSE_WAIT_MILLIS);
        try {
            for (int back = 0; back < all.size(); back++) {
                long left = deadline - System.nanoTime();
                if (left <= 0 || idle.poll(left, TimeUnit.NANOSECONDS) == null) break;
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        for (Connection c : all) {
            try {
                Sql.close(c);
            } catch (SQLException ignored) {
                // closing; nothing to recover
            }
        }
    }
}
