package org.castellan.server.pop3;

import org.castellan.server.testing.Transcript;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.castellan.store.StoreEvent;
import org.junit.jupiter.api.Test;

/** RFC 1939 §5 DELE and §6 UPDATE: marks only; QUIT removes through the store. */
class DeleTest extends ServerPerTest {

    @Test
    void deleteThenQuitExpungesAndASecondViewSeesIt() {
        List<StoreEvent> seen = new CopyOnWriteArrayList<>();
        try (var subscription = pop3.server.store().subscribe(pop3.inbox, seen::add);
             Transcript t = pop3.loggedIn()) {
            t.run("""
                    C: DELE 1
                    S: \\+OK Message 1 deleted
                    C: DELE 1
                    S: -ERR Message 1 already deleted
                    C: DELE 3
                    S: -ERR No such message
                    """);
            assertThat(pop3.uids()).containsExactly(firstUid, secondUid);
            t.run("""
                    C: QUIT
                    S: \\+OK .*signing off \\(1 messages left\\)
                    S: <closed>
                    """);
            assertThat(pop3.uids()).containsExactly(secondUid);
            await().atMost(Duration.ofSeconds(10)).until(() -> seen.stream()
                    .anyMatch(e -> e instanceof StoreEvent.MessagesExpunged x && x.uids().contains(firstUid)));
        }
    }

    @Test
    void clientVanishingBeforeQuitDeletesNothing() {
        Transcript t = pop3.loggedIn();
        t.run("""
                C: DELE 1
                S: \\+OK .*
                C: DELE 2
                S: \\+OK .*
                """);
        t.close();
        // The lock is released once the server has seen the close; then a new session starts.
        await().atMost(Duration.ofSeconds(10)).until(() -> pop3.server.sessions().size() == 0);
        try (Transcript again = pop3.loggedIn()) {
            again.run("""
                    C: STAT
                    S: \\+OK 2 .*
                    """);
        }
        assertThat(pop3.uids()).containsExactly(firstUid, secondUid);
    }
}
