package org.castellan.server.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.SQLException;
import java.util.concurrent.atomic.AtomicInteger;
import org.castellan.store.postgres.MigratedDatabases;
import org.castellan.testkit.Postgres;

/**
 * Which store the test servers run on. By default the embedded one; with
 * {@code -Dcastellan.test.store=postgres} every {@link TestServer} gets a fresh database of one
 * PostgreSQL server (the testkit's, started once for the test JVM and stopped at its exit), so a
 * protocol suite can be run unchanged against the PostgreSQL store.
 */
public final class TestStores {

    /** The system property that selects the store: {@code embedded} (the default) or {@code postgres}. */
    public static final String PROPERTY = "castellan.test.store";

    private static final AtomicInteger DATABASES = new AtomicInteger();
    private static Postgres server;

    private TestStores() {}

    /** Whether the test servers run on the embedded store, the default. */
    public static boolean embedded() {
        return !"postgres".equals(System.getProperty(PROPERTY, "embedded"));
    }

    /** The {@code [store]} table for a server in {@code dir}: empty for the embedded store. */
    public static String table(Path dir) throws IOException {
        if (embedded()) return "";
        return postgres(dir);
    }

    /** The {@code [store]} table of a fresh PostgreSQL database, whatever {@link #PROPERTY} says: for tests of several nodes. */
    public static String postgres(Path dir) throws IOException {
        Database db = database();
        Path password = Files.createDirectories(dir).resolve("postgres.pass");
        Files.writeString(password, db.password() + "\n");
        Files.setPosixFilePermissions(password, PosixFilePermissions.fromString("rw-------"));
        return String.join("\n", "[store]", "kind = \"postgres\"",
                "url = \"postgres://127.0.0.1:" + db.port() + "/" + db.name() + "\"", "user = \"" + db.user() + "\"",
                "password-file = \"" + password + "\"", "pool-size = 4", "");
    }

    /** A fresh database of the test PostgreSQL, for a test that opens the store itself. */
    public record Database(String name, int port, String user, String password) {
        public String jdbcUrl() {
            return "jdbc:postgresql://127.0.0.1:" + port + "/" + name;
        }
    }

    /**
     * Creates a fresh database on the testkit PostgreSQL (started at the first call), the store's
     * schema already in it ({@link MigratedDatabases}).
     */
    public static Database database() throws IOException {
        Postgres pg = server();
        String name = "test_" + DATABASES.incrementAndGet();
        try {
            MigratedDatabases.create(pg, name);
        } catch (SQLException e) {
            throw new IOException("cannot create database " + name + ": " + e.getMessage(), e);
        }
        return new Database(name, pg.port(), pg.user(), pg.password());
    }

    private static synchronized Postgres server() {
        if (server == null) server = Postgres.start(); // stopped and deleted by its shutdown hook when the JVM exits
        return server;
    }
}
