package org.castellan.server.smtp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLSocket;
import org.castellan.protocol.mail.EmailAddress;
import org.castellan.security.auth.ScramSecret;
import org.castellan.server.Castellan;
import org.castellan.server.config.CastellanConfig;
import org.castellan.server.config.LogFormat;
import org.castellan.server.testing.LogCapture;
import org.castellan.server.testing.Transcript;
import org.castellan.store.MessageMeta;
import org.castellan.store.UidRange;
import org.castellan.store.objects.ObjectStoreSettings;
import org.castellan.store.objects.S3Bodies;
import org.castellan.store.postgres.PostgresStore;
import org.castellan.testkit.ObjectStore;
import org.castellan.testkit.Postgres;
import org.castellan.testkit.TestPki;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Whole servers on PostgreSQL (and S3 for bodies over {@code inline-max}) while what they depend
 * on fails under SMTP load (docs/store.md, "Failure"): concurrent clients submit over implicit TLS
 * and note every message that got 250. While PostgreSQL or the object store is down every client
 * is answered with a 4xx, never a 5xx and never silence past {@link #REPLY_BOUND}; IMAP answers
 * {@code NO [UNAVAILABLE]} (RFC 5530 §3) and POP3 {@code -ERR [SYS/TEMP]} (RFC 3206 §4) and their
 * sessions go on; once the service is back 250s come again from the same server, and every
 * message acknowledged is in the mailbox byte for byte, read by another store on the database
 * (a second node's view). A node killed with SIGKILL under load loses nothing acknowledged
 * either, and a node that could not LISTEN for a while catches up with what it missed.
 */
class PostgresFailureTest {

    private static final int CLIENTS = 4;

    /** Acknowledgements wanted in each phase: enough that writes were under way when the failure came. */
    private static final int ACKS = 20;

    /**
     * The longest a client waits for one reply (SmtpClient's socket timeout, 30 s): well above
     * the store's 5 s wait for a connection, so a reply that does not come within it is a hang.
     */
    private static final Duration REPLY_BOUND = Duration.ofSeconds(30);

    /** Each phase's wait for its condition; well under a minute for the whole test. */
    private static final Duration PHASE = Duration.ofSeconds(40);

    /** Bodies above this go to the object store; every other message of a client is larger. */
    private static final String INLINE_MAX = "4KB";

    private static Postgres postgres;
    private static int databases;

    @TempDir Path dir;
    private TestPki pki;

    @BeforeAll
    static void startPostgres() {
        postgres = Postgres.start();
    }

    @AfterAll
    static void stopPostgres() {
        if (postgres != null) postgres.close();
    }

    @BeforeEach
    void pki() throws IOException {
        pki = TestPki.create(Files.createDirectories(dir.resolve("test-pki")));
    }

    /**
     * PostgreSQL stopped (as an administrator does, and as after a crash: no checkpoint, the WAL
     * replayed at start) and started again under load.
     */
    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void whilePostgresIsDownClientsAreToldToRetryAndNothingAcknowledgedIsLost(boolean crash) throws Exception {
        Node node = node("restart_" + (crash ? "crash" : "fast"), null);
        Load load;
        try (Castellan server = Castellan.start(node.config());
                Transcript imap = imap(server, "imaps")) {
            load = new Load(pki, server.addresses().get("submissions").getPort());
            load.awaitAcks(ACKS);
            Transcript pop = pop(server); // its maildrop now holds messages
            if (crash) postgres.crash();
            else postgres.stop();
            try {
                // Both asked at once, while the clients submit: each reply comes after the store's wait
                // for a connection (PostgresStore's 5 s), and the three waits overlap.
                imap.send("s1 STATUS INBOX (MESSAGES)");
                pop.send("RETR 1");
                load.awaitEveryClientToldToRetry();
                // RFC 5530 §3 UNAVAILABLE: a command that needs the store; the session goes on.
                assertThat(until(imap, "s1 ")).startsWith("s1 NO [UNAVAILABLE] ");
                assertThat(tagged(imap, "s2", "NOOP")).startsWith("s2 OK");
                // RFC 3206 §4 SYS/TEMP: the maildrop's message is there, its body cannot be read now.
                pop.expect("-ERR \\[SYS/TEMP\\] .*");
            } finally {
                postgres.startAgain();
            }
            load.awaitAcks(load.acknowledged.size() + ACKS);
            assertThat(tagged(imap, "s3", "STATUS INBOX (MESSAGES)")).startsWith("s3 OK");
            pop.send("RETR 1");
            pop.expect("\\+OK.*");
            pop.close();
            load.close();
            load.assertOnlyTemporaryFailures();
        }
        node.assertStored(load);
    }

    /**
     * The object store unreachable (S3Proxy stopped, then started again on its port): bodies over
     * {@code inline-max} cannot be stored or read, so their deliveries get 451 and a FETCH of one
     * {@code NO [UNAVAILABLE]}; smaller bodies, kept in PostgreSQL, go on being accepted.
     */
    @Test
    void whileTheObjectStoreIsDownLargeBodiesAreRefusedForNowAndNothingAcknowledgedIsLost() throws Exception {
        ObjectStore objects = ObjectStore.start(dir.resolve("buckets"));
        try {
            Node node = node("objects", objects);
            Load load;
            try (Castellan server = Castellan.start(node.config())) {
                load = new Load(pki, server.addresses().get("submissions").getPort());
                load.awaitAcks(ACKS);
                Transcript imap = imap(server, "imaps");
                // UID 1 is some client's first message, and every client's first message is large.
                objects.close();
                try {
                    load.awaitEveryClientToldToRetry();
                    assertThat(tagged(imap, "f1", "UID FETCH 1 BODY.PEEK[]")).startsWith("f1 NO [UNAVAILABLE] ");
                    assertThat(tagged(imap, "f2", "NOOP")).startsWith("f2 OK");
                } finally {
                    objects = objects.startAgain();
                }
                load.awaitAcks(load.acknowledged.size() + ACKS);
                assertThat(tagged(imap, "f3", "UID FETCH 1 BODY.PEEK[]")).startsWith("f3 OK");
                imap.close();
                load.close();
                load.assertOnlyTemporaryFailures();
            }
            node.assertStored(load);
        } finally {
            objects.close();
        }
    }

    /**
     * A node killed with SIGKILL (a child JVM) while PostgreSQL restarts as after a crash, under
     * load with bodies in the object store: the node starts again and takes mail, and every
     * message acknowledged before the kill is there as another node reads it.
     */
    @Test
    void aNodeKilledUnderLoadAcrossAPostgresCrashLosesNothingAcknowledged() throws Exception {
        try (ObjectStore objects = ObjectStore.start(dir.resolve("buckets"))) {
            Node node = node("killed", objects);
            Process child = child(node, "first");
            Load load;
            try {
                load = new Load(pki, port(child, "first"));
                load.awaitAcks(ACKS);
                postgres.restartAfterCrash();
                load.awaitAcks(load.acknowledged.size() + ACKS);
                load.serverDies();
                child.destroyForcibly(); // SIGKILL: no shutdown hooks, no graceful stop
                assertThat(child.waitFor(30, TimeUnit.SECONDS)).isTrue();
                load.close();
                load.assertOnlyTemporaryFailures();
            } finally {
                child.destroyForcibly();
            }
            try (Castellan again = Castellan.start(node.config())) { // the node started again (in this JVM, warm)
                int port = again.addresses().get("submissions").getPort();
                await().atMost(PHASE).until(() -> submitted(port, "after the restart"));
            }
            node.assertStored(load);
        }
    }

    private Process child(Node node, String name) throws IOException {
        String java = ProcessHandle.current().info().command().orElseThrow();
        return new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                SmtpCrashChild.class.getName(), node.config.toString())
                .redirectError(dir.resolve(name + ".err").toFile()).start();
    }

    /** The port the child says its submission listener is on, once it serves. */
    private int port(Process child, String name) throws IOException {
        String ready = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8)).readLine();
        assertThat(ready).as("child said: %s; stderr: %s", ready, Files.readString(dir.resolve(name + ".err")))
                .startsWith("READY ");
        return Integer.parseInt(ready.substring(6));
    }

    /**
     * docs/store.md, "Events across nodes": a change committed while node B's LISTEN connection is
     * down reaches a session IDLE on B (RFC 9051 §6.3.13: an untagged EXISTS while idling) once
     * the connection is back, by B reading its watched mailboxes again. B logs in as a role of its
     * own, refused logins across the restart, so the delivery on node A surely falls in B's gap.
     */
    @Test
    void aDeliveryWhileANodeCannotListenReachesAnIdleSessionThereOnReconnect() throws Exception {
        Node a = node("listen_a", null);
        String nodeB = "castellan_node_b";
        String secret = "node b " + System.nanoTime();
        sql("CREATE ROLE " + nodeB + " LOGIN PASSWORD '" + secret + "' IN ROLE " + postgres.user());
        Path configB = config("listen_b", a.database, nodeB, secret, null);
        try (Castellan serverA = Castellan.start(a.config());
                Castellan serverB = Castellan.start(CastellanConfig.load(configB));
                Transcript idle = imap(serverB, "imaps");
                LogCapture log = new LogCapture(LogFormat.TEXT)) {
            idle.send("i IDLE");
            idle.expect("\\+ .*");
            sql("ALTER ROLE " + nodeB + " NOLOGIN");
            postgres.restart(); // B's LISTEN connection breaks and cannot come back yet
            int port = serverA.addresses().get("submissions").getPort();
            await().atMost(PHASE).until(() -> submitted(port, "while B was deaf"));
            sql("ALTER ROLE " + nodeB + " LOGIN");
            assertThat(until(idle, "* 1 EXISTS")).isEqualTo("* 1 EXISTS");
            idle.send("DONE");
            assertThat(until(idle, "i ")).startsWith("i OK");
            // Each node says once that it cannot listen, however often B's attempts were refused, and once that it can again.
            await().atMost(PHASE).until(() -> log.count("The LISTEN connection to PostgreSQL is back") == 2);
            assertThat(log.count("The LISTEN connection to PostgreSQL failed")).isEqualTo(2);
        }
    }

    /** One message over a new session; whether it got 250. */
    private boolean submitted(int port, String subject) {
        try (SmtpClient c = SmtpClient.tls(port, pki)) {
            c.hello();
            c.login(SmtpTestServer.ALICE, SmtpTestServer.PASSWORD);
            for (String command : List.of("MAIL FROM:<alice@example.org>", "RCPT TO:<bob@example.org>")) {
                if (!c.send(command + "\r\n").reply().startsWith("250")) return false;
            }
            if (!c.send("DATA\r\n").reply().startsWith("354")) return false;
            return c.send(message(subject) + ".\r\n").reply().startsWith("250");
        } catch (RuntimeException | AssertionError e) {
            return false; // PostgreSQL not back yet for this node's pool: 4xx, try again
        }
    }

    private static void sql(String statement) throws SQLException {
        try (Connection c = DriverManager.getConnection(postgres.jdbcUrl(), postgres.user(), postgres.password());
                Statement s = c.createStatement()) {
            s.execute(statement);
        }
    }

    /** A name for each test's database. */
    private static synchronized String database(String prefix) throws SQLException {
        String name = prefix + "_" + ++databases;
        sql("CREATE DATABASE " + name);
        return name;
    }

    // ------------------------------------------------------------------ the node

    /** A server's configuration on a new database, and the second node's view of what it stored. */
    private final class Node {
        final Path config;
        final String database;
        final String jdbcUrl;
        final ObjectStoreSettings objects;
        final long inbox;

        Node(Path config, String database, ObjectStoreSettings objects, long inbox) {
            this.config = config;
            this.database = database;
            this.jdbcUrl = "jdbc:postgresql://127.0.0.1:" + postgres.port() + "/" + database;
            this.objects = objects;
            this.inbox = inbox;
        }

        CastellanConfig config() throws Exception {
            return CastellanConfig.load(config);
        }

        PostgresStore open() {
            return objects == null ? PostgresStore.open(jdbcUrl, postgres.user(), postgres.password(), 2)
                    : PostgresStore.open(jdbcUrl, postgres.user(), postgres.password(), 2, S3Bodies.open(objects));
        }

        /** Every acknowledged message is in bob's INBOX, byte for byte, as another node reads it. */
        void assertStored(Load load) throws IOException {
            Map<String, String> stored = new HashMap<>();
            try (PostgresStore store = open()) {
                for (MessageMeta m : store.listMessages(inbox, UidRange.all())) {
                    try (InputStream in = store.openMessage(inbox, m.uid())) {
                        String body = SmtpTestServer.afterReceived(in.readAllBytes());
                        int at = body.indexOf("Subject: ") + 9;
                        stored.put(body.substring(at, body.indexOf("\r\n", at)), body);
                    }
                }
            }
            assertThat(load.acknowledged).hasSizeGreaterThanOrEqualTo(2 * ACKS);
            for (String subject : load.acknowledged) {
                assertThat(stored.get(subject)).as("message %s, acknowledged", subject).isEqualTo(message(subject));
            }
        }
    }

    /** A new database with alice and bob, and a server's configuration on it. */
    private Node node(String name, ObjectStore objectStore) throws Exception {
        String database = database(name);
        Path config = config(name, database, postgres.user(), postgres.password(), objectStore);
        Node node = new Node(config, database, settings(objectStore), 0);
        long inbox;
        try (PostgresStore store = node.open()) {
            store.createDomain("example.org");
            String secret = ScramSecret.derive(SmtpTestServer.PASSWORD.toCharArray(), 4096).encode();
            store.createAccount(EmailAddress.of(SmtpTestServer.ALICE), secret, OptionalLong.empty());
            long bob = store.createAccount(EmailAddress.of(SmtpTestServer.BOB), secret, OptionalLong.empty()).id();
            inbox = store.getMailbox(bob, "INBOX").orElseThrow().id();
        }
        return new Node(config, database, node.objects, inbox);
    }

    private static ObjectStoreSettings settings(ObjectStore objectStore) {
        return objectStore == null ? null : ObjectStoreSettings.of(objectStore.endpoint(), ObjectStore.REGION,
                objectStore.bucket(), objectStore.accessKey(), objectStore.secretKey());
    }

    /** The configuration of a server in {@code dir/name} on {@code database} as {@code user}; returns its file. */
    private Path config(String name, String database, String user, String secret, ObjectStore objectStore) throws IOException {
        Path data = Files.createDirectories(dir.resolve(name));
        Path password = data.resolve("postgres.pass");
        Files.writeString(password, secret + "\n");
        Files.setPosixFilePermissions(password, PosixFilePermissions.fromString("rw-------"));
        List<String> lines = new ArrayList<>(List.of(
                "[server]", "hostname = \"localhost\"", "data-dir = \".\"",
                "[tls]", "certificate = \"" + pki.server().chainFile() + "\"", "key = \"" + pki.server().keyFile() + "\"",
                "[auth]", "scram-iterations = 4096",
                "[store]", "kind = \"postgres\"", "url = \"postgres://127.0.0.1:" + postgres.port() + "/" + database + "\"",
                "user = \"" + user + "\"", "password-file = \"postgres.pass\"", "pool-size = 4"));
        if (objectStore != null) {
            Files.writeString(data.resolve("s3.access"), objectStore.accessKey() + "\n");
            Files.writeString(data.resolve("s3.secret"), objectStore.secretKey() + "\n");
            Files.setPosixFilePermissions(data.resolve("s3.secret"), PosixFilePermissions.fromString("rw-------"));
            lines.addAll(List.of("[store.object-store]", "endpoint = \"" + objectStore.endpoint() + "\"",
                    "bucket = \"" + objectStore.bucket() + "\"", "access-key-file = \"s3.access\"",
                    "secret-key-file = \"s3.secret\"", "inline-max = \"" + INLINE_MAX + "\""));
        }
        for (String[] l : new String[][] {{"submissions", "submission"}, {"imaps", "imap"}, {"pop3s", "pop3"}}) {
            lines.addAll(List.of("[[listener]]", "name = \"" + l[0] + "\"", "protocol = \"" + l[1] + "\"",
                    "address = \"127.0.0.1\"", "port = 0", "tls = \"implicit\""));
        }
        Path config = data.resolve("castellan.toml");
        Files.writeString(config, String.join("\n", lines) + "\n");
        return config;
    }

    // ------------------------------------------------------------------ messages and clients

    /** Every other message of a client is above {@link #INLINE_MAX}, so it goes to the object store when there is one. */
    static String message(String subject) {
        boolean large = subject.endsWith("0") || subject.endsWith("2") || subject.endsWith("4") || subject.endsWith("6")
                || subject.endsWith("8");
        return "From: alice@example.org\r\nTo: bob@example.org\r\nSubject: " + subject + "\r\n\r\n"
                + ("payload of " + subject + " in a line of its own\r\n").repeat(large ? 200 : 10);
    }

    /** Clients submitting to one server until closed, noting what each reply said. */
    static final class Load implements AutoCloseable {
        final Set<String> acknowledged = ConcurrentHashMap.newKeySet();
        final Set<Integer> toldToRetry = ConcurrentHashMap.newKeySet();
        final List<String> wrong = new CopyOnWriteArrayList<>();
        private final List<Thread> threads = new ArrayList<>();
        private volatile boolean stopping;
        private volatile boolean dying;

        Load(TestPki pki, int port) {
            for (int t = 0; t < CLIENTS; t++) {
                int client = t;
                threads.add(Thread.ofVirtual().start(() -> submit(pki, port, client)));
            }
        }

        private void submit(TestPki pki, int port, int client) {
            try (SmtpClient c = SmtpClient.tls(port, pki)) {
                c.hello();
                c.login(SmtpTestServer.ALICE, SmtpTestServer.PASSWORD);
                for (int i = 0; !stopping; i++) {
                    String subject = "c" + client + "-m" + i;
                    // One command at a time: a pipelined RCPT after a MAIL that got 451 would get 503.
                    String reply = step(c, "MAIL FROM:<alice@example.org>\r\n", "250", client);
                    if (reply != null) reply = step(c, "RCPT TO:<bob@example.org>\r\n", "250", client);
                    if (reply != null) reply = step(c, "DATA\r\n", "354", client);
                    if (reply != null && step(c, message(subject) + ".\r\n", "250", client) != null) {
                        acknowledged.add(subject);
                        continue;
                    }
                    if (!wrong.isEmpty() || step(c, "RSET\r\n", "250", client) == null) return;
                }
            } catch (RuntimeException e) {
                if (!stopping && !dying) wrong.add("client " + client + ": " + e);
            }
        }

        /** The reply when it has the expected code; null after a 4xx (noted) or anything else (noted as wrong). */
        private String step(SmtpClient c, String command, String expected, int client) {
            String reply = c.send(command).reply();
            if (reply != null && reply.startsWith(expected)) return reply;
            if (reply != null && reply.startsWith("4")) {
                toldToRetry.add(client);
            } else if (!stopping && !dying) {
                wrong.add("client " + client + " to " + command.lines().findFirst().orElse("") + ": "
                        + (reply == null ? "no reply within " + REPLY_BOUND : reply));
            }
            return null;
        }

        /** From now on a connection that breaks is expected: the server is about to be killed. */
        void serverDies() {
            dying = true;
        }

        void awaitAcks(int count) {
            await().atMost(PHASE).until(() -> acknowledged.size() >= count || !wrong.isEmpty());
            assertThat(wrong).isEmpty();
        }

        void awaitEveryClientToldToRetry() {
            toldToRetry.clear();
            await().atMost(PHASE).until(() -> toldToRetry.size() == CLIENTS || !wrong.isEmpty());
            assertThat(wrong).isEmpty();
        }

        void assertOnlyTemporaryFailures() {
            assertThat(wrong).as("5xx replies, or none within %s", REPLY_BOUND).isEmpty();
        }

        @Override
        public void close() throws InterruptedException {
            stopping = true;
            for (Thread t : threads) t.join(REPLY_BOUND.toMillis() * 2);
        }
    }

    private Transcript imap(Castellan server, String listener) throws IOException {
        Transcript t = new Transcript(tls(server.addresses().get(listener).getPort()), pki);
        t.expect("\\* OK .*");
        assertThat(tagged(t, "l", "LOGIN " + SmtpTestServer.BOB + " \"" + SmtpTestServer.PASSWORD + "\"")).startsWith("l OK");
        assertThat(tagged(t, "x", "SELECT INBOX")).startsWith("x OK");
        return t;
    }

    private Transcript pop(Castellan server) throws IOException {
        Transcript t = new Transcript(tls(server.addresses().get("pop3s").getPort()), pki);
        t.expect("\\+OK.*");
        t.send("USER " + SmtpTestServer.BOB);
        t.expect("\\+OK.*");
        t.send("PASS " + SmtpTestServer.PASSWORD);
        t.expect("\\+OK.*");
        return t;
    }

    private SSLSocket tls(int port) throws IOException {
        SSLSocket s = (SSLSocket) pki.clientContext().getSocketFactory().createSocket();
        s.connect(new InetSocketAddress("127.0.0.1", port));
        s.startHandshake();
        return s;
    }

    /** Sends a tagged command and returns its tagged completion, passing untagged responses by. */
    private static String tagged(Transcript t, String tag, String command) {
        t.send(tag + " " + command);
        return until(t, tag + " ");
    }

    /** The next line starting with {@code prefix}, passing the others by. */
    private static String until(Transcript t, String prefix) {
        while (true) {
            String line = t.readLine();
            assertThat(line).as("a line starting with %s", prefix).isNotNull();
            if (line.startsWith(prefix)) return line;
        }
    }
}
