package org.castellan.store.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.castellan.store.StoreAssertions.assertFails;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Optional;
import org.castellan.store.Account;
import org.castellan.store.AuthAttempt;
import org.castellan.store.AuthLogContract;
import org.castellan.store.AuthLogStore;
import org.castellan.store.Directory;
import org.castellan.store.DirectoryContract;
import org.castellan.store.StoreException;
import org.castellan.testkit.Postgres;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The directory and auth log contracts on a real PostgreSQL server (one per class, a new database
 * per test), and what only this store shows: data survives reopening, a closed store or a wrong
 * password is a temporary failure, and one node notices another's directory changes.
 */
class PostgresStoreTest implements DirectoryContract, AuthLogContract {

    private static Postgres server;
    private static int databases;

    private String url;
    private PostgresStore store;

    @BeforeAll
    static void startServer() {
        server = Postgres.start();
    }

    @AfterAll
    static void stopServer() {
        server.close();
    }

    @BeforeEach
    void open() throws SQLException {
        String name = "store_" + ++databases;
        try (Connection c = DriverManager.getConnection(server.jdbcUrl(), server.user(), server.password());
                Statement s = c.createStatement()) {
            s.execute("CREATE DATABASE " + name);
        }
        url = "jdbc:postgresql://127.0.0.1:" + server.port() + "/" + name;
        store = PostgresStore.open(url, server.user(), server.password(), 2);
    }

    @AfterEach
    void close() {
        store.close();
    }

    @Override
    public Directory directory() {
        return store;
    }

    @Override
    public AuthLogStore authLog() {
        return store;
    }

    @Test
    void attemptsOutliveReopeningAndTheSchemaIsMigratedOnce() {
        AuthAttempt attempt = new AuthAttempt(Instant.now().truncatedTo(ChronoUnit.MILLIS), "192.0.2.7", "imaps", "imap",
                "PLAIN", "alice@example.org", "OK", Optional.of("TLSv1.3"), Optional.empty());
        store.recordAuthAttempts(List.of(attempt));
        store.close();

        store = PostgresStore.open(url, server.user(), server.password(), 2);
        assertThat(store.listAuthAttempts(Optional.empty(), 10)).containsExactly(attempt);
    }

    @Test
    void aClosedStoreOrAWrongPasswordIsATemporaryFailure() {
        store.close();
        assertFails(StoreException.Kind.UNAVAILABLE, "auth log", () -> store.listAuthAttempts(Optional.empty(), 1));
        assertFails(StoreException.Kind.UNAVAILABLE, "password", () -> PostgresStore.open(url, server.user(), "wrong", 1));
    }

    /** Two nodes on one database: a route one remembers goes once the other deletes the account. */
    @Test
    void aNodeForgetsRoutesAnotherNodeChanged() {
        Account bob = account("bob@example.org");
        store.route(bob.address()).orElseThrow();
        assertThat(store.knownRoute(bob.address())).isPresent();

        try (PostgresStore otherNode = PostgresStore.open(url, server.user(), server.password(), 1)) {
            otherNode.deleteAccount(bob.id());
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> store.knownRoute(bob.address()).isEmpty());
        assertThat(store.route(bob.address())).isEmpty();
    }
}
