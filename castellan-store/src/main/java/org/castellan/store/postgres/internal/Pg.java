package org.castellan.store.postgres.internal;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Types;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import javax.sql.DataSource;

/**
 * The few JDBC shapes the PostgreSQL store uses, without a framework. Times are
 * {@code TIMESTAMPTZ}, bound and read as UTC {@link OffsetDateTime}s; the store truncates them to
 * milliseconds before writing, so what it returns equals what it reads back.
 */
public final class Pg {

    /** Maps the current row. */
    @FunctionalInterface
    public interface Row<T> {
        T map(ResultSet rs) throws SQLException;
    }

    private Pg() {}

    /** Work on one connection of the pool. */
    @FunctionalInterface
    public interface Work<T> {
        T run(Connection c) throws SQLException;
    }

    /** How a transaction ends once its work is done: {@code Connection::commit}, or more around it. */
    @FunctionalInterface
    public interface Commit {
        void commit(Connection c) throws SQLException;
    }

    /** One statement or several in autocommit; a failure is {@code UNAVAILABLE} ({@link PgErrors}). */
    public static <T> T read(DataSource pool, String doing, Work<T> work) {
        try (Connection c = pool.getConnection()) {
            return work.run(c);
        } catch (SQLException e) {
            throw PgErrors.map(e, doing);
        }
    }

    /**
     * Several statements that must see one committed state. The isolation is the transaction's
     * ({@code SET TRANSACTION}, which pgjdbc sends with its {@code BEGIN READ ONLY} in one round
     * trip), not the session's: setting the session's costs a round trip before and the pool's
     * reset a second one after.
     */
    public static <T> T snapshot(DataSource pool, String doing, Work<T> work) {
        try (Connection c = pool.getConnection()) {
            c.setAutoCommit(false);
            c.setReadOnly(true);
            try {
                try (Statement st = c.createStatement()) {
                    st.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ");
                }
                return work.run(c);
            } finally {
                c.rollback(); // nothing to keep; the pool resets read-only
            }
        } catch (SQLException e) {
            throw PgErrors.map(e, doing);
        }
    }

    /** One transaction, ended by {@code commit} before this returns; rolled back as a whole if anything fails. */
    public static <T> T transaction(DataSource pool, String doing, Work<T> work, Commit commit) {
        try (Connection c = pool.getConnection()) {
            c.setAutoCommit(false);
            try {
                T result = work.run(c);
                commit.commit(c);
                return result;
            } catch (SQLException | RuntimeException e) {
                try {
                    c.rollback();
                } catch (SQLException rollbackFailed) {
                    e.addSuppressed(rollbackFailed); // the connection is gone; so is the transaction
                }
                throw e;
            }
        } catch (SQLException e) {
            throw PgErrors.map(e, doing);
        }
    }

    public static int update(Connection c, String sql, Object... args) throws SQLException {
        try (PreparedStatement st = c.prepareStatement(sql)) {
            bind(st, args);
            return st.executeUpdate();
        }
    }

    public static <T> Optional<T> one(Connection c, String sql, Row<T> row, Object... args) throws SQLException {
        List<T> rows = list(c, sql, row, args);
        return rows.isEmpty() ? Optional.empty() : Optional.of(rows.getFirst());
    }

    public static <T> List<T> list(Connection c, String sql, Row<T> row, Object... args) throws SQLException {
        try (PreparedStatement st = c.prepareStatement(sql)) {
            bind(st, args);
            try (ResultSet rs = st.executeQuery()) {
                List<T> out = new ArrayList<>();
                while (rs.next()) out.add(row.map(rs));
                return out;
            }
        }
    }

    public static boolean exists(Connection c, String sql, Object... args) throws SQLException {
        return one(c, sql, rs -> Boolean.TRUE, args).isPresent();
    }

    public static long count(Connection c, String sql, Object... args) throws SQLException {
        return one(c, sql, rs -> rs.getLong(1), args).orElse(0L);
    }

    /** A nullable {@code TIMESTAMPTZ} column. */
    public static Optional<Instant> instant(ResultSet rs, int column) throws SQLException {
        OffsetDateTime t = rs.getObject(column, OffsetDateTime.class);
        return t == null ? Optional.empty() : Optional.of(t.toInstant());
    }

    private static void bind(PreparedStatement st, Object... args) throws SQLException {
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case null -> st.setNull(i + 1, Types.NULL);
                case Long l -> st.setLong(i + 1, l);
                case Integer n -> st.setInt(i + 1, n);
                case String s -> st.setString(i + 1, s);
                case Boolean b -> st.setBoolean(i + 1, b);
                case byte[] bytes -> st.setBytes(i + 1, bytes);
                case java.sql.Array array -> st.setArray(i + 1, array);
                case Instant t -> st.setObject(i + 1, t.atOffset(ZoneOffset.UTC));
                case java.time.LocalDate d -> st.setObject(i + 1, d);
                default -> throw new IllegalArgumentException("unsupported SQL parameter " + args[i].getClass());
            }
        }
    }
}
