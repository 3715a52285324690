package org.castellan.bench.soak;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.castellan.bench.imap.CastellanImap;
import org.castellan.bench.imap.Fill;
import org.castellan.bench.imap.ImapClient;
import org.castellan.bench.imap.Latencies;
import org.castellan.bench.imap.MessageSizes;
import org.castellan.bench.imap.MixedWorkloadBench;
import org.castellan.testkit.TestPki;

/**
 * The soak: one Castellan server in a child JVM, well-behaved IMAP clients running a mixed
 * workload ({@link MailClient}) and an attacker mix at the same time — password guessing over IMAP
 * and SMTP ({@link Guesser}), FETCHes never read ({@link FetchHog}), a connection flood
 * ({@link Flood}), one-byte-every-few-seconds clients ({@link Trickler}) and RCPT harvesting
 * ({@link Harvester}) — each client from a loopback address of its own ({@link Loopback}).
 * Every interval it records the server's RSS, heap after GC, CPU, threads and descriptors, the
 * clients' latency and throughput and the attackers' counters, as CSV and on the console; at the
 * end the trends after the warm-up, a verdict, and an SVG plot next to the CSV.
 *
 * <p>The server runs with a fixed, pre-touched heap ({@code --heap}, 512 MiB): its RSS then holds
 * the whole heap from the start, so that RSS growth is native memory (buffers, TLS, threads) and
 * the Java heap's own trend is the heap after GC, read from the server's GC log. The attackers do
 * not rely on any server limit: what a limit refuses is counted as refused.
 *
 * <p>Arguments: see {@link SoakOptions#usage()}; {@code --duration 5m} is the smoke test. Not part
 * of the test run, and too long for CI.
 */
public final class SoakBench {

    static final String DOMAIN = "bench.test";
    /** Loopback blocks (second octet) of each kind of client: see {@link Loopback}. */
    private static final int CLIENTS = 1;
    private static final int IMAP_GUESSERS = 2;
    private static final int SMTP_GUESSERS = 3;
    private static final int HOGS = 4;
    private static final int FLOOD = 5;
    private static final int TRICKLERS = 6;
    private static final int HARVESTERS = 7;
    /** Accounts filled at once: each holds its whole mailbox as one pipelined APPEND in this process. */
    private static final int FILL_BATCH = 20;
    /** The well-behaved clients start over this long, not all in one instant. */
    private static final long RAMP_MILLIS = 5_000;
    /** The flood's connections start over this long. */
    private static final long FLOOD_RAMP_MILLIS = 5_000;

    private SoakBench() {}

    public static void main(String[] args) throws Exception {
        if (List.of(args).contains("--help")) {
            System.out.print(SoakOptions.usage());
            return;
        }
        SoakOptions o;
        try {
            o = SoakOptions.parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println(e.getMessage());
            System.exit(2);
            return;
        }
        Path dir = Files.createTempDirectory("castellan-soak");
        TestPki pki = TestPki.create(Files.createDirectories(dir.resolve("test-pki")));
        Path csv = o.csv() != null ? o.csv().toAbsolutePath() : dir.resolve("soak.csv");
        List<String> accounts = new ArrayList<>();
        for (int i = 1; i <= o.accounts(); i++) accounts.add("bench" + i + "@" + DOMAIN);
        List<String> hogAccounts = new ArrayList<>();
        for (int i = 1; i <= o.hogs(); i++) hogAccounts.add("hog" + i + "@" + DOMAIN);
        List<String> users = new ArrayList<>(accounts);
        users.addAll(hogAccounts);
        System.out.println("Castellan soak: " + o.describe());
        System.out.printf("machine: %d CPUs, %s %s, load average %s; run directory %s%n", Runtime.getRuntime().availableProcessors(),
                System.getProperty("os.name"), System.getProperty("os.version"), loadAverage(), dir);

        Path serverDir = dir.resolve("castellan");
        Path gcLog = serverDir.resolve("gc.log");
        try (CastellanImap server = CastellanImap.start(serverDir, pki, users, MixedWorkloadBench.PASSWORD,
                serverJvm(o.heap(), gcLog), listeners())) {
            fill(pki, server.port(), o, accounts, hogAccounts);
            run(o, pki, server, new ServerProbe(server.pid(), gcLog), accounts, hogAccounts, csv);
            logSummary(serverDir.resolve("server.log"));
        }
    }

    /** The server JVM's options: the fixed, pre-touched heap and a GC log to read the live heap from. */
    private static List<String> serverJvm(String heap, Path gcLog) {
        List<String> options = new ArrayList<>();
        if (!heap.equals("default")) options.addAll(List.of("-Xms" + heap, "-Xmx" + heap, "-XX:+AlwaysPreTouch"));
        // filecount=0: one file, never rotated, so that it can be read on from where it was left.
        options.add("-Xlog:gc:file=" + gcLog + "::filecount=0");
        return options;
    }

    /** Besides the benchmarks' imaps listener: submission over implicit TLS (RFC 8314) and an MX listener. */
    private static List<String> listeners() {
        return List.of(
                "[[listener]]", "name = \"submissions\"", "protocol = \"submission\"", "address = \"127.0.0.1\"", "port = 0",
                "tls = \"implicit\"",
                "[[listener]]", "name = \"smtp\"", "protocol = \"smtp\"", "address = \"127.0.0.1\"", "port = 0",
                "tls = \"starttls\"");
    }

    private static void fill(TestPki pki, int port, SoakOptions o, List<String> accounts, List<String> hogAccounts)
            throws InterruptedException {
        long t0 = System.nanoTime();
        try (ImapClient client = new ImapClient(pki.trustFile())) {
            MessageSizes sizes = MessageSizes.parse(o.sizes());
            for (int i = 0; i < accounts.size(); i += FILL_BATCH) {
                Fill.run(client, port, accounts.subList(i, Math.min(accounts.size(), i + FILL_BATCH)), o.messages(), sizes);
            }
            for (String hog : hogAccounts) {
                Fill.run(client, port, List.of(hog), o.hogMessages(), MessageSizes.parse(Integer.toString(o.hogMessageBytes())));
            }
        }
        System.out.printf("filled %d mailboxes of %d messages and %d of %d x %d KiB in %.0f s%n", accounts.size(), o.messages(),
                hogAccounts.size(), o.hogMessages(), o.hogMessageBytes() / 1024, (System.nanoTime() - t0) / 1e9);
    }

    private static void run(SoakOptions o, TestPki pki, CastellanImap server, ServerProbe probe, List<String> accounts,
                            List<String> hogAccounts, Path csv) throws Exception {
        AtomicBoolean running = new AtomicBoolean(true);
        Counters counters = new Counters();
        Latencies commands = new Latencies();
        Latencies logins = new Latencies();
        try (ImapClient imap = new ImapClient(pki.trustFile()); LineClient attack = new LineClient(pki.trustFile())) {
            MailClient.Shared shared = new MailClient.Shared(imap, server.port(), MessageSizes.parse(o.sizes()), o.idle().toMillis(),
                    running::get, commands, logins, counters.count("clients.sessions"), counters.count("clients.no"),
                    counters.count("clients.errors"));
            List<MailClient> clients = new ArrayList<>();
            for (int i = 0; i < o.clients(); i++) {
                clients.add(new MailClient(shared, Loopback.address(CLIENTS, i), accounts.get(i / o.clientsPerAccount())));
            }
            Attacker.Arena arena = new Attacker.Arena(attack, server.port(), server.port("submissions"), server.port("smtp"), accounts,
                    DOMAIN, running::get, counters);
            List<Attacker> attackers = attackers(o, arena, hogAccounts);

            try (SoakReport report = new SoakReport(o, counters, csv)) {
                Clock clock = new Clock(probe, counters);
                report.add(clock.sample(0, commands, logins)); // the server with its mailboxes, before any load
                long t0 = System.nanoTime();
                for (int i = 0; i < clients.size(); i++) {
                    imap.schedule(clients.get(i)::connect, RAMP_MILLIS * i / clients.size());
                }
                int floods = 0;
                for (Attacker a : attackers) {
                    long delay = a instanceof Flood ? FLOOD_RAMP_MILLIS * floods++ / Math.max(1, o.flood()) : 0;
                    attack.schedule(a::start, RAMP_MILLIS + delay);
                }
                long interval = o.interval().toNanos();
                long samples = o.duration().toNanos() / interval;
                for (long k = 1; k <= samples; k++) {
                    long wait = t0 + k * interval - System.nanoTime();
                    if (wait > 0) TimeUnit.NANOSECONDS.sleep(wait);
                    if (!ProcessHandle.of(server.pid()).map(ProcessHandle::isAlive).orElse(false)) {
                        System.out.println("the server has exited; see its log");
                        break;
                    }
                    report.add(clock.sample((System.nanoTime() - t0) / 60e9, commands, logins));
                }
                running.set(false);
                report.finish(String.format("Castellan soak %s: %s, %d IMAP clients with attackers", LocalDate.now(),
                        SoakOptions.human(o.duration()), o.clients()));
            }
        }
    }

    private static List<Attacker> attackers(SoakOptions o, Attacker.Arena arena, List<String> hogAccounts) {
        List<Attacker> all = new ArrayList<>();
        // Half of the guessers of each protocol persist from one address, half are a botnet.
        for (int i = 0; i < o.imapGuessers(); i++) all.add(new Guesser(arena, false, i % 2 == 1, Loopback.address(IMAP_GUESSERS, i)));
        for (int i = 0; i < o.smtpGuessers(); i++) all.add(new Guesser(arena, true, i % 2 == 1, Loopback.address(SMTP_GUESSERS, i)));
        for (int i = 0; i < o.hogs(); i++) all.add(new FetchHog(arena, Loopback.address(HOGS, i), hogAccounts.get(i), o.hogPipeline()));
        for (int i = 0; i < o.flood(); i++) all.add(new Flood(arena, Loopback.address(FLOOD, i % o.floodAddresses()), i % 2 == 1));
        for (int i = 0; i < o.tricklers(); i++) {
            all.add(new Trickler(arena, Loopback.address(TRICKLERS, i), i % 2 == 1, o.trickleEvery().toMillis()));
        }
        for (int i = 0; i < o.harvesters(); i++) all.add(new Harvester(arena, Loopback.address(HARVESTERS, i)));
        return all;
    }

    /** Takes samples: the probe's reading and the counters, as differences from the last sample. */
    private static final class Clock {
        private final ServerProbe probe;
        private final Counters counters;
        private final List<String> names;
        private final com.sun.management.OperatingSystemMXBean self =
                (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
        private long[] last;
        private double lastServerCpu;
        private long lastClientCpu;
        private long lastNanos;

        Clock(ServerProbe probe, Counters counters) {
            this.probe = probe;
            this.counters = counters;
            this.names = counters.names();
        }

        Sample sample(double minutes, Latencies commands, Latencies logins) throws IOException {
            long now = System.nanoTime();
            ServerProbe.Reading r = probe.read();
            long clientCpu = self.getProcessCpuTime();
            long[] values = counters.values();
            long[] shown = new long[values.length];
            for (int i = 0; i < values.length; i++) {
                shown[i] = counters.isGauge(names.get(i)) ? values[i] : last == null ? 0 : values[i] - last[i];
            }
            double seconds = last == null ? 0 : (now - lastNanos) / 1e9;
            double serverCpu = seconds == 0 ? 0 : (r.cpuSeconds() - lastServerCpu) / seconds * 100;
            double ownCpu = seconds == 0 ? 0 : (clientCpu - lastClientCpu) / 1e9 / seconds * 100;
            last = values;
            lastServerCpu = r.cpuSeconds();
            lastClientCpu = clientCpu;
            lastNanos = now;
            return new Sample(minutes, r.rssKib(), r.heapAfterGcMib(), serverCpu, r.threads(), r.fds(), r.sockets(), ownCpu,
                    loadAverage1(), seconds, commands.take(), logins.take(), shown);
        }
    }

    /** What the server logged at WARN and ERROR over the run, as counts: the lines themselves are in its log. */
    private static void logSummary(Path log) throws IOException {
        long warn = 0;
        long error = 0;
        try (var lines = Files.lines(log)) {
            for (String line : (Iterable<String>) lines::iterator) {
                if (line.contains(" WARN ")) warn++;
                else if (line.contains(" ERROR ")) error++;
            }
        }
        System.out.printf("server log %s: %d WARN, %d ERROR lines%n", log, warn, error);
    }

    private static double loadAverage1() {
        String all = loadAverage();
        return all.isEmpty() ? Double.NaN : Double.parseDouble(all.split(" ")[0]);
    }

    private static String loadAverage() {
        try {
            String[] f = Files.readString(Path.of("/proc/loadavg")).split(" ");
            return f[0] + " " + f[1] + " " + f[2];
        } catch (IOException e) {
            return "";
        }
    }
}
