package org.castellan.store.postgres;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import com.zaxxer.hikari.pool.HikariPool;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import org.castellan.store.AuthAttempt;
import org.castellan.store.AuthLogStore;
import org.castellan.store.StoreException;
import org.castellan.store.postgres.internal.PgErrors;
import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.FlywayException;

/**
 * The PostgreSQL store, for installations one machine cannot carry (docs/store.md, "Scale-out").
 * It grows one part of the store at a time, each checked by that part's contract: today the
 * {@link AuthLogStore}. It is not a {@link org.castellan.store.MailStore} yet, so
 * {@code Stores.open} does not offer it to operators.
 *
 * <p>Durability: a write returns after its transaction committed with the server's
 * {@code synchronous_commit = on}. Failure: every method throws {@link StoreException}
 * {@code UNAVAILABLE} when PostgreSQL cannot be reached or fails ({@link PgErrors}); the pool
 * reconnects without a restart. Security: the password is never logged; the schema comes from
 * Flyway migrations in {@code db/postgres}, run on every open.
 */
public final class PostgresStore implements AuthLogStore, AutoCloseable {

    /** How long a call waits for a free connection before it fails as {@code UNAVAILABLE}. */
    static final Duration CONNECTION_TIMEOUT = Duration.ofSeconds(10);

    private final HikariDataSource pool;

    private PostgresStore(HikariDataSource pool) {
        this.pool = pool;
    }

    /**
     * Connects, brings the schema up to date and returns the store.
     *
     * @param poolSize the most connections this process holds open at once
     * @throws StoreException {@code UNAVAILABLE} when PostgreSQL cannot be reached, refuses the
     *     login or the schema cannot be migrated (the message says which)
     */
    public static PostgresStore open(String jdbcUrl, String user, String password, int poolSize) {
        HikariConfig config = new HikariConfig();
        config.setJdbcUrl(jdbcUrl);
        config.setUsername(user);
        config.setPassword(password);
        config.setMaximumPoolSize(poolSize);
        config.setConnectionTimeout(CONNECTION_TIMEOUT.toMillis());
        config.setPoolName("castellan-postgres");
        HikariDataSource pool;
        try {
            pool = new HikariDataSource(config);
        } catch (HikariPool.PoolInitializationException e) {
            throw e.getCause() instanceof SQLException sql ? PgErrors.map(sql, "connect to " + jdbcUrl)
                    : StoreException.unavailable("cannot connect to " + jdbcUrl + ": " + e.getMessage(), e);
        }
        try {
            Flyway.configure(PostgresStore.class.getClassLoader()).dataSource(pool).locations("classpath:db/postgres")
                    .load().migrate();
        } catch (FlywayException e) {
            pool.close();
            throw StoreException.unavailable("cannot bring the PostgreSQL schema up to date: " + e.getMessage(), e);
        }
        return new PostgresStore(pool);
    }

    // ------------------------------------------------------------------ auth log

    private static final String AUTH_LOG_COLUMNS = "at, remote, listener, protocol, mechanism, account, result, tls_version,"
            + " certificate, reason";

    @Override
    public void recordAuthAttempts(List<AuthAttempt> attempts) {
        if (attempts.isEmpty()) return;
        OffsetDateTime oldest = utc(Instant.now().minus(AUTH_LOG_MAX_AGE));
        write("record " + attempts.size() + " authentication attempts", c -> {
            try (PreparedStatement insert = c.prepareStatement(
                    "INSERT INTO auth_log (" + AUTH_LOG_COLUMNS + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")) {
                for (AuthAttempt a : attempts) {
                    insert.setObject(1, utc(a.time()));
                    insert.setString(2, a.remote());
                    insert.setString(3, a.listener());
                    insert.setString(4, a.protocol());
                    insert.setString(5, a.mechanism());
                    insert.setString(6, a.account().toLowerCase(Locale.ROOT));
                    insert.setString(7, a.result());
                    insert.setString(8, a.tlsVersion().orElse(null));
                    insert.setString(9, a.certificate().orElse(null));
                    insert.setString(10, a.reason().orElse(null));
                    insert.addBatch();
                }
                insert.executeBatch();
            }
            // The newest AUTH_LOG_MAX_ROWS by id, counted rather than computed from the largest id:
            // identity values have gaps (rolled-back inserts, other nodes' cached ranges).
            try (PreparedStatement trim = c.prepareStatement("DELETE FROM auth_log WHERE at < ? OR id < "
                    + "(SELECT id FROM auth_log ORDER BY id DESC OFFSET ? LIMIT 1)")) {
                trim.setObject(1, oldest);
                trim.setInt(2, AUTH_LOG_MAX_ROWS - 1);
                trim.executeUpdate();
            }
            return null;
        });
    }

    @Override
    public List<AuthAttempt> listAuthAttempts(Optional<String> account, int limit) {
        if (limit < 1) throw StoreException.invalid("the limit must be at least 1, got " + limit);
        String sql = "SELECT " + AUTH_LOG_COLUMNS + " FROM auth_log"
                + (account.isPresent() ? " WHERE account = ?" : "") + " ORDER BY id DESC LIMIT ?";
        return read("read the auth log", c -> {
            try (PreparedStatement select = c.prepareStatement(sql)) {
                int i = 1;
                if (account.isPresent()) select.setString(i++, account.get().toLowerCase(Locale.ROOT));
                select.setInt(i, limit);
                List<AuthAttempt> attempts = new ArrayList<>();
                try (ResultSet rs = select.executeQuery()) {
                    while (rs.next()) attempts.add(authAttempt(rs));
                }
                return attempts;
            }
        });
    }

    private static AuthAttempt authAttempt(ResultSet rs) throws SQLException {
        return new AuthAttempt(rs.getObject(1, OffsetDateTime.class).toInstant(), rs.getString(2), rs.getString(3),
                rs.getString(4), rs.getString(5), rs.getString(6), rs.getString(7), Optional.ofNullable(rs.getString(8)),
                Optional.ofNullable(rs.getString(9)), Optional.ofNullable(rs.getString(10)));
    }

    // ------------------------------------------------------------------ plumbing

    /** Closes the pool: calls under way finish, later ones fail as {@code UNAVAILABLE}. */
    @Override
    public void close() {
        pool.close();
    }

    @FunctionalInterface
    private interface Work<T> {
        T run(Connection c) throws SQLException;
    }

    /** One transaction, committed before this returns; rolled back as a whole if anything fails. */
    private <T> T write(String doing, Work<T> work) {
        try (Connection c = pool.getConnection()) {
            c.setAutoCommit(false);
            try {
                T result = work.run(c);
                c.commit();
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

    private <T> T read(String doing, Work<T> work) {
        try (Connection c = pool.getConnection()) {
            return work.run(c);
        } catch (SQLException e) {
            throw PgErrors.map(e, doing);
        }
    }

    private static OffsetDateTime utc(Instant instant) {
        return instant.atOffset(ZoneOffset.UTC);
    }
}
