package org.castellan.server.smtp;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.castellan.protocol.mail.EmailAddress;
import org.castellan.security.auth.ScramSecret;
import org.castellan.store.MessageMeta;
import org.castellan.store.UidRange;
import org.castellan.store.embedded.EmbeddedMailStore;
import org.castellan.testkit.TestPki;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * docs/design.md §5 invariant 7 over SMTP: a child JVM runs Castellan; concurrent clients submit
 * messages over implicit TLS with AUTH PLAIN and note every one that got 250; the child is killed
 * with SIGKILL in the middle of the load; every acknowledged message is in its mailbox afterwards,
 * byte for byte.
 */
class SmtpCrashTest {

    /** Enough acknowledgements that many group commits were under way when the kill came. */
    private static final int ACKS_BEFORE_KILL = 150;
    private static final int CLIENTS = 8;

    @TempDir Path dir;

    @Test
    void everyMessageThatGot250SurvivesSigkill() throws Exception {
        TestPki pki = TestPki.create(Files.createDirectories(dir.resolve("test-pki"))); // not "pki": that is the server CA's directory
        Path mail = Files.createDirectories(dir.resolve("mail"));
        long bobInbox;
        try (EmbeddedMailStore store = EmbeddedMailStore.open(mail)) {
            store.createDomain("example.org");
            String secret = ScramSecret.derive(SmtpTestServer.PASSWORD.toCharArray(), 4096).encode();
            store.createAccount(EmailAddress.of(SmtpTestServer.ALICE), secret, OptionalLong.empty());
            long bob = store.createAccount(EmailAddress.of(SmtpTestServer.BOB), secret, OptionalLong.empty()).id();
            bobInbox = store.getMailbox(bob, "INBOX").orElseThrow().id();
        }
        Path config = dir.resolve("castellan.toml");
        Files.writeString(config, String.join("\n",
                "[server]", "hostname = \"localhost\"", "data-dir = \".\"",
                "[tls]", "certificate = \"" + pki.server().chainFile() + "\"", "key = \"" + pki.server().keyFile() + "\"",
                "[auth]", "scram-iterations = 4096",
                "[[listener]]", "name = \"submissions\"", "protocol = \"submission\"", "address = \"127.0.0.1\"",
                "port = 0", "tls = \"implicit\"", ""));

        String java = ProcessHandle.current().info().command().orElseThrow();
        Process child = new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED", "-cp",
                System.getProperty("java.class.path"), SmtpCrashChild.class.getName(), config.toString())
                .redirectError(dir.resolve("child.err").toFile()).start();
        Set<String> acknowledged = ConcurrentHashMap.newKeySet();
        CountDownLatch enough = new CountDownLatch(ACKS_BEFORE_KILL);
        List<Thread> clients = new ArrayList<>();
        try {
            BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8));
            String ready = out.readLine();
            assertThat(ready).as("child said: %s; stderr: %s", ready, Files.readString(dir.resolve("child.err"))).startsWith("READY ");
            int port = Integer.parseInt(ready.substring(6));
            for (int t = 0; t < CLIENTS; t++) {
                int thread = t;
                clients.add(Thread.ofVirtual().start(() -> submitUntilKilled(pki, port, thread, acknowledged, enough)));
            }
            assertThat(enough.await(120, TimeUnit.SECONDS)).as("acknowledgements before the kill").isTrue();
            child.destroyForcibly(); // SIGKILL: no shutdown hooks, no graceful stop
            assertThat(child.waitFor(30, TimeUnit.SECONDS)).isTrue();
            for (Thread c : clients) c.join(TimeUnit.SECONDS.toMillis(60));
        } finally {
            child.destroyForcibly();
        }

        try (EmbeddedMailStore store = EmbeddedMailStore.open(mail)) {
            Set<String> stored = new HashSet<>();
            for (MessageMeta m : store.listMessages(bobInbox, UidRange.all())) {
                try (InputStream in = store.openMessage(bobInbox, m.uid())) {
                    String body = SmtpTestServer.afterReceived(in.readAllBytes());
                    String subject = body.substring(body.indexOf("Subject: ") + 9, body.indexOf("\r\n", body.indexOf("Subject: ")));
                    assertThat(body).isEqualTo(message(subject));
                    stored.add(subject);
                }
            }
            assertThat(acknowledged).hasSizeGreaterThanOrEqualTo(ACKS_BEFORE_KILL);
            assertThat(stored).containsAll(acknowledged);
        }
    }

    static String message(String subject) {
        return "From: alice@example.org\r\nTo: bob@example.org\r\nSubject: " + subject + "\r\n\r\n"
                + ("payload of " + subject + " ").repeat(50) + "\r\n";
    }

    private static void submitUntilKilled(TestPki pki, int port, int thread, Set<String> acknowledged, CountDownLatch enough) {
        try (SmtpClient c = SmtpClient.tls(port, pki)) {
            c.hello();
            c.login(SmtpTestServer.ALICE, SmtpTestServer.PASSWORD);
            for (int i = 0; ; i++) {
                String subject = "t" + thread + "-m" + i;
                c.send("MAIL FROM:<alice@example.org>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n");
                if (!ok(c.reply(), "250") || !ok(c.reply(), "250") || !ok(c.reply(), "354")) return;
                c.send(message(subject) + ".\r\n");
                if (!ok(c.reply(), "250")) return;
                acknowledged.add(subject);
                enough.countDown();
            }
        } catch (RuntimeException | AssertionError e) {
            // the server died under us: what was acknowledged is what counts
        }
    }

    private static boolean ok(String reply, String code) {
        return reply != null && reply.startsWith(code);
    }
}
