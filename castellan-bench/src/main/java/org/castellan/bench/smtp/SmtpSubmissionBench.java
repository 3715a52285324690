package org.castellan.bench.smtp;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import org.castellan.bench.ProcessCpu;
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
 * <p>Arguments: {@code [clients=16] [seconds=15] [messageBytes=10240]}, then any of
 * {@code postfix=no} (Castellan only), {@code perConnection=N} (messages per connection, 1),
 * {@code body=data} (DATA even where BDAT is offered), {@code resume=no} (a full TLS handshake
 * for every connection), {@code pin=yes} (each server on CPU 0, the load generator on CPU 1: on
 * a 2-CPU machine the load generator otherwise takes a third of the CPU the servers compete for).
 */
public final class SmtpSubmissionBench {

    static final String USER = "bench@bench.test";
    static final String PASSWORD = "bench password 1";
    /**
     * Warm-up runs in rounds until the server is in its steady state. For Castellan that is when
     * the JIT has compiled the hot paths: on a busy 2-core machine C2 still takes a third of the
     * server's CPU after 30 s, which no long-running server pays. Postfix has no JIT: its CPU per
     * message settles within a round or two.
     */
    static final Duration WARMUP_ROUND = Duration.ofSeconds(5);
    /** A round in which the JIT compilers used at most this share of the server's CPU: compiled. */
    static final double JIT_SETTLED = 0.05;
    /** Two rounds whose CPU per message differ by at most this fraction: settled (no JIT). */
    static final double WARMUP_SETTLED = 0.10;
    /** Bounds the warm-up on a machine too busy to settle: 80 s per server. */
    static final int MAX_WARMUP_ROUNDS = 16;

    /** A server's CPU time so far, in seconds. */
    interface CpuClock {
        double seconds() throws Exception;
    }

    record Settings(int clients, Duration duration, LoadClient.Options options, boolean pinned) {

        /** The command, run on {@link #SERVER_CPU} when the run is pinned. */
        List<String> serverCommand(List<String> command) {
            if (!pinned) return command;
            List<String> pinnedCommand = new ArrayList<>(List.of("taskset", "-c", Integer.toString(SERVER_CPU)));
            pinnedCommand.addAll(command);
            return pinnedCommand;
        }
    }

    /** With {@code pin=yes}: the server under test (and all its processes) runs on this CPU... */
    static final int SERVER_CPU = 0;
    /** ...and the load generator, this JVM with every thread it has or starts, on this one. */
    static final int CLIENT_CPU = 1;

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
        Args a = Args.parse(args);
        int clients = Integer.parseInt(a.positional(0, "16"));
        if (clients < 1) throw new IllegalArgumentException("clients must be at least 1, not " + clients);
        int seconds = Integer.parseInt(a.positional(1, "15"));
        int size = Integer.parseInt(a.positional(2, "10240"));
        boolean postfix = !a.named("postfix", "yes").equals("no");
        int perConnection = Integer.parseInt(a.named("perConnection", "1"));
        boolean chunking = !a.named("body", "bdat").equals("data");
        boolean resume = !a.named("resume", "yes").equals("no");
        boolean pinned = a.named("pin", "no").equals("yes");
        int cpus = Runtime.getRuntime().availableProcessors(); // before pinning, which makes it 1
        if (pinned) pinLoadGenerator(cpus);
        Path dir = Files.createTempDirectory("castellan-bench-smtp");
        TestPki pki = TestPki.create(Files.createDirectories(dir.resolve("test-pki")));
        byte[] message = message(size);
        Settings settings = new Settings(clients, Duration.ofSeconds(seconds),
                new LoadClient.Options(message, USER, PASSWORD, chunking, perConnection, resume), pinned);
        System.out.printf("SMTP submission: %d clients, %d s (after a warm-up until the server settles),"
                        + " %d-byte messages, STARTTLS + AUTH PLAIN, %d message(s) per connection, %s, pipelined, TLS resumption %s;"
                        + " in %s%n", clients, seconds, message.length, perConnection, chunking ? "BDAT" : "DATA",
                resume ? "offered" : "off", dir);
        System.out.printf("machine: %d CPUs, %s %s, load average %s%n", cpus,
                System.getProperty("os.name"), System.getProperty("os.version"), loadAverage());
        if (pinned) {
            System.out.printf("pinned: each server on CPU %d, the load generator on CPU %d%n", SERVER_CPU, CLIENT_CPU);
        }

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

    /**
     * Moves this JVM, all its threads (JIT and GC included) and every thread they start to
     * {@link #CLIENT_CPU}, so that the servers, started on {@link #SERVER_CPU}, do not share a CPU
     * with the load generator: then a server's messages per second are its own, not what the
     * load generator left it.
     */
    private static void pinLoadGenerator(int cpus) throws IOException, InterruptedException {
        if (cpus < 2) throw new IllegalStateException("pin=yes needs 2 CPUs");
        Process p = new ProcessBuilder("taskset", "-a", "-p", "-c", Integer.toString(CLIENT_CPU),
                Long.toString(ProcessHandle.current().pid())).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) throw new IllegalStateException("taskset (util-linux) failed: " + out.strip());
    }

    static byte[] message(int size) {
        return message(size, USER);
    }

    /** A text message of about {@code size} bytes from the benchmark's account to {@code to}. */
    static byte[] message(int size, String to) {
        StringBuilder b = new StringBuilder("From: " + USER + "\r\nTo: " + to + "\r\nSubject: bench\r\n\r\n");
        int line = 0;
        while (b.length() < size) {
            b.append("line ").append(line++).append(' ').append("x".repeat(64)).append("\r\n");
        }
        return b.toString().getBytes(StandardCharsets.US_ASCII);
    }

    private static Result castellan(Path dir, TestPki pki, Settings settings) throws Exception {
        Path mail = dir.resolve("mail");
        Path config = castellanDataDir(dir, pki, "");
        long warmedUp;
        LoadClient.Load load;
        double cpu;
        try (ChildServer child = ChildServer.start(config, settings);
             LoadClient client = new LoadClient(pki.server().certificate(), settings.options())) {
            warmedUp = warmUp(client, child.port(), settings.clients(), child::cpuSeconds, () -> compilerSeconds(child.pid()));
            double before = child.cpuSeconds();
            load = client.run(child.port(), settings.clients(), settings.duration());
            cpu = child.cpuSeconds() - before;
        }
        long stored;
        try (EmbeddedMailStore store = EmbeddedMailStore.open(mail)) {
            Account account = store.getAccount(EmailAddress.of(USER)).orElseThrow();
            Mailbox inbox = store.getMailbox(account.id(), "INBOX").orElseThrow();
            stored = store.status(inbox.id()).messages();
        }
        return new Result("castellan", load, cpu, stored, warmedUp + load.messages());
    }

    /**
     * A data directory with the benchmark's account in the store and a configuration file beside
     * it: a submission listener on a free loopback port with STARTTLS, then {@code more}
     * configuration. Returns the file.
     */
    static Path castellanDataDir(Path dir, TestPki pki, String more) throws Exception {
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
                "port = 0", "tls = \"starttls\"", more));
        return config;
    }

    /**
     * Runs warm-up rounds until the server settles: with {@code compiler} (a JVM), until its JIT
     * threads use at most {@link #JIT_SETTLED} of its CPU in a round; without, until two rounds
     * cost the same CPU per message. Returns the messages the rounds delivered.
     */
    static long warmUp(LoadClient client, int port, int clients, CpuClock server, CpuClock compiler) throws Exception {
        long messages = 0;
        double previous = Double.NaN;
        for (int round = 1; round <= MAX_WARMUP_ROUNDS; round++) {
            double before = server.seconds();
            double compiledBefore = compiler == null ? 0 : compiler.seconds();
            LoadClient.Load l = client.run(port, clients, WARMUP_ROUND);
            double cpu = server.seconds() - before;
            double perMessage = cpu / Math.max(1, l.messages());
            messages += l.messages();
            boolean settled;
            if (compiler != null) {
                double jitShare = Math.max(0, compiler.seconds() - compiledBefore) / Math.max(cpu, 1e-9);
                System.out.printf("  warm-up %2d: %6.1f msg/s, server CPU %6.3f ms/msg, JIT %3.0f%% of it%n", round,
                        l.messages() / l.seconds(), perMessage * 1000, jitShare * 100);
                settled = jitShare <= JIT_SETTLED;
            } else {
                System.out.printf("  warm-up %2d: %6.1f msg/s, server CPU %6.3f ms/msg%n", round, l.messages() / l.seconds(),
                        perMessage * 1000);
                settled = Math.abs(perMessage - previous) <= WARMUP_SETTLED * previous;
            }
            if (settled) break;
            previous = perMessage;
        }
        return messages;
    }

    /**
     * CPU seconds of a JVM's JIT compiler threads so far, from /proc/PID/task/TID/stat (proc(5)).
     * A compiler thread the JVM retired takes its time with it; that only makes a quiet JIT look quieter.
     */
    static double compilerSeconds(long pid) throws IOException {
        return ProcessCpu.threadSeconds(pid, "C1 Compiler", "C2 Compiler");
    }

    /** The machine's load averages over 1, 5 and 15 minutes (/proc/loadavg), for the reader of a result. */
    public static String loadAverage() {
        try {
            String[] f = Files.readString(Path.of("/proc/loadavg")).split(" ");
            return f[0] + " " + f[1] + " " + f[2];
        } catch (Exception e) {
            return "unknown";
        }
    }
}
