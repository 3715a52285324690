package org.castellan.bench.smtp;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.List;
import java.util.OptionalLong;
import java.util.concurrent.atomic.AtomicLong;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import org.castellan.protocol.mail.EmailAddress;
import org.castellan.security.auth.ScramSecret;
import org.castellan.store.embedded.EmbeddedMailStore;
import org.castellan.testkit.TestPki;

/**
 * N concurrent clients submit 10 KB messages the way a mail client does: connect, EHLO,
 * STARTTLS, EHLO, AUTH PLAIN, MAIL, RCPT, DATA, QUIT — one connection per message. Reported:
 * messages/s, p50/p99 latency (connect to the 250 after DATA) and server CPU-seconds per message.
 *
 * <p>The same load runs against Castellan (a child JVM, default settings) and, when
 * {@code castellan-bench/scripts/postfix-instance.sh} can start one, against a loopback-only
 * Postfix from the Debian package with Cyrus SASL (sasldb) delivering to a Maildir. A 250 means
 * different things: Castellan has the message in the mailbox, durably; Postfix has it durably in
 * its queue and delivers later, so its CPU is measured until the queue is empty.
 *
 * <p>Arguments: {@code [clients=16] [seconds=15] [messageBytes=10240] [postfix=yes|no]}.
 */
public final class SmtpSubmissionBench {

    static final String USER = "bench@bench.test";
    static final String PASSWORD = "bench password 1";

    record Result(String name, long messages, double seconds, List<Long> latenciesNanos, double cpuSeconds, long errors) {
        double perSecond() { return messages / seconds; }

        double percentileMillis(double p) {
            if (latenciesNanos.isEmpty()) return Double.NaN;
            List<Long> sorted = new ArrayList<>(latenciesNanos);
            Collections.sort(sorted);
            return sorted.get((int) Math.min(sorted.size() - 1, Math.floor(p * sorted.size()))) / 1e6;
        }

        double cpuPerMessageMillis() { return cpuSeconds * 1000 / messages; }

        void print() {
            System.out.printf("%-10s %8d msgs %8.1f msg/s   p50 %7.2f ms   p99 %7.2f ms   server CPU %6.3f ms/msg   errors %d%n",
                    name, messages, perSecond(), percentileMillis(0.50), percentileMillis(0.99), cpuPerMessageMillis(), errors);
        }
    }

    public static void main(String[] args) throws Exception {
        int clients = args.length > 0 ? Integer.parseInt(args[0]) : 16;
        int seconds = args.length > 1 ? Integer.parseInt(args[1]) : 15;
        int size = args.length > 2 ? Integer.parseInt(args[2]) : 10 * 1024;
        boolean postfix = args.length <= 3 || !args[3].equals("no");
        Path dir = Files.createTempDirectory("castellan-bench-smtp");
        TestPki pki = TestPki.create(Files.createDirectories(dir.resolve("test-pki")));
        byte[] message = message(size);
        System.out.printf("SMTP submission: %d clients, %d s, %d-byte messages, STARTTLS + AUTH PLAIN, one connection per message, in %s%n",
                clients, seconds, message.length, dir);
        System.out.printf("machine: %d CPUs, %s %s%n", Runtime.getRuntime().availableProcessors(),
                System.getProperty("os.name"), System.getProperty("os.version"));

        Result castellan = castellan(dir.resolve("castellan"), pki, clients, seconds, message);
        castellan.print();
        Result reference = null;
        if (postfix) {
            try {
                reference = Postfix.run(dir.resolve("postfix"), pki, clients, seconds, message);
                reference.print();
            } catch (Exception e) {
                System.out.println("postfix: not measured: " + e.getMessage());
            }
        }
        if (reference != null) {
            System.out.printf("ratio castellan/postfix: throughput %.2fx, p50 %.2fx, p99 %.2fx, CPU per message %.2fx%n",
                    castellan.perSecond() / reference.perSecond(),
                    castellan.percentileMillis(0.5) / reference.percentileMillis(0.5),
                    castellan.percentileMillis(0.99) / reference.percentileMillis(0.99),
                    castellan.cpuPerMessageMillis() / reference.cpuPerMessageMillis());
        }
    }

    static byte[] message(int size) {
        StringBuilder b = new StringBuilder("From: " + USER + "\r\nTo: " + USER + "\r\nSubject: bench\r\n\r\n");
        int line = 0;
        while (b.length() < size) {
            b.append("line ").append(line++).append(' ').append("x".repeat(64)).append("\r\n");
        }
        return b.toString().getBytes(StandardCharsets.US_ASCII);
    }

    private static Result castellan(Path dir, TestPki pki, int clients, int seconds, byte[] message) throws Exception {
        Path mail = Files.createDirectories(dir.resolve("mail"));
        try (EmbeddedMailStore store = EmbeddedMailStore.open(mail)) {
            store.createDomain("bench.test");
            store.createAccount(EmailAddress.of(USER), ScramSecret.derive(PASSWORD.toCharArray(), 4096).encode(), OptionalLong.empty());
        }
        Path config = dir.resolve("castellan.toml");
        Files.writeString(config, String.join("\n",
                "[server]", "hostname = \"localhost\"", "data-dir = \".\"",
                "[tls]", "certificate = \"" + pki.server().chainFile() + "\"", "key = \"" + pki.server().keyFile() + "\"",
                "[[listener]]", "name = \"submission\"", "protocol = \"submission\"", "address = \"127.0.0.1\"",
                "port = 0", "tls = \"starttls\"", ""));
        String java = ProcessHandle.current().info().command().orElseThrow();
        Process child = new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED", "-cp",
                System.getProperty("java.class.path"), BenchServer.class.getName(), config.toString())
                .redirectError(dir.resolve("server.err").toFile()).start();
        try {
            String ready = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8)).readLine();
            if (ready == null || !ready.startsWith("READY ")) {
                throw new IllegalStateException("Castellan did not start: " + Files.readString(dir.resolve("server.err")));
            }
            int port = Integer.parseInt(ready.substring(6));
            // Warm-up: JIT, TLS session setup, the PLAIN cache; not measured.
            load(pki.clientContext(), port, clients, 3, message);
            Duration before = child.info().totalCpuDuration().orElseThrow();
            Load l = load(pki.clientContext(), port, clients, seconds, message);
            Duration cpu = child.info().totalCpuDuration().orElseThrow().minus(before);
            return new Result("castellan", l.messages(), l.seconds(), l.latencies(), cpu.toNanos() / 1e9, l.errors());
        } finally {
            child.destroy();
            child.waitFor();
        }
    }

    record Load(long messages, double seconds, List<Long> latencies, long errors) {
    }

    static Load load(SSLContext tls, int port, int clients, int seconds, byte[] message) throws InterruptedException {
        long end = System.nanoTime() + Duration.ofSeconds(seconds).toNanos();
        List<Long> latencies = Collections.synchronizedList(new ArrayList<>());
        AtomicLong errors = new AtomicLong();
        long start = System.nanoTime();
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < clients; i++) {
            threads.add(Thread.ofPlatform().start(() -> {
                while (System.nanoTime() < end) {
                    long t0 = System.nanoTime();
                    try {
                        submit(tls, port, message);
                        latencies.add(System.nanoTime() - t0);
                    } catch (IOException | RuntimeException e) {
                        if (errors.incrementAndGet() == 1) System.out.println("first error: " + e);
                    }
                }
            }));
        }
        for (Thread t : threads) t.join();
        double took = (System.nanoTime() - start) / 1e9;
        return new Load(latencies.size(), took, List.copyOf(latencies), errors.get());
    }

    /** One message, as a mail client sends it; throws if any reply is not the expected one. */
    static void submit(SSLContext tls, int port, byte[] message) throws IOException {
        try (Socket plain = new Socket()) {
            plain.connect(new InetSocketAddress("127.0.0.1", port));
            plain.setSoTimeout(60_000);
            Conversation c = new Conversation(plain.getInputStream(), plain.getOutputStream());
            c.expect("220");
            c.command("EHLO bench.client", "250");
            c.command("STARTTLS", "220");
            try (SSLSocket s = (SSLSocket) tls.getSocketFactory().createSocket(plain, "localhost", port, true)) {
                s.startHandshake();
                c = new Conversation(s.getInputStream(), s.getOutputStream());
                c.command("EHLO bench.client", "250");
                c.command("AUTH PLAIN " + Base64.getEncoder().encodeToString(("\0" + USER + "\0" + PASSWORD)
                        .getBytes(StandardCharsets.UTF_8)), "235");
                c.command("MAIL FROM:<" + USER + ">", "250");
                c.command("RCPT TO:<" + USER + ">", "250");
                c.command("DATA", "354");
                c.out.write(message);
                c.out.write(".\r\n".getBytes(StandardCharsets.US_ASCII));
                c.out.flush();
                c.expect("250");
                c.command("QUIT", "221");
            }
        }
    }

    private static final class Conversation {
        final InputStream in;
        final OutputStream out;

        Conversation(InputStream in, OutputStream out) {
            this.in = new java.io.BufferedInputStream(in);
            this.out = out;
        }

        void command(String line, String code) throws IOException {
            out.write((line + "\r\n").getBytes(StandardCharsets.US_ASCII));
            out.flush();
            expect(code);
        }

        void expect(String code) throws IOException {
            while (true) {
                StringBuilder line = new StringBuilder();
                int c;
                while ((c = in.read()) != '\n') {
                    if (c == -1) throw new IOException("connection closed, expected " + code);
                    line.append((char) c);
                }
                if (!line.toString().startsWith(code)) throw new IOException("expected " + code + ", got " + line.toString().strip());
                if (line.length() < 4 || line.charAt(3) != '-') return;
            }
        }
    }
}
