package org.castellan.store.postgres;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Collections;
import java.util.Set;
import java.util.WeakHashMap;
import org.castellan.testkit.Postgres;

/**
 * Fresh databases for the tests of the PostgreSQL store, each already holding the store's schema:
 * a copy ({@code CREATE DATABASE … TEMPLATE}) of one database that {@link PostgresStore#open} has
 * migrated once per test server. A copy takes a fraction of the migrations' DDL, which a test
 * opening a new database would otherwise pay every time; the store still opens each copy the
 * normal way, Flyway finding its history up to date.
 *
 * <p>Tests of the migrations themselves (an older schema brought up to date) make their databases
 * empty, without this.
 */
public final class MigratedDatabases {

    /** The database copied; never opened by a test, so no session holds it while it is copied. */
    static final String TEMPLATE = "castellan_migrated";

    private static final Set<Postgres> MIGRATED = Collections.synchronizedSet(Collections.newSetFromMap(new WeakHashMap<>()));

    private MigratedDatabases() {}

    /**
     * Creates database {@code name} on {@code server} with the store's schema in place.
     *
     * @return its JDBC URL
     */
    public static String create(Postgres server, String name) throws SQLException {
        synchronized (server) {
            if (!MIGRATED.contains(server)) {
                execute(server, "CREATE DATABASE " + TEMPLATE);
                PostgresStore.open(url(server, TEMPLATE), server.user(), server.password(), 1).close();
                MIGRATED.add(server);
            }
            // PostgreSQL waits a few seconds for the template's last sessions (Flyway's, the pool's) to end.
            execute(server, "CREATE DATABASE " + name + " TEMPLATE " + TEMPLATE);
        }
        return url(server, name);
    }

    private static String url(Postgres server, String name) {
        return "jdbc:postgresql://127.0.0.1:" + server.port() + "/" + name;
    }

    private static void execute(Postgres server, String sql) throws SQLException {
        try (Connection c = DriverManager.getConnection(server.jdbcUrl(), server.user(), server.password());
                Statement s = c.createStatement()) {
            s.execute(sql);
        }
    }
}
