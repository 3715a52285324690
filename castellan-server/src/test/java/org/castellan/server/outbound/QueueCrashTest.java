package org.castellan.server.outbound;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.castellan.server.Castellan;
import org.castellan.server.cli.Main;
import org.castellan.server.config.CastellanConfig;
import org.castellan.server.outbound.AcknowledgingReceiver.Ack;
import org.castellan.server.testing.ExternalClient;
import org.castellan.server.testing.TestServer;
import org.castellan.store.queue.OutboundQueue;
import org.castellan.store.queue.RecipientState;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The queue under {@code kill -9} (docs/outbound.md §2, docs/design.md §5): {@code castellan serve}
 * runs in a JVM of its own and is killed with SIGKILL while 1,000 submitted messages (one to three
 * recipients each, 2,000 recipients in all) go out through a static route to a receiver in this
 * test, then started again on the same data directory.
 *
 * <p>The guarantee is RFC 5321 §6.1's: once Castellan answered 250 to the submitter it is
 * responsible for the message, and every recipient reaches the receiver at least once. A
 * recipient is sent twice only when the kill fell between the receiver's final 250 and the
 * queue's commit of that result: at most the messages in an open transaction at the kill, one per
 * session, so at most {@code max-connections-per-destination} messages. A recipient whose
 * acknowledgement was committed is never sent again.
 *
 * <p>"Acknowledged" is exact here: the receiver records each recipient before it writes its 250,
 * and the receiver lives in this JVM, which is not killed.
 */
class QueueCrashTest {

    static final int MESSAGES = 1000;
    /** Submitting connections at once, so the store's group commit takes several at a time. */
    static final int SUBMITTERS = 4;
    /** {@code outbound.max-connections-per-destination}'s default: the most messages in flight at once. */
    static final int SESSIONS = 5;
    /** A safety net for a slow machine, never a timing assertion. */
    static final Duration LIMIT = Duration.ofSeconds(180);
    private static final Pattern LISTENING = Pattern.compile("listening: submissions \\(.*\\) on 127\\.0\\.0\\.1:(\\d+)");

    /** Prints "ok ID" once the server answered 250 to the message's content, flushed at once. */
    private static final String SUBMITTER = """
            import smtplib, ssl, sys, threading
            port, ca, count, threads = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
            lock = threading.Lock()
            def run(t):
                try:
                    with smtplib.SMTP_SSL("127.0.0.1", port, context=ssl.create_default_context(cafile=ca)) as s:
                        s.login("alice@example.org", "correct horse battery")
                        for i in range(t, count, threads):
                            tid = "m%04d" % i
                            rcpts = ["r%d@remote.test" % k for k in range(1 + i % 3)]
                            msg = ("From: alice@example.org\\r\\nTo: %s\\r\\nSubject: %s\\r\\nX-Test-Id: %s\\r\\n\\r\\n"
                                   "Message %s.\\r\\n" % (", ".join(rcpts), tid, tid, tid))
                            refused = s.sendmail("alice@example.org", rcpts, msg)
                            with lock:
                                print("ok", tid, len(rcpts), "refused" if refused else "", flush=True)
                except Exception as e:
                    with lock:
                        print("stopped", repr(e), flush=True)
            workers = [threading.Thread(target=run, args=(t,)) for t in range(threads)]
            for w in workers: w.start()
            for w in workers: w.join()
            """;

    @TempDir Path dir;
    AcknowledgingReceiver receiver;
    Path data;
    Path trust;
    int runs;

    @BeforeEach
    void prepare() throws Exception {
        ExternalClient.require("python3", "python3");
        receiver = new AcknowledgingReceiver();
        data = dir.resolve("data");
        String route = String.join("\n", "[[outbound.route]]", "domain = \"remote.test\"",
                "next-hop = \"127.0.0.1:" + receiver.port() + "\"", "tls = \"none\"", "");
        // The data directory, its configuration and accounts, as the test servers make them; this
        // JVM then lets go of it, and only the serve processes use it.
        TestServer made = TestServer.startWith(data, "", route,
                TestServer.listener("submissions", "submission", "implicit", false));
        trust = made.pki().trustFile();
        made.server().close();
    }

    @AfterEach
    void stop() throws IOException {
        receiver.close();
    }

    @Test
    void aKillDuringDeliveryLosesNothingAndRepeatsAtMostTheMessagesInFlight() throws Exception {
        Map<String, Integer> submitted;
        try (Serve first = Serve.start(data, dir.resolve("serve-" + ++runs + ".log"))) {
            // The receiver holds its greetings until every message is queued, so delivery is in
            // full flow, not keeping pace with submission, when the kill comes.
            Submission s = Submission.start(dir, first.port(), trust);
            assertThat(s.process.waitFor(LIMIT.toSeconds(), TimeUnit.SECONDS)).as("submission ended").isTrue();
            submitted = s.acknowledged();
            assertThat(submitted).as(s.output()).hasSize(MESSAGES);
            receiver.open();
            await().atMost(LIMIT).until(() -> receiver.messagesAcknowledged.get() >= 300 || !first.process.isAlive());
            first.kill();
        }
        int beforeKill = receiver.messagesAcknowledged.get();

        try (Serve second = Serve.start(data, dir.resolve("serve-" + ++runs + ".log"))) {
            second.port();
            awaitAllDelivered(submitted);
            second.stop();
        }
        Set<Ack> expected = expected(submitted);
        List<Ack> acks = receiver.acks();
        Set<Ack> seen = new HashSet<>();
        Set<String> repeatedMessages = new HashSet<>();
        int repeatedRecipients = 0;
        for (Ack a : acks) {
            if (!seen.add(a)) {
                repeatedRecipients++;
                repeatedMessages.add(a.id());
            }
        }
        System.out.printf("queue crash: %d messages acknowledged by the receiver before the kill, %d recipients"
                + " (of %d messages) acknowledged twice, %d acknowledgements in all%n", beforeKill, repeatedRecipients,
                repeatedMessages.size(), acks.size());
        assertThat(seen).as("every submitted recipient acknowledged, nothing else").isEqualTo(expected);
        // Duplicates only for the messages whose 250 came before the queue's commit: one per session.
        assertThat(repeatedMessages).as("messages sent twice").hasSizeLessThanOrEqualTo(SESSIONS);

        assertQueueFinishedAndNothingMoreSent(acks.size());
    }

    @Test
    void aKillDuringSubmissionKeepsEveryMessageAcknowledgedToTheSubmitter() throws Exception {
        receiver.open();
        Map<String, Integer> acknowledged;
        try (Serve first = Serve.start(data, dir.resolve("serve-" + ++runs + ".log"))) {
            Submission s = Submission.start(dir, first.port(), trust);
            await().atMost(LIMIT).until(() -> s.acknowledged().size() >= 300 || !s.process.isAlive());
            first.kill();
            assertThat(s.process.waitFor(LIMIT.toSeconds(), TimeUnit.SECONDS)).as("submission ended").isTrue();
            acknowledged = s.acknowledged();
            System.out.printf("queue crash: %d of %d messages acknowledged to the submitter before the kill%n",
                    acknowledged.size(), MESSAGES);
            assertThat(acknowledged.size()).as(s.output()).isLessThan(MESSAGES);
        }
        try (Serve second = Serve.start(data, dir.resolve("serve-" + ++runs + ".log"))) {
            second.port();
            awaitAllDelivered(acknowledged);
            second.stop();
        }
        // RFC 5321 §6.1: what got its 250 is delivered; what did not may or may not be.
        assertThat(Set.copyOf(receiver.acks())).containsAll(expected(acknowledged));
        assertQueueFinishesTheRest();
    }

    private void awaitAllDelivered(Map<String, Integer> messages) {
        Set<Ack> expected = expected(messages);
        await().atMost(LIMIT).until(() -> Set.copyOf(receiver.acks()).containsAll(expected));
    }

    /**
     * Starts the server a third time, in this JVM, and finds no recipient queued or leased: the
     * engine has nothing to send, and the receiver got nothing more.
     */
    private void assertQueueFinishedAndNothingMoreSent(int acksBefore) throws Exception {
        try (Castellan server = startInThisJvm()) {
            assertFinished(server.outbound().orElseThrow().queue());
        }
        assertThat(receiver.acks()).hasSize(acksBefore);
    }

    /**
     * Starts the server a third time, in this JVM, and lets it finish: messages the queue
     * committed but whose 250 the submitter never saw are delivered too, and nothing is left.
     */
    private void assertQueueFinishesTheRest() throws Exception {
        try (Castellan server = startInThisJvm()) {
            OutboundQueue queue = server.outbound().orElseThrow().queue();
            await().atMost(LIMIT).untilAsserted(() -> assertFinished(queue));
        }
    }

    private Castellan startInThisJvm() throws Exception {
        Path file = data.resolve("castellan.toml");
        return Castellan.start(CastellanConfig.parse(Files.readString(file), file));
    }

    private static void assertFinished(OutboundQueue queue) {
        assertThat(queue.list(MESSAGES * 2).stream().flatMap(m -> m.recipients().stream()))
                .allSatisfy(r -> assertThat(r.state()).isEqualTo(RecipientState.DELIVERED));
        assertThat(queue.nextAttempt()).isEmpty();
    }

    private static Set<Ack> expected(Map<String, Integer> messages) {
        Set<Ack> out = new HashSet<>();
        messages.forEach((id, n) -> {
            for (int k = 0; k < n; k++) out.add(new Ack(id, "r" + k + "@remote.test"));
        });
        return out;
    }

    private static String read(Path file) {
        try {
            return Files.readString(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The Python submitter, its standard output in a file. */
    private record Submission(Process process, Path file) {

        static Submission start(Path dir, int port, Path trust) throws IOException {
            Path out = dir.resolve("submission.out");
            Process p = new ProcessBuilder("python3", "-c", SUBMITTER, Integer.toString(port), trust.toString(),
                    Integer.toString(MESSAGES), Integer.toString(SUBMITTERS))
                    .redirectErrorStream(true).redirectOutput(out.toFile()).start();
            return new Submission(p, out);
        }

        String output() {
            return read(file);
        }

        /** Test id → number of recipients, of each message the server answered 250. */
        Map<String, Integer> acknowledged() {
            Map<String, Integer> out = new HashMap<>();
            for (String line : output().split("\n")) {
                String[] f = line.strip().split(" ");
                if (f[0].equals("ok") && f.length == 3) out.put(f[1], Integer.parseInt(f[2]));
            }
            return out;
        }
    }

    /** {@code castellan serve} in a JVM of its own, as {@code org.castellan.server.cli.ServeProcess} runs it; other crash tests use it too. */
    record Serve(Process process, Path stderr) implements AutoCloseable {

        static Serve start(Path data, Path stderr) throws IOException {
            String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
            Process p = new ProcessBuilder(List.of(java, "--enable-native-access=ALL-UNNAMED",
                    "-Dlogback.configurationFile=logback.xml", "-cp", System.getProperty("java.class.path"),
                    Main.class.getName(), "serve", "--data", data.toString()))
                    .redirectError(stderr.toFile()).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            return new Serve(p, stderr);
        }

        String log() {
            return read(stderr);
        }

        int port() {
            await().atMost(LIMIT).until(() -> LISTENING.matcher(log()).find() || !process.isAlive());
            Matcher m = LISTENING.matcher(log());
            assertThat(m.find()).as(log()).isTrue();
            return Integer.parseInt(m.group(1));
        }

        /** SIGKILL: Process.destroyForcibly on Linux. */
        void kill() throws InterruptedException {
            assertThat(process.isAlive()).as(log()).isTrue();
            process.destroyForcibly();
            assertThat(process.waitFor(LIMIT.toSeconds(), TimeUnit.SECONDS)).isTrue();
            assertThat(process.exitValue()).isEqualTo(128 + 9);
        }

        void stop() throws InterruptedException {
            process.destroy();
            assertThat(process.waitFor(LIMIT.toSeconds(), TimeUnit.SECONDS)).as("stopped after SIGTERM").isTrue();
        }

        @Override
        public void close() {
            if (process.isAlive()) process.destroyForcibly();
        }
    }
}
