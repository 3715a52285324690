package org.castellan.bench.store;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import org.castellan.bench.ProcessCpu;
import org.castellan.testkit.Postgres;

/**
 * What PostgreSQL did in a measured window: statements (the contrib module pg_stat_statements,
 * when Debian's postgresql-contrib is installed; otherwise transactions only, from
 * pg_stat_database), transactions, WAL bytes (pg_current_wal_lsn) and the CPU of all its
 * processes (/proc). The benchmark's own queries run in the database {@code postgres}, which the
 * figures leave out; each tier has a database of its own.
 */
final class PgStats implements AutoCloseable {

    /** Statements per window worth naming in the report. */
    static final int TOP_STATEMENTS = 12;

    /** One statement's calls and rows in a window, its text as pg_stat_statements normalises it. */
    record StatementCount(String query, long calls, long rows) {}

    /** The counters of one database at a moment; WAL and CPU are the whole server's. */
    record Snapshot(long transactions, long walBytes, double cpuSeconds) {}

    private final Postgres postgres;
    private final Connection control;
    private final boolean statements;

    private PgStats(Postgres postgres, Connection control, boolean statements) {
        this.postgres = postgres;
        this.control = control;
        this.statements = statements;
    }

    /**
     * Loads pg_stat_statements into the server when the contrib package has it (a restart: it must
     * be in shared_preload_libraries), allows the connections of every node, and opens the
     * benchmark's own connection.
     */
    static PgStats prepare(Postgres postgres, int maxConnections) throws IOException, SQLException {
        boolean available = Files.isDirectory(Path.of("/usr/share/postgresql")) && hasStatStatements();
        String settings = "\n# castellan-bench ScaleOutBench\nmax_connections = " + maxConnections + "\n"
                + (available ? "shared_preload_libraries = 'pg_stat_statements'\npg_stat_statements.track = 'all'\n" : "");
        Files.writeString(postgres.directory().resolve("data").resolve("postgresql.conf"), settings, StandardOpenOption.APPEND);
        postgres.restart();
        Connection c = DriverManager.getConnection(postgres.jdbcUrl(), postgres.user(), postgres.password());
        c.setAutoCommit(true);
        if (available) {
            try (Statement s = c.createStatement()) {
                s.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements"); // the view and reset function read from here
            }
        }
        return new PgStats(postgres, c, available);
    }

    private static boolean hasStatStatements() throws IOException {
        try (var versions = Files.list(Path.of("/usr/share/postgresql"))) {
            return versions.anyMatch(v -> Files.exists(v.resolve("extension").resolve("pg_stat_statements.control")));
        }
    }

    boolean countsStatements() {
        return statements;
    }

    /** A new database for a tier, with the extension's view in it. */
    void createDatabase(String name) throws SQLException {
        try (Statement s = control.createStatement()) {
            s.execute("CREATE DATABASE " + name);
        }
        if (!statements) return;
        String url = postgres.jdbcUrl().substring(0, postgres.jdbcUrl().lastIndexOf('/') + 1) + name;
        try (Connection c = DriverManager.getConnection(url, postgres.user(), postgres.password());
             Statement s = c.createStatement()) {
            s.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements");
        }
    }

    /** Forgets the statements counted so far (every database's), at the start of a window. */
    void resetStatements() throws SQLException {
        if (!statements) return;
        try (Statement s = control.createStatement()) {
            s.execute("SELECT pg_stat_statements_reset()");
        }
    }

    /** The statements run in {@code database} since the last reset, most called first. */
    List<StatementCount> statements(String database) throws SQLException {
        List<StatementCount> out = new ArrayList<>();
        if (!statements) return out;
        try (var ps = control.prepareStatement("SELECT query, calls, rows FROM pg_stat_statements"
                + " WHERE dbid = (SELECT oid FROM pg_database WHERE datname = ?) ORDER BY calls DESC")) {
            ps.setString(1, database);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) out.add(new StatementCount(rs.getString(1), rs.getLong(2), rs.getLong(3)));
            }
        }
        return out;
    }

    Snapshot snapshot(String database) throws SQLException, IOException {
        long transactions;
        long wal;
        // pg_stat_database is a snapshot per transaction: clear it so this read is current.
        try (Statement s = control.createStatement()) {
            s.execute("SELECT pg_stat_clear_snapshot()");
        }
        try (var ps = control.prepareStatement("SELECT xact_commit + xact_rollback,"
                + " pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint FROM pg_stat_database WHERE datname = ?")) {
            ps.setString(1, database);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                transactions = rs.getLong(1);
                wal = rs.getLong(2);
            }
        }
        return new Snapshot(transactions, wal, ProcessCpu.treeSeconds(postmaster()));
    }

    /** The postmaster's pid, the first line of postmaster.pid; every backend is its child. */
    private long postmaster() throws IOException {
        return Long.parseLong(Files.readAllLines(postgres.directory().resolve("data").resolve("postmaster.pid")).get(0).strip());
    }

    @Override
    public void close() throws SQLException {
        control.close();
    }
}
