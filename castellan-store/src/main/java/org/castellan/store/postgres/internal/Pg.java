package org.castellan.store.postgres.internal;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Types;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

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
                case Instant t -> st.setObject(i + 1, t.atOffset(ZoneOffset.UTC));
                default -> throw new IllegalArgumentException("unsupported SQL parameter " + args[i].getClass());
            }
        }
    }
}
