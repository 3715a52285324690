package org.castellan.bench.smtp;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import org.castellan.protocol.mail.EmailAddress;
import org.castellan.security.auth.ScramSecret;
import org.castellan.store.Account;
import org.castellan.store.Mailbox;
import org.castellan.store.embedded.EmbeddedMailStore;
import org.castellan.testkit.TestPki;

/**
 * N concurrent clients submit 10 KB messages over STARTTLS with AUTH PLAIN, first to Castellan,
 * then to a loopback-only Postfix from the Debian package; reported for each: delivered
 * messages/s, p50/p99 latency, the server's CPU per message and the load generator's own CPU per
 * message, then the ratios.
 *
 * <p>The load comes from {@link LoadClient} (Netty, BoringSSL, pipelined commands, BDAT). Each
 * server is warmed up first, not measured, until its CPU per message settles ({@link #warmUp}). A message counts when its 250 arrives; after
 * the run the messages in Castellan's store and in Postfix's Maildir are counted and must equal
 * the 250 replies (warm-up included), or the result says MISMATCH.
 *
 * <ul>
 *   <li>Castellan runs in its own JVM ({@link BenchServer}) with the flags of the {@code castellan}
 *       launcher plus {@code CASTELLAN_JAVA_OPTS}; its CPU is that process's over the measured run.
 *       A 250 means the message is durable in the mailbox.
 *   <li>Postfix ({@link Postfix}) accepts into its queue and delivers afterwards; its CPU is that of
 *       the master and every child, from the start of the measured run until the queue is empty.
 * </ul>
 *
 * <p>Arguments: {@code [clients=16] [seconds=15] [messageBytes=10240] [postfix=yes|no]
 * [messagesPerConnection=1] [body=bdat|data]}.
 */
public final class SmtpSubmissionBench {

    static final String USER = "bench@bench.test";
    static final String PASSWORD = "bench password 1";
    /**
     * Warm-up runs in rounds until the server's CPU per message settles: on a busy 2-core machine
     * C2 still spends a third of Castellan's CPU compiling the hot paths after the first five
     * seconds, which no server in steady state pays.
     */
    static final Duration WARMUP_ROUND = Duration.ofSeconds(5);
    /** Two rounds whose CPU per message differ by at most this fraction: settled. */
    static final double WARMUP_SETTLED = 0.10;
    /** Bounds the warm-up on a machine too noisy to settle: 40 s per server. */
    static final int MAX_WARMUP_ROUNDS = 8;

    /** A server's CPU time so far, in seconds. */
    interface CpuClock {
        double seconds() throws Exception;
    }

    record Settings(int clients, Duration duration, LoadClient.Options options) {
    }

    /**
     * One server's figures.
     *
     * @param stored messages found in the mailbox afterwards
     * @param acknowledged 250 replies to content over the warm-up and the measured run
     */
    record Result(String name, LoadClient.Load load, double serverCpuSeconds, long stored, long acknowledged) {

        double perSecond() { return load.messages() / load.seconds(); }

        double percentileMillis(double p) {
            long[] l = load.latenciesNanos();
            if (l.length == 0) return Double.NaN;
            return l[(int) Math.min(l.length - 1, Math.floor(p * l.length))] / 1e6;
        }

        double cpuPerMessageMillis() { return serverCpuSeconds * 1000 / load.messages(); }

        double clientCpuPerMessageMillis() { return load.clientCpuSeconds() * 1000 / load.messages(); }

        void print() {
            System.out.printf("%-10s %7d msgs %7.1f msg/s  p50 %7.2f ms  p99 %7.2f ms  server CPU %6.3f ms/msg"
                            + "  client CPU %6.3f ms/msg  resumed %3.0f%%  errors %d  stored %d/%d %s%n",
                    name, load.messages(), perSecond(), percentileMillis(0.50), percentileMillis(0.99), cpuPerMessageMillis(),
                    clientCpuPerMessageMillis(), 100.0 * load.resumed() / Math.max(1, load.connections()), load.errors(),
                    stored, acknowledged, stored == acknowledged ? "ok" : "MISMATCH");
            if (load.firstError() != null) System.out.println("           first error: " + load.firstError());
        }
    }

    private SmtpSubmissionBench() {}

    public static void main(String[] args) throws Exception {
        int clients = args.length > 0 ? Integer.parseInt(args[0]) : 16;
        int seconds = args.length > 1 ? Integer.parseInt(args[1]) : 15;
        int size = args.length > 2 ? Integer.parseInt(args[2]) : 10 * 1024;
        boolean postfix = args.length <= 3 || !args[3].equals("no");
        int perConnection = args.length > 4 ? Integer.parseInt(args[4]) : 1;
        boolean chunking = args.length <= 5 || !args[5].equals("data");
        Path dir = Files.createTempDirectory("castellan-bench-smtp");
        TestPki pki = TestPki.create(Files.createDirectories(dir.resolve("test-pki")));
        byte[] message = message(size);
        Settings settings = new Settings(clients, Duration.ofSeconds(seconds),
                new LoadClient.Options(message, USER, PASSWORD, chunking, perConnection));
        System.out.printf("SMTP submission: %d clients, %d s (after a warm-up until the server's CPU per message settles),"
                        + " %d-byte messages, STARTTLS + AUTH PLAIN, %d message(s) per connection, %s, pipelined; in %s%n", clients, seconds,
                message.length, perConnection, chunking ? "BDAT" : "DATA", dir);
        System.out.printf("machine: %d CPUs, %s %s, load average %s%n", Runtime.getRuntime().availableProcessors(),
                System.getProperty("os.name"), System.getProperty("os.version"), loadAverage());

        Result castellan = castellan(dir.resolve("castellan"), pki, settings);
        castellan.print();
        Result reference = null;
        if (postfix) {
            try (LoadClient client = new LoadClient(pki.server().certificate(), settings.options())) {
                reference = Postfix.run(dir.resolve("postfix"), pki, client, settings);
                reference.print();
            } catch (Exception e) {
                System.out.println("postfix: not measured: " + e.getMessage());
            }
        }
        if (reference != null) {
            System.out.printf("castellan/postfix: messages/s %.2fx, messages per server CPU-second %.2fx, p50 %.2fx, p99 %.2fx%n",
                    castellan.perSecond() / reference.perSecond(),
                    reference.cpuPerMessageMillis() / castellan.cpuPerMessageMillis(),
                    castellan.percentileMillis(0.5) / reference.percentileMillis(0.5),
                    castellan.percentileMillis(0.99) / reference.percentileMillis(0.99));
        }
        System.out.printf("machine load average after the run: %s%n", loadAverage());
    }

    static byte[] message(int size) {
        StringBuilder b = new StringBuilder("From: " + USER + "\r\nTo: " + USER + "\r\nSubject: bench\r\n\r\n");
        int line = 0;
        while (b.length() < size) {
            b.append("line ").append(line++).append(' ').append("x".repeat(64)).append("\r\n");
        }
        return b.toString().getBytes(StandardCharsets.US_ASCII);
    }

    private static Result castellan(Path dir, TestPki pki, Settings settings) throws Exception {
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
        List<String> command = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElseThrow(),
                "--enable-native-access=ALL-UNNAMED")); // the castellan launcher's flags
        String extra = System.getenv("CASTELLAN_JAVA_OPTS");
        if (extra != null && !extra.isBlank()) command.addAll(List.of(extra.strip().split("\\s+")));
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), BenchServer.class.getName(), config.toString()));
        Process child = new ProcessBuilder(command).redirectError(dir.resolve("server.err").toFile()).start();
        long warmedUp;
        LoadClient.Load load;
        double cpu;
        try (LoadClient client = new LoadClient(pki.server().certificate(), settings.options())) {
            BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8));
            String ready;
            // JVM options may print first (-XX:StartFlightRecording does).
            while ((ready = out.readLine()) != null && !ready.startsWith("READY ")) System.out.println("server: " + ready);
            if (ready == null) {
                throw new IllegalStateException("Castellan did not start: " + Files.readString(dir.resolve("server.err")));
            }
            Thread.ofPlatform().daemon().start(() -> out.lines().forEach(l -> System.out.println("server: " + l)));
            int port = Integer.parseInt(ready.substring(6));
            warmedUp = warmUp(client, port, settings.clients(), () -> child.info().totalCpuDuration().orElseThrow().toNanos() / 1e9);
            Duration before = child.info().totalCpuDuration().orElseThrow();
            load = client.run(port, settings.clients(), settings.duration());
            cpu = child.info().totalCpuDuration().orElseThrow().minus(before).toNanos() / 1e9;
        } finally {
            child.destroy();
            child.waitFor();
        }
        long stored;
        try (EmbeddedMailStore store = EmbeddedMailStore.open(mail)) {
            Account account = store.getAccount(EmailAddress.of(USER)).orElseThrow();
            Mailbox inbox = store.getMailbox(account.id(), "INBOX").orElseThrow();
            stored = store.status(inbox.id()).messages();
        }
        return new Result("castellan", load, cpu, stored, warmedUp + load.messages());
    }

    /** Runs warm-up rounds until the server's CPU per message settles; returns the messages they delivered. */
    static long warmUp(LoadClient client, int port, int clients, CpuClock server) throws Exception {
        long messages = 0;
        double previous = Double.NaN;
        for (int round = 1; round <= MAX_WARMUP_ROUNDS; round++) {
            double before = server.seconds();
            LoadClient.Load l = client.run(port, clients, WARMUP_ROUND);
            double perMessage = (server.seconds() - before) / Math.max(1, l.messages());
            messages += l.messages();
            System.out.printf("  warm-up %d: %5.1f msg/s, server CPU %6.3f ms/msg%n", round, l.messages() / l.seconds(), perMessage * 1000);
            if (Math.abs(perMessage - previous) <= WARMUP_SETTLED * previous) break;
            previous = perMessage;
        }
        return messages;
    }

    static String loadAverage() {
        try {
            String[] f = Files.readString(Path.of("/proc/loadavg")).split(" ");
            return f[0] + " " + f[1] + " " + f[2];
        } catch (Exception e) {
            return "unknown";
        }
    }
}
