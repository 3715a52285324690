package org.castellan.store.embedded;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Path;
import java.time.Duration;
import org.castellan.protocol.mail.EmailAddress;
import org.castellan.store.Account;
import org.castellan.store.MailStore;
import org.castellan.store.MailStoreContract;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The store contract on a fresh embedded store per test. */
class EmbeddedMailStoreTest implements MailStoreContract {

    @TempDir
    Path directory;

    private EmbeddedMailStore store;

    @BeforeEach
    void open() {
        store = EmbeddedMailStore.open(directory);
    }

    @AfterEach
    void close() {
        store.close();
    }

    @Override
    public MailStore store() {
        return store;
    }

    /** The command line writes to the same database from its own process: the server notices. */
    @Test
    void routesChangedByAnotherProcessAreNoticed() {
        Account bob = account("bob@example.org");
        EmailAddress address = EmailAddress.of("bob@example.org");
        store.route(address).orElseThrow();
        assertThat(store.knownRoute(address)).isPresent();

        try (EmbeddedMailStore commandLine = EmbeddedMailStore.open(directory)) {
            commandLine.deleteAccount(bob.id());
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> store.knownRoute(address).isEmpty());
        assertThat(store.route(address)).isEmpty();
    }
}
