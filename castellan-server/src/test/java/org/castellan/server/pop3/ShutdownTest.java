package org.castellan.server.pop3;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.CompletableFuture;
import org.castellan.server.testing.TestStores;
import org.castellan.server.testing.Transcript;
import org.castellan.store.UidRange;
import org.castellan.store.embedded.EmbeddedMailStore;
import org.junit.jupiter.api.Test;

/** A graceful shutdown ends sessions with -ERR [SYS/TEMP] (RFC 2449 §8.1.2) and deletes nothing. */
class ShutdownTest extends ServerPerTest {

    @Test
    void liveSessionIsToldToComeBackLaterAndKeepsItsMail() throws Exception {
        try (Transcript t = pop3.loggedIn()) {
            t.run("""
                    C: DELE 1
                    S: \\+OK .*
                    """);
            CompletableFuture<Void> closing = CompletableFuture.runAsync(pop3.server::close);
            t.run("""
                    S: -ERR \\[SYS/TEMP\\] .*
                    S: <closed>
                    """);
            closing.get();
            stopped = true;
        }
        if (!TestStores.embedded()) return; // the mailbox is read back from mail.db; a PostgreSQL run checks the replies above
        try (var store = EmbeddedMailStore.open(dir.resolve("mail"))) {
            assertThat(store.listMessages(pop3.inbox, UidRange.all())).hasSize(2);
        }
    }
}
