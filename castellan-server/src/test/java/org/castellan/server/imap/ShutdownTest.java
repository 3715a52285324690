package org.castellan.server.imap;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.castellan.server.testing.TestStores;
import org.castellan.server.testing.Transcript;
import org.castellan.store.embedded.EmbeddedMailStore;
import org.junit.jupiter.api.Test;

/**
 * Graceful shutdown: an idle or waiting session gets BYE (RFC 9051 §7.1.5) and is closed; a
 * command in flight, an APPEND whose literal is still arriving too, finishes first.
 */
class ShutdownTest extends ServerPerTest {

    @Test
    void idlingSessionGetsBye() {
        try (Transcript t = imap.selected()) {
            t.run("""
                    C: w1 IDLE
                    S: \\+ idling
                    """);
            stopped = true;
            imap.close();
            t.run("""
                    S: \\* BYE Server shutting down, try again later
                    S: <closed>
                    """);
        }
    }

    @Test
    void anAppendWhoseLiteralIsArrivingFinishesBeforeTheGoodbye() throws Exception {
        byte[] msg = LargeLiteralTest.message("shutdown", 200_000);
        int port = imap.port("imap");
        long next = uidNext();
        Thread stopping;
        try (Transcript t = imap.loggedIn()) {
            t.send("a1 APPEND INBOX {" + msg.length + "}");
            t.expect("\\+ Ready for literal data");
            t.socket().getOutputStream().write(msg, 0, msg.length / 2);
            t.socket().getOutputStream().flush();
            stopped = true;
            stopping = Thread.ofPlatform().start(imap::close); // SIGTERM's path: Castellan.close
            await().atMost(Duration.ofSeconds(10)).until(() -> !accepting(port));
            t.socket().getOutputStream().write(msg, msg.length / 2, msg.length - msg.length / 2);
            t.sendRaw("\r\n");
            t.run("""
                    S: a1 OK \\[APPENDUID \\d+ %d\\] APPEND completed
                    S: \\* BYE Server shutting down, try again later
                    S: <closed>
                    """.formatted(next));
        }
        stopping.join();
        if (!TestStores.embedded()) return; // the message is read back from mail.db; a PostgreSQL run checks the acknowledgement above
        try (EmbeddedMailStore store = EmbeddedMailStore.open(dir.resolve("mail"));
                InputStream in = store.openMessage(imap.inbox, next)) {
            assertThat(new String(in.readAllBytes(), StandardCharsets.US_ASCII)).isEqualTo(new String(msg, StandardCharsets.US_ASCII));
        }
    }

    private static boolean accepting(int port) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 1000);
            return true;
        } catch (IOException e) {
            return false;
        }
    }
}
