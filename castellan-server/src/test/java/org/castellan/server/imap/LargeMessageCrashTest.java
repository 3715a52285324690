package org.castellan.server.imap;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedInputStream;
import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.castellan.server.testing.TestServer;
import org.castellan.store.embedded.EmbeddedMailStore;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A 30 MiB message APPENDs, FETCHes and survives SIGKILL with bounded memory: a child JVM with a
 * heap of {@link #HEAP} (less than the messages uploaded at once) takes {@link #UPLOADERS}
 * concurrent APPENDs of {@link #SIZE} octets, synchronizing literals and LITERAL+ (RFC 7888),
 * gives each back byte for byte, and after a SIGKILL every acknowledged message is in the store.
 * Without streaming, the child would need the messages' size times the uploaders in heap.
 */
class LargeMessageCrashTest {

    static final int SIZE = 30 * 1024 * 1024;
    static final int UPLOADERS = 4;
    static final String HEAP = "-Xmx96m";

    @TempDir Path dir;

    @Test
    void concurrentLargeAppendsStreamAndSurviveSigkill() throws Exception {
        Path mail = Files.createDirectories(dir.resolve("mail"));
        long inbox;
        try (EmbeddedMailStore store = EmbeddedMailStore.open(mail)) {
            store.createDomain("example.org");
            inbox = TestServer.createAccount(store, TestServer.USER);
        }
        var pki = org.castellan.testkit.TestPki.create(Files.createDirectories(dir.resolve("test-pki")));
        Path config = dir.resolve("castellan.toml");
        Files.writeString(config, String.join("\n",
                "[server]", "hostname = \"localhost\"", "data-dir = \".\"",
                "[tls]", "certificate = \"" + pki.server().chainFile() + "\"", "key = \"" + pki.server().keyFile() + "\"",
                "[auth]", "scram-iterations = 4096",
                TestServer.listener("imap", "imap", "starttls", true)));
        byte[] body = FlowControlTest.largeMessage(SIZE);

        String java = ProcessHandle.current().info().command().orElseThrow();
        Process child = new ProcessBuilder(java, HEAP, "-XX:+ExitOnOutOfMemoryError", "--enable-native-access=ALL-UNNAMED",
                "-cp", System.getProperty("java.class.path"), ImapCrashChild.class.getName(), config.toString())
                .redirectError(dir.resolve("child.err").toFile()).start();
        Map<Integer, Long> acknowledged = new ConcurrentHashMap<>();
        ExecutorService clients = Executors.newFixedThreadPool(UPLOADERS);
        try {
            BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8));
            String ready = out.readLine();
            assertThat(ready).as("child said: %s; stderr: %s", ready, Files.readString(dir.resolve("child.err"))).startsWith("READY ");
            int port = Integer.parseInt(ready.substring(6));
            List<Future<?>> uploads = new ArrayList<>();
            for (int i = 0; i < UPLOADERS; i++) {
                int n = i;
                uploads.add(clients.submit(() -> {
                    acknowledged.put(n, upload(port, message(body, n), n % 2 == 1));
                    return null;
                }));
            }
            for (Future<?> f : uploads) f.get(5, TimeUnit.MINUTES);
            assertThat(child.isAlive()).as("the child is alive; stderr: %s", Files.readString(dir.resolve("child.err"))).isTrue();
            for (var e : acknowledged.entrySet()) fetchBack(port, e.getValue(), message(body, e.getKey()));
            assertThat(child.isAlive()).isTrue();
            child.destroyForcibly(); // SIGKILL: no shutdown hooks, no graceful stop
            assertThat(child.waitFor(30, TimeUnit.SECONDS)).isTrue();
        } finally {
            clients.shutdownNow();
            child.destroyForcibly();
        }

        assertThat(acknowledged).hasSize(UPLOADERS);
        try (EmbeddedMailStore store = EmbeddedMailStore.open(mail)) {
            for (var e : acknowledged.entrySet()) {
                try (InputStream in = store.openMessage(inbox, e.getValue())) {
                    assertThat(in.readAllBytes()).isEqualTo(message(body, e.getKey()));
                }
            }
        }
    }

    /** The shared body behind a header naming the uploader, so every message is its own. */
    private static byte[] message(byte[] body, int n) {
        byte[] header = ("X-Uploader: " + n + "\r\n").getBytes(StandardCharsets.US_ASCII);
        byte[] m = new byte[header.length + body.length];
        System.arraycopy(header, 0, m, 0, header.length);
        System.arraycopy(body, 0, m, header.length, body.length);
        return m;
    }

    /** APPENDs {@code message}; returns its UID from APPENDUID. */
    private static long upload(int port, byte[] message, boolean nonSync) throws IOException {
        try (Socket s = login(port)) {
            InputStream in = new BufferedInputStream(s.getInputStream());
            OutputStream out = s.getOutputStream();
            line(in);
            send(out, "l1 LOGIN " + TestServer.USER + " \"" + TestServer.PASSWORD + "\"\r\n");
            while (!line(in).startsWith("l1 OK")) {
                // capabilities
            }
            send(out, "a1 APPEND INBOX {" + message.length + (nonSync ? "+" : "") + "}\r\n");
            if (!nonSync) assertThat(line(in)).startsWith("+ ");
            out.write(message);
            send(out, "\r\n");
            String answer = line(in);
            Matcher m = Pattern.compile("a1 OK \\[APPENDUID \\d+ (\\d+)\\] .*").matcher(answer);
            assertThat(m.matches()).as(answer).isTrue();
            return Long.parseLong(m.group(1));
        }
    }

    private static void fetchBack(int port, long uid, byte[] message) throws IOException {
        try (Socket s = login(port)) {
            InputStream in = new BufferedInputStream(s.getInputStream());
            OutputStream out = s.getOutputStream();
            line(in);
            send(out, "l1 LOGIN " + TestServer.USER + " \"" + TestServer.PASSWORD + "\"\r\ns1 EXAMINE INBOX\r\n"
                    + "f1 UID FETCH " + uid + " BODY.PEEK[]\r\n");
            String head;
            while (!(head = line(in)).contains("FETCH (")) {
                // login and EXAMINE responses
            }
            assertThat(head).endsWith("BODY[] {" + message.length + "}");
            assertThat(in.readNBytes(message.length)).isEqualTo(message);
            assertThat(line(in)).isEqualTo(")");
            assertThat(line(in)).isEqualTo("f1 OK FETCH completed");
        }
    }

    private static Socket login(int port) throws IOException {
        Socket s = new Socket("127.0.0.1", port);
        s.setSoTimeout(120_000);
        return s;
    }

    private static void send(OutputStream out, String text) throws IOException {
        out.write(text.getBytes(StandardCharsets.US_ASCII));
        out.flush();
    }

    private static String line(InputStream in) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        for (int c; (c = in.read()) != '\n'; ) {
            if (c < 0) throw new IOException("connection closed after " + b);
            b.write(c);
        }
        String s = b.toString(StandardCharsets.ISO_8859_1);
        return s.endsWith("\r") ? s.substring(0, s.length() - 1) : s;
    }
}
