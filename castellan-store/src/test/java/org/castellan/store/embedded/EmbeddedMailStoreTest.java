package org.castellan.store.embedded;

import java.nio.file.Path;
import org.castellan.store.MailStore;
import org.castellan.store.MailStoreContract;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
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
}
