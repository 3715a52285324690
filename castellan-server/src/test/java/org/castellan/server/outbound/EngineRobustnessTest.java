package org.castellan.server.outbound;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Stream;
import org.castellan.protocol.smtp.Dsn;
import org.castellan.protocol.smtp.SmtpCommand;
import org.castellan.server.cli.Main;
import org.castellan.server.testing.EngineIdle;
import org.castellan.server.testing.TestServer;
import org.castellan.store.queue.NewQueuedMessage;
import org.castellan.store.queue.NewQueuedRecipient;
import org.castellan.store.queue.QueuedRecipient;
import org.castellan.store.queue.RecipientState;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The delivery engine on a running server (docs/outbound.md §2, §4): {@code castellan queue
 * release} and {@code retry} wake it, so the message goes at once rather than at the scheduler's
 * next tick (up to {@code OutboundEngine.MAX_SLEEP}, a minute), and a queued message whose content
 * cannot be read is deferred on its own while the rest of its connection's messages go.
 */
class EngineRobustnessTest {

    /**
     * Well under the scheduler's own minute: a message made due is attempted within this only
     * when something woke the engine.
     */
    private static final Duration AT_ONCE = Duration.ofSeconds(20);

    @TempDir Path dir;
    SmtpSink sink;
    /** A port nothing listens on: every attempt to later.test is deferred. */
    int closedPort;
    TestServer server;

    @BeforeEach
    void start() throws Exception {
        sink = new SmtpSink(dir.resolve("sink"));
        try (ServerSocket s = new ServerSocket(0)) {
            closedPort = s.getLocalPort();
        }
        String routes = String.join("\n",
                "[[outbound.route]]", "domain = \"remote.test\"", "next-hop = \"127.0.0.1:" + sink.port + "\"",
                "[[outbound.route]]", "domain = \"later.test\"", "next-hop = \"127.0.0.1:" + closedPort + "\"", "");
        server = TestServer.startWith(dir.resolve("server"), "", routes,
                TestServer.listener("submissions", "submission", "implicit", false));
    }

    @AfterEach
    void stop() {
        server.server().close();
        sink.close();
    }

    private OutboundEngine engine() {
        return server.server().outbound().orElseThrow();
    }

    /** Enqueued through the store, which does not wake the engine. */
    private long enqueue(String recipient, byte[] content) {
        return engine().queue().enqueue(new NewQueuedMessage("alice@example.org", Optional.empty(), Dsn.Ret.HDRS,
                SmtpCommand.Body.SEVEN_BIT, false, false, Optional.empty(), "test", Instant.now(),
                List.of(new NewQueuedRecipient(recipient, Set.of(Dsn.Notify.FAILURE), Optional.empty()))),
                new ByteArrayInputStream(content)).id();
    }

    private static byte[] message(String subject, int bodyOctets) {
        StringBuilder b = new StringBuilder("Subject: " + subject + "\r\n\r\n");
        String line = subject + " ".repeat(60) + "\r\n";
        while (b.length() < bodyOctets) b.append(line);
        return b.append("end of ").append(subject).append("\r\n").toString().getBytes(StandardCharsets.US_ASCII);
    }

    private QueuedRecipient recipient(long id) {
        return engine().queue().get(id).orElseThrow().recipients().get(0);
    }

    private boolean delivered(long id) {
        return engine().queue().get(id).map(m -> m.recipients().get(0).state() == RecipientState.DELIVERED).orElse(true);
    }

    /** {@code castellan queue <command> <id>} against the running server. */
    private String queueCommand(String command, long id) {
        PrintStream out = System.out;
        ByteArrayOutputStream printed = new ByteArrayOutputStream();
        int code;
        try {
            System.setOut(new PrintStream(printed, true, StandardCharsets.UTF_8));
            code = Main.run("queue", command, Long.toString(id), "--data", dir.resolve("server").toString());
        } finally {
            System.setOut(out);
        }
        assertThat(code).as(printed.toString(StandardCharsets.UTF_8)).isEqualTo(Main.OK);
        return printed.toString(StandardCharsets.UTF_8);
    }

    @Test
    void releaseSendsAHeldMessageAtOnce() {
        EngineIdle.await(); // asleep for up to a minute, and enqueueing does not wake it
        long id = enqueue("carol@remote.test", message("held", 100));
        assertThat(engine().queue().hold(id)).isTrue();

        assertThat(queueCommand("release", id)).contains("released message " + id);
        await().atMost(AT_ONCE).until(() -> delivered(id));
        assertThat(sink.awaitMessages(1, "end of held")).hasSize(1);
    }

    @Test
    void retryAttemptsADeferredMessageAtOnce() {
        long id = enqueue("carol@later.test", message("later", 100));
        engine().wake();
        await().atMost(AT_ONCE).until(() -> recipient(id).attempts() == 1);
        // Refused connection: deferred by retry-initial (five minutes); the scheduler sleeps again.
        assertThat(recipient(id).state()).isEqualTo(RecipientState.QUEUED);
        assertThat(recipient(id).nextAttempt()).isAfter(Instant.now().plus(Duration.ofMinutes(4)));

        assertThat(queueCommand("retry", id)).contains("message " + id + " is due now");
        await().atMost(AT_ONCE).until(() -> recipient(id).attempts() == 2);
    }

    @Test
    void aMessageWhoseContentIsGoneDoesNotStopTheOthersOfItsConnection() throws Exception {
        // Bodies over 128 KiB are files of their own in the blob directory.
        long broken = enqueue("carol@remote.test", message("broken", 200 * 1024));
        long first = enqueue("dave@remote.test", message("first", 200 * 1024));
        long second = enqueue("erin@remote.test", message("second", 100));
        Files.delete(blobFile(broken));
        engine().wake();

        await().atMost(Duration.ofSeconds(30)).until(() -> delivered(first) && delivered(second));
        assertThat(sink.awaitMessages(2, "end of ")).anyMatch(m -> m.contains("end of first"))
                .anyMatch(m -> m.contains("end of second"));
        QueuedRecipient r = recipient(broken);
        assertThat(r.state()).isEqualTo(RecipientState.QUEUED);
        assertThat(r.attempts()).isEqualTo(1);
        assertThat(r.lastReply()).hasValueSatisfying(reply -> assertThat(reply).startsWith("4.3.0 "));
    }

    /** Where the store keeps the queued message's body. */
    private Path blobFile(long messageId) throws Exception {
        Path db;
        try (Stream<Path> files = Files.walk(dir.resolve("server"))) {
            db = files.filter(f -> f.getFileName().toString().equals("mail.db")).findFirst().orElseThrow();
        }
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + db);
             PreparedStatement st = c.prepareStatement("SELECT blob_hash FROM queue_messages WHERE id = ?")) {
            st.setLong(1, messageId);
            try (ResultSet rs = st.executeQuery()) {
                assertThat(rs.next()).isTrue();
                String hash = rs.getString(1);
                return db.resolveSibling("blobs").resolve(hash.substring(0, 2)).resolve(hash);
            }
        }
    }
}
