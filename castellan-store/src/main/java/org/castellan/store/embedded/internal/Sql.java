package org.castellan.store.embedded.internal;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Types;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.List;
import java.util.Optional;

/** The few JDBC shapes the store uses, without a framework. */
public final class Sql {

    /** Maps the current row. */
    @FunctionalInterface
    public interface Row<T> {
        T map(ResultSet rs) throws SQLException;
    }

    /**
     * Prepared statements by connection and SQL text. SQLite compiles a statement on every
     * prepare; a delivery runs about eight, so compiling each once per connection takes most of the
     * work off the single writer thread. Each connection is used by one thread at a time (the
     * writer, or a read borrowed from the pool); {@link #close} closes its statements with it.
     */
    private static final Map<Connection, Map<String, PreparedStatement>> PREPARED = new ConcurrentHashMap<>();

    private Sql() {}

    private static PreparedStatement prepared(Connection c, String sql) throws SQLException {
        Map<String, PreparedStatement> byText = PREPARED.computeIfAbsent(c, k -> new HashMap<>());
        PreparedStatement st = byText.get(sql);
        if (st == null || st.isClosed()) {
            st = c.prepareStatement(sql);
            byText.put(sql, st);
        } else {
            st.clearParameters();
        }
        return st;
    }

    /** Closes the connection's cached statements and the connection itself. */
    public static void close(Connection c) throws SQLException {
        Map<String, PreparedStatement> byText = PREPARED.remove(c);
        if (byText != null) {
            for (PreparedStatement st : byText.values()) st.close();
        }
        c.close();
    }

    public static int update(Connection c, String sql, Object... args) throws SQLException {
        PreparedStatement st = prepared(c, sql);
        bind(st, args);
        return st.executeUpdate();
    }

    public static <T> Optional<T> one(Connection c, String sql, Row<T> row, Object... args) throws SQLException {
        PreparedStatement st = prepared(c, sql);
        bind(st, args);
        try (ResultSet rs = st.executeQuery()) {
            return rs.next() ? Optional.of(row.map(rs)) : Optional.empty();
        }
    }

    public static <T> List<T> list(Connection c, String sql, Row<T> row, Object... args) throws SQLException {
        PreparedStatement st = prepared(c, sql);
        bind(st, args);
        try (ResultSet rs = st.executeQuery()) {
            List<T> out = new ArrayList<>();
            while (rs.next()) out.add(row.map(rs));
            return out;
        }
    }

    public static boolean exists(Connection c, String sql, Object... args) throws SQLException {
        return one(c, sql, rs -> Boolean.TRUE, args).isPresent();
    }

    public static long count(Connection c, String sql, Object... args) throws SQLException {
        return one(c, sql, rs -> rs.getLong(1), args).orElse(0L);
    }

    /**
     * Runs a statement without parameters or result (BEGIN, COMMIT, SAVEPOINT...) from the
     * connection's cache: each read and each write request runs two or more of these, and
     * compiling them anew every time cost more than the queries they bracket.
     */
    public static void exec(Connection c, String sql) throws SQLException {
        prepared(c, sql).execute();
    }

    /** The rowid of the last INSERT on this connection. */
    public static long lastId(Connection c) throws SQLException {
        return count(c, "SELECT last_insert_rowid()");
    }

    private static void bind(PreparedStatement st, Object... args) throws SQLException {
        for (int i = 0; i < args.length; i++) {
            Object a = args[i];
            switch (a) {
                case null -> st.setNull(i + 1, Types.NULL);
                case Long l -> st.setLong(i + 1, l);
                case Integer n -> st.setInt(i + 1, n);
                case String s -> st.setString(i + 1, s);
                case Boolean b -> st.setInt(i + 1, b ? 1 : 0);
                case byte[] bytes -> st.setBytes(i + 1, bytes);
                default -> throw new IllegalArgumentException("unsupported SQL parameter " + a.getClass());
            }
        }
    }
}
