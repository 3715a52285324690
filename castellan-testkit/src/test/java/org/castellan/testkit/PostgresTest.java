package org.castellan.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** {@link Postgres} as the PostgreSQL store's tests will use it: JDBC over loopback, restarts, durability settings. */
class PostgresTest {

    private Postgres pg;

    @BeforeEach
    void start() {
        pg = Postgres.start();
    }

    @AfterEach
    void stop() {
        if (pg != null) pg.close();
    }

    private Connection connect() throws SQLException {
        return DriverManager.getConnection(pg.jdbcUrl(), pg.user(), pg.password());
    }

    private void commitTwoRows() throws SQLException {
        try (Connection c = connect(); Statement s = c.createStatement()) {
            s.execute("CREATE TABLE messages (uid BIGINT PRIMARY KEY, subject TEXT NOT NULL)");
            c.setAutoCommit(false);
            s.execute("INSERT INTO messages VALUES (4294967295, 'the highest UID'), (7, 'Grüße')");
            c.commit();
        }
    }

    private List<String> rows() throws SQLException {
        List<String> rows = new ArrayList<>();
        try (Connection c = connect(); Statement s = c.createStatement();
                ResultSet r = s.executeQuery("SELECT uid, subject FROM messages ORDER BY uid")) {
            while (r.next()) rows.add(r.getLong(1) + " " + r.getString(2));
        }
        return rows;
    }

    @Test
    void aCommittedRowIsReadAfterARestartOnTheSamePort() throws SQLException {
        commitTwoRows();
        int port = pg.port();
        try (Connection before = connect()) {
            pg.restart();
            assertThat(pg.port()).isEqualTo(port);
            // The restart ended this session: the driver sees the connection broken.
            assertThatThrownBy(() -> before.createStatement().execute("SELECT 1")).isInstanceOf(SQLException.class);
        }
        assertThat(rows()).containsExactly("7 Grüße", "4294967295 the highest UID");
    }

    @Test
    void aCommittedRowSurvivesAStopWithoutCheckpointThroughWalReplay() throws Exception {
        commitTwoRows();
        pg.restartAfterCrash();
        assertThat(rows()).containsExactly("7 Grüße", "4294967295 the highest UID");
        assertThat(Files.readString(pg.directory().resolve("postgres.log")))
                .contains("database system was interrupted").contains("redo starts");
    }

    @Test
    void theServerIsDurableListensOnLoopbackOnlyAndWantsThePassword() throws Exception {
        try (Connection c = connect(); Statement s = c.createStatement()) {
            for (String setting : List.of("fsync", "synchronous_commit", "full_page_writes")) {
                try (ResultSet r = s.executeQuery("SHOW " + setting)) {
                    assertThat(r.next()).isTrue();
                    assertThat(r.getString(1)).as(setting).isEqualTo("on");
                }
            }
            try (ResultSet r = s.executeQuery("SHOW listen_addresses")) {
                assertThat(r.next()).isTrue();
                assertThat(r.getString(1)).isEqualTo("127.0.0.1");
            }
            try (ResultSet r = s.executeQuery("SELECT inet_server_addr()::text, current_setting('unix_socket_directories')")) {
                assertThat(r.next()).isTrue();
                assertThat(r.getString(1)).isEqualTo("127.0.0.1/32");
                assertThat(r.getString(2)).isEqualTo(pg.directory().toString());
            }
        }
        assertThat(pg.directory().resolve(".s.PGSQL." + pg.port())).exists();
        SQLException refused = catchThrowableOfType(SQLException.class,
                () -> DriverManager.getConnection(pg.jdbcUrl(), pg.user(), "not-the-password"));
        assertThat(refused.getSQLState()).isEqualTo("28P01"); // invalid_password
    }

    @Test
    void closeStopsTheServerAndDeletesItsDirectory() {
        Path directory = pg.directory();
        String url = pg.jdbcUrl();
        pg.close();
        pg = null;
        assertThat(directory).doesNotExist();
        SQLException refused = catchThrowableOfType(SQLException.class, () -> DriverManager.getConnection(url, "castellan", "x"));
        assertThat(refused.getSQLState()).isEqualTo("08001"); // connection refused: nothing listens
    }
}
