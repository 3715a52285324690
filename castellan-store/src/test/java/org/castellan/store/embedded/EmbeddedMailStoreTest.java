package org.castellan.store.embedded;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Path;
import java.time.Duration;
import org.castellan.protocol.mail.EmailAddress;
import org.castellan.store.Account;
import org.castellan.store.AuthLogContract;
import org.castellan.store.AuthLogStore;
import org.castellan.store.Directory;
import org.castellan.store.DirectoryContract;
import org.castellan.store.Mailboxes;
import org.castellan.store.MailboxesContract;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The directory, auth log and mailbox contracts on a fresh embedded store per test; the queue's
 * contract runs in {@link EmbeddedOutboundQueueTest}.
 */
class EmbeddedMailStoreTest implements DirectoryContract, AuthLogContract, MailboxesContract {

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
    public Directory directory() {
        return store;
    }

    @Override
    public AuthLogStore authLog() {
        return store;
    }

    @Override
    public Mailboxes mailboxes() {
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
