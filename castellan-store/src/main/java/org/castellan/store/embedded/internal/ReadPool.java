package org.castellan.store.embedded.internal;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import org.castellan.store.StoreException;

/**
 * Read-only connections. Each read runs in its own transaction, so it sees one committed
 * snapshot (WAL lets it run while the writer writes).
 */
public final class ReadPool implements AutoCloseable {

    /** Work done with a read connection inside a read transaction. */
    @FunctionalInterface
    public interface Read<T> {
        T run(Connection connection) throws SQLException;
    }

    private final List<Connection> all;
    private final ArrayBlockingQueue<Connection> idle;

    public ReadPool(List<Connection> connections) {
        this.all = List.copyOf(connections);
        this.idle = new ArrayBlockingQueue<>(connections.size(), false, connections);
    }

    public <T> T read(String doing, Read<T> read) {
        Connection c;
        try {
            c = idle.take();
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
        for (Connection c : all) {
            try {
                Sql.close(c);
            } catch (SQLException ignored) {
                // closing; nothing to recover
            }
        }
    }
}
