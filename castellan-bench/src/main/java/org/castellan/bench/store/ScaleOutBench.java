package org.castellan.bench.store;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalLong;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.castellan.bench.ProcessCpu;
import org.castellan.bench.imap.CastellanImap;
import org.castellan.bench.imap.Fill;
import org.castellan.bench.imap.ImapClient;
import org.castellan.bench.imap.MessageSizes;
import org.castellan.bench.imap.MixedWorkloadBench;
import org.castellan.bench.smtp.LoadClient;
import org.castellan.bench.smtp.SmtpSubmissionBench;
import org.castellan.protocol.mail.EmailAddress;
import org.castellan.security.auth.ScramSecret;
import org.castellan.store.Directory;
import org.castellan.store.embedded.EmbeddedMailStore;
import org.castellan.store.postgres.PostgresStore;
import org.castellan.testkit.Postgres;
import org.castellan.testkit.TestPki;

/**
 * The scale-out store (docs/store.md, "Scale-out"): SMTP delivery and the IMAP mixed workload
 * against Castellan on the embedded store (one node) and on one PostgreSQL with one, two and
 * three nodes, in one run, with what each message and command costs the database.
 *
 * <p>One testkit PostgreSQL ({@link Postgres}, durable: fsync and synchronous_commit on) with
 * pg_stat_statements loaded when Debian's postgresql-contrib has it; a database per PostgreSQL
 * tier, so each tier's statements and notifications are its own. Every node is a child JVM
 * ({@link CastellanImap#launch}, the IMAP benchmarks' server with a submission listener beside
 * its IMAPS one), connected to PostgreSQL through a {@link CountingRelay} that counts bytes and
 * round trips. All tiers' nodes start at once and stay up; each tier's INBOXes are filled and its
 * nodes warmed up (both loads, {@code warmup} seconds each, again until the JIT compilers are
 * quiet); then the tiers alternate, window by window, for {@code rounds} rounds: first SMTP
 * delivery ({@link LoadClient}: STARTTLS, AUTH PLAIN, BDAT, {@code perConnection} messages per
 * connection, each message distinct; the clients in lanes, each lane delivering to a recipient of
 * its own, the lanes spread over the tier's nodes), then the IMAP mix ({@link MixedWorkloadBench}'s
 * sessions, the accounts spread over the nodes). The nodes not under load are idle.
 *
 * <p>Per window: messages (commands) per second; CPU of the tier's nodes, of PostgreSQL (all its
 * processes) and of the object store's JVM, per 1,000 messages, counted until the nodes are quiet
 * again ({@link #settle}: the embedded store indexes text after the acknowledgement); statements, transactions, round
 * trips, bytes each way and WAL bytes per message. At the end: the median and the spread of each,
 * the most frequent statements, and the ratio of a PostgreSQL node's throughput per Castellan
 * CPU-second to the embedded node's (and per CPU of Castellan and PostgreSQL together).
 *
 * <p>Arguments, all {@code name=value}: {@code rounds=3 smtpSeconds=8 imapSeconds=8 warmup=5
 * smtpClients=16 lanes=8 perConnection=10 messageBytes=10240 imapClients=20 messages=50
 * imapBytes=4096|mix poolSize=8 tiers=embedded,pg1,pg2,pg3 s3=no|yes inlineMax=128KB jdbc=}
 * ({@code jdbc}: query parameters for pgjdbc appended to each node's URL, such as
 * {@code prepareThreshold=1}). The load generator runs on the same machine as everything else.
 */
public final class ScaleOutBench {

    static final String PASSWORD = MixedWorkloadBench.PASSWORD;
    static final String DOMAIN = "bench.test";
    static final String SENDER = "sender@" + DOMAIN;

    private ScaleOutBench() {}

    /** A tier: its nodes, and for PostgreSQL its database and the relay its nodes go through. */
    record Tier(String name, List<CastellanImap> nodes, String database, CountingRelay relay) {
        boolean postgres() {
            return database != null;
        }

        double cpuSeconds() {
            double s = 0;
            for (CastellanImap n : nodes) s += ProcessCpu.treeSeconds(n.pid());
            return s;
        }

        /** CPU seconds of the nodes' JIT compilers: a share that stays high means the warm-up was too short. */
        double compilerSeconds() throws IOException {
            double s = 0;
            for (CastellanImap n : nodes) s += ProcessCpu.threadSeconds(n.pid(), "C1 Compiler", "C2 Compiler");
            return s;
        }
    }

    /** What one window measured; {@code units} are messages (SMTP) or commands (IMAP). */
    record Window(String tier, String phase, long units, double seconds, long errors, double nodeCpu, double jitCpu,
                  double idleNodeCpu, double pgCpu,
                  double s3Cpu, long statements, long transactions, long walBytes, CountingRelay.Traffic pg,
                  CountingRelay.Traffic s3, List<PgStats.StatementCount> top) {
        double perSecond() { return units / seconds; }

        double per(double total) { return total / Math.max(1, units); }
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> a = new HashMap<>();
        for (String arg : args) {
            int eq = arg.indexOf('=');
            if (eq <= 0) throw new IllegalArgumentException("arguments are name=value, not " + arg);
            a.put(arg.substring(0, eq), arg.substring(eq + 1));
        }
        Settings s = new Settings(a);
        Path dir = Files.createTempDirectory("castellan-bench-scaleout");
        TestPki pki = TestPki.create(Files.createDirectories(dir.resolve("test-pki")));
        System.out.printf("scale-out store: tiers %s, %d rounds; SMTP %d clients in %d lanes, %d s, %d-byte messages,"
                        + " %d per connection; IMAP %d clients, %d s, INBOX of %d messages of %s; pool-size %d; S3 %s%s; in %s%n",
                String.join(",", s.tiers), s.rounds, s.smtpClients, s.lanes, s.smtpSeconds, s.messageBytes, s.perConnection,
                s.imapClients, s.imapSeconds, s.messages, s.imapSizes.name(), s.poolSize, s.s3 ? "yes, inline-max " + s.inlineMax : "no",
                s.jdbc.isEmpty() ? "" : "; pgjdbc " + s.jdbc, dir);
        System.out.printf("machine: %d CPUs shared with other work, %s %s, load average %s%n", Runtime.getRuntime().availableProcessors(),
                System.getProperty("os.name"), System.getProperty("os.version"), SmtpSubmissionBench.loadAverage());

        List<String> imapUsers = new ArrayList<>();
        for (int i = 1; i <= s.imapClients; i++) imapUsers.add("bench" + i + "@" + DOMAIN);
        List<String> recipients = new ArrayList<>();
        for (int i = 1; i <= s.lanes; i++) recipients.add("rcpt" + i + "@" + DOMAIN);
        List<String> accounts = new ArrayList<>(imapUsers);
        accounts.addAll(recipients);
        accounts.add(SENDER);
        String secret = ScramSecret.derive(PASSWORD.toCharArray(), 4096).encode();

        List<Tier> tiers = new ArrayList<>();
        List<AutoCloseable> closeLast = new ArrayList<>();
        Postgres postgres = null;
        PgStats pg = null;
        Process s3 = null;
        CountingRelay s3Relay = null;
        try {
            String objectStore = "";
            if (s.s3) {
                s3 = startObjectStore(dir.resolve("s3"));
                String[] ready = readyLine(s3, dir.resolve("s3.err")).split(" ");
                int s3Port = Integer.parseInt(ready[1].substring(ready[1].lastIndexOf(':') + 1));
                s3Relay = CountingRelay.start(s3Port);
                Files.writeString(dir.resolve("s3.access"), ready[3] + "\n");
                writeSecret(dir.resolve("s3.secret"), ready[4]);
                objectStore = String.join("\n", "[store.object-store]", "endpoint = \"http://127.0.0.1:" + s3Relay.port() + "\"",
                        "bucket = \"" + ready[2] + "\"", "access-key-file = \"" + dir.resolve("s3.access") + "\"",
                        "secret-key-file = \"" + dir.resolve("s3.secret") + "\"", "inline-max = \"" + s.inlineMax + "\"", "");
            }
            boolean anyPostgres = s.tiers.stream().anyMatch(t -> t.startsWith("pg"));
            if (anyPostgres) {
                postgres = Postgres.start();
                int nodes = s.tiers.stream().filter(t -> t.startsWith("pg")).mapToInt(ScaleOutBench::nodeCount).sum();
                pg = PgStats.prepare(postgres, 20 + nodes * (s.poolSize + 2));
                writeSecret(dir.resolve("postgres.pass"), postgres.password());
                System.out.println("postgresql: " + postgres.jdbcUrl() + (pg.countsStatements()
                        ? ", pg_stat_statements loaded" : ", no pg_stat_statements (install postgresql-contrib): transactions only"));
            }
            for (String name : s.tiers) {
                Path tierDir = Files.createDirectories(dir.resolve(name));
                if (name.equals("embedded")) {
                    Path node = Files.createDirectories(tierDir.resolve("node1"));
                    try (EmbeddedMailStore store = EmbeddedMailStore.open(Files.createDirectories(node.resolve("mail")))) {
                        addAccounts(store, accounts, secret);
                    }
                    Path config = writeConfig(node, pki, "");
                    tiers.add(new Tier(name, List.of(CastellanImap.launch(config, node.resolve("server.log"), List.of())), null, null));
                    continue;
                }
                String database = "castellan_" + name;
                pg.createDatabase(database);
                String base = postgres.jdbcUrl().substring(0, postgres.jdbcUrl().lastIndexOf('/') + 1) + database;
                try (PostgresStore store = PostgresStore.open(base, postgres.user(), postgres.password(), 2)) {
                    addAccounts(store, accounts, secret); // also brings the schema up to date
                }
                CountingRelay relay = CountingRelay.start(postgres.port());
                closeLast.add(relay);
                String url = "postgres://127.0.0.1:" + relay.port() + "/" + database + (s.jdbc.isEmpty() ? "" : "?" + s.jdbc);
                String store = String.join("\n", "[store]", "kind = \"postgres\"", "url = \"" + url + "\"",
                        "user = \"" + postgres.user() + "\"", "password-file = \"" + dir.resolve("postgres.pass") + "\"",
                        "pool-size = " + s.poolSize, objectStore);
                List<CastellanImap> nodes = new ArrayList<>();
                for (int i = 1; i <= nodeCount(name); i++) {
                    Path node = Files.createDirectories(tierDir.resolve("node" + i));
                    nodes.add(CastellanImap.launch(writeConfig(node, pki, store), node.resolve("server.log"), List.of()));
                }
                tiers.add(new Tier(name, nodes, database, relay));
            }
            run(s, tiers, pki, imapUsers, recipients, pg, s3, s3Relay);
        } finally {
            for (Tier t : tiers) t.nodes().forEach(CastellanImap::close);
            for (AutoCloseable c : closeLast) c.close();
            if (s3Relay != null) s3Relay.close();
            if (s3 != null) {
                s3.destroy();
                s3.waitFor();
            }
            if (pg != null) pg.close();
            if (postgres != null) postgres.close();
        }
    }

    /** pgN has N nodes. */
    static int nodeCount(String tier) {
        return tier.equals("embedded") ? 1 : Integer.parseInt(tier.substring(2));
    }

    private static void run(Settings s, List<Tier> tiers, TestPki pki, List<String> imapUsers, List<String> recipients,
                            PgStats pg, Process s3, CountingRelay s3Relay) throws Exception {
        byte[] message = message(s.messageBytes);
        List<LoadClient> lanes = new ArrayList<>();
        ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor();
        try (ImapClient imap = new ImapClient(pki.trustFile())) {
            for (String r : recipients) {
                lanes.add(new LoadClient(pki.server().certificate(),
                        new LoadClient.Options(message, SENDER, PASSWORD, true, s.perConnection, true, r, true)));
            }
            for (Tier t : tiers) {
                long started = System.nanoTime();
                Fill.run(imap, t.nodes().get(0).port(), imapUsers, s.messages, s.imapSizes);
                int rounds = warmUp(t, () -> {
                    smtpLoad(pool, lanes, t, s.smtpClients, Duration.ofSeconds(s.warmup));
                    return imapLoad(pool, imap, t, imapUsers, s.warmup, s.imapSizes);
                });
                System.out.printf("%-8s %d node(s) filled and warmed up in %.0f s (%d rounds)%n", t.name(), t.nodes().size(),
                        (System.nanoTime() - started) / 1e9, rounds);
            }
            Map<String, List<Window>> windows = new LinkedHashMap<>();
            for (int round = 1; round <= s.rounds; round++) {
                // Alternate: each round starts with the next tier, so no tier always follows the same one.
                for (int k = 0; k < tiers.size(); k++) {
                    Tier t = tiers.get((k + round - 1) % tiers.size());
                    Window w = measure(tiers, t, "smtp", pg, s3, s3Relay,
                            () -> smtpLoad(pool, lanes, t, s.smtpClients, Duration.ofSeconds(s.smtpSeconds)));
                    print(round, w);
                    windows.computeIfAbsent(t.name() + " smtp", x -> new ArrayList<>()).add(w);
                    w = measure(tiers, t, "imap", pg, s3, s3Relay, () -> imapLoad(pool, imap, t, imapUsers, s.imapSeconds, s.imapSizes));
                    print(round, w);
                    windows.computeIfAbsent(t.name() + " imap", x -> new ArrayList<>()).add(w);
                }
            }
            summary(tiers, windows);
        } finally {
            lanes.forEach(LoadClient::close);
            pool.shutdown();
        }
    }

    /**
     * Warm-up rounds of both loads until the nodes' JIT compilers use at most {@link #JIT_SETTLED} of
     * their CPU in a round (a long-running server has compiled its hot paths), at most
     * {@link #MAX_WARMUP_ROUNDS}; returns the rounds run.
     */
    private static int warmUp(Tier t, Load round) throws Exception {
        for (int r = 1; r <= MAX_WARMUP_ROUNDS; r++) {
            double cpu = t.cpuSeconds();
            double jit = t.compilerSeconds();
            round.run();
            if (t.compilerSeconds() - jit <= JIT_SETTLED * (t.cpuSeconds() - cpu)) return r;
        }
        return MAX_WARMUP_ROUNDS;
    }

    /** A warm-up round in which the JIT used at most this share of the nodes' CPU: compiled. */
    static final double JIT_SETTLED = 0.15;
    /** Bounds the warm-up on a machine too busy to settle. */
    static final int MAX_WARMUP_ROUNDS = 6;

    /** A node is quiet below this CPU per second: an idle node on PostgreSQL uses about 10 ms/s (timers, the pool). */
    static final double QUIET_CPU_PER_SECOND = 0.030;
    /** Bounds the wait for quiet nodes, in seconds of {@link #settle}. */
    static final int MAX_SETTLE_SECONDS = 30;
    /** One CPU sample of the settling wait: /proc counts in 10 ms ticks, so a second tells quiet from busy. */
    private static final java.time.Duration SETTLE_SAMPLE = java.time.Duration.ofSeconds(1);

    /**
     * Waits after a window until the tier's nodes are quiet, so that work a store defers past the
     * acknowledgement (the embedded store's text index catching up on what was delivered) is charged
     * to the window that caused it; returns the seconds waited. The CPU of PostgreSQL is read after
     * it too. Throughput is the window's alone.
     */
    private static double settle(Tier t) throws InterruptedException {
        long start = System.nanoTime();
        double last = t.cpuSeconds();
        for (int i = 0; i < MAX_SETTLE_SECONDS; i++) {
            Thread.sleep(SETTLE_SAMPLE); // a measurement interval: the CPU the nodes use over it is the quantity
            double now = t.cpuSeconds();
            if (now - last <= QUIET_CPU_PER_SECOND * t.nodes().size()) break;
            last = now;
        }
        return (System.nanoTime() - start) / 1e9;
    }

    /** A window's load: returns the units done, the seconds taken and the errors. */
    interface Load {
        long[] run() throws Exception;
    }

    private static Window measure(List<Tier> tiers, Tier t, String phase, PgStats pg, Process s3, CountingRelay s3Relay, Load load)
            throws Exception {
        List<Tier> others = tiers.stream().filter(o -> o != t).toList();
        int idleNodes = others.stream().mapToInt(o -> o.nodes().size()).sum();
        double idle = 0;
        for (Tier o : others) idle -= o.cpuSeconds();
        PgStats.Snapshot pgBefore = t.postgres() ? pg.snapshot(t.database()) : null;
        if (t.postgres()) pg.resetStatements();
        CountingRelay.Traffic pgTraffic = t.postgres() ? t.relay().traffic() : null;
        CountingRelay.Traffic s3Traffic = s3Relay != null ? s3Relay.traffic() : null;
        double s3Cpu = s3 != null ? ProcessCpu.treeSeconds(s3.pid()) : 0;
        double nodes = t.cpuSeconds();
        double jit = t.compilerSeconds();
        long started = System.nanoTime();
        long[] done = load.run();
        double seconds = (System.nanoTime() - started) / 1e9;
        double settled = settle(t);
        double nodeCpu = t.cpuSeconds() - nodes;
        jit = t.compilerSeconds() - jit;
        for (Tier o : others) idle += o.cpuSeconds();
        // What a node costs with no load at all (timers, the pool's housekeeping, notifications it hears), per second.
        double idlePerNode = idleNodes == 0 ? Double.NaN : idle / idleNodes / (seconds + settled);
        s3Cpu = s3 != null ? ProcessCpu.treeSeconds(s3.pid()) - s3Cpu : 0;
        if (!t.postgres()) {
            return new Window(t.name(), phase, done[0], seconds, done[1], nodeCpu, jit, idlePerNode, 0, s3Cpu, 0, 0, 0, null, null,
                    List.of());
        }
        List<PgStats.StatementCount> statements = pg.statements(t.database());
        PgStats.Snapshot pgAfter = pg.snapshot(t.database());
        long calls = statements.stream().mapToLong(PgStats.StatementCount::calls).sum();
        return new Window(t.name(), phase, done[0], seconds, done[1], nodeCpu, jit, idlePerNode,
                pgAfter.cpuSeconds() - pgBefore.cpuSeconds(), s3Cpu, calls, pgAfter.transactions() - pgBefore.transactions(),
                pgAfter.walBytes() - pgBefore.walBytes(),
                t.relay().traffic().minus(pgTraffic), s3Relay != null ? s3Relay.traffic().minus(s3Traffic) : null,
                statements.subList(0, Math.min(PgStats.TOP_STATEMENTS, statements.size())));
    }

    /** The lanes at once, lane i on node i mod n, the clients shared out among the lanes. */
    private static long[] smtpLoad(ExecutorService pool, List<LoadClient> lanes, Tier t, int clients, Duration d) throws Exception {
        List<Future<LoadClient.Load>> runs = new ArrayList<>();
        for (int i = 0; i < lanes.size(); i++) {
            LoadClient lane = lanes.get(i);
            int port = t.nodes().get(i % t.nodes().size()).port("submission");
            int share = clients / lanes.size() + (i < clients % lanes.size() ? 1 : 0);
            if (share > 0) runs.add(pool.submit(() -> lane.run(port, share, d)));
        }
        long messages = 0;
        long errors = 0;
        for (Future<LoadClient.Load> f : runs) {
            LoadClient.Load l = f.get();
            messages += l.messages();
            errors += l.errors();
            if (l.firstError() != null && l.errors() > 0) System.out.println("  smtp error: " + l.firstError());
        }
        return new long[] {messages, errors};
    }

    /** The IMAP accounts shared out among the nodes, account i on node i mod n, all at once. */
    private static long[] imapLoad(ExecutorService pool, ImapClient imap, Tier t, List<String> users, int seconds,
                                   MessageSizes sizes) throws Exception {
        List<Callable<MixedWorkloadBench.Load>> runs = new ArrayList<>();
        int n = t.nodes().size();
        for (int node = 0; node < n; node++) {
            List<String> mine = new ArrayList<>();
            for (int i = node; i < users.size(); i += n) mine.add(users.get(i));
            int port = t.nodes().get(node).port();
            runs.add(() -> MixedWorkloadBench.load(imap, port, mine, seconds, sizes));
        }
        long commands = 0;
        long errors = 0;
        for (Future<MixedWorkloadBench.Load> f : pool.invokeAll(runs)) {
            commands += f.get().commands();
            errors += f.get().errors();
        }
        return new long[] {commands, errors};
    }

    private static void print(int round, Window w) {
        String unit = w.phase().equals("smtp") ? "msg" : "cmd";
        StringBuilder b = new StringBuilder(String.format(Locale.ROOT,
                "round %d %-8s %-4s %8.1f %s/s  CPU per 1000 %s: nodes %6.2f s (JIT %2.0f%%; an idle node meanwhile %4.1f ms/s)",
                round, w.tier(), w.phase(), w.perSecond(), unit, unit, 1000 * w.per(w.nodeCpu()), 100 * w.jitCpu() / w.nodeCpu(),
                1000 * w.idleNodeCpu()));
        if (w.pg() != null) {
            b.append(String.format(Locale.ROOT, ", postgres %6.2f s", 1000 * w.per(w.pgCpu())));
            if (w.s3() != null) b.append(String.format(Locale.ROOT, ", s3 %5.2f s", 1000 * w.per(w.s3Cpu())));
            b.append(String.format(Locale.ROOT, "; per %s: %5.2f statements, %5.2f transactions, %5.2f round trips,"
                            + " %7.0f B to and %7.0f B from postgres, %6.0f B WAL", unit, w.per(w.statements()),
                    w.per(w.transactions()), w.per(w.pg().roundTrips()), w.per(w.pg().toServer()), w.per(w.pg().fromServer()),
                    w.per(w.walBytes())));
            if (w.s3() != null) {
                b.append(String.format(Locale.ROOT, ", %7.0f B to and %7.0f B from s3 in %4.2f requests", w.per(w.s3().toServer()),
                        w.per(w.s3().fromServer()), w.per(w.s3().roundTrips())));
            }
        }
        if (w.errors() > 0) b.append("  errors ").append(w.errors());
        System.out.println(b);
    }

    private static void summary(List<Tier> tiers, Map<String, List<Window>> windows) {
        System.out.println();
        System.out.println("summary: median [min-max] over the rounds");
        for (String phase : List.of("smtp", "imap")) {
            String unit = phase.equals("smtp") ? "msg" : "cmd";
            List<Window> embedded = windows.get("embedded " + phase);
            for (Tier t : tiers) {
                List<Window> ws = windows.get(t.name() + " " + phase);
                StringBuilder b = new StringBuilder(String.format(Locale.ROOT, "%-8s %-4s %s/s %s; CPU s per 1000 %s: nodes %s",
                        t.name(), phase, unit, spread(ws, Window::perSecond, "%.0f"), unit,
                        spread(ws, w -> 1000 * w.per(w.nodeCpu()), "%.2f")));
                if (t.postgres()) {
                    b.append(" postgres ").append(spread(ws, w -> 1000 * w.per(w.pgCpu()), "%.2f"));
                    if (ws.get(0).s3() != null) b.append(" s3 ").append(spread(ws, w -> 1000 * w.per(w.s3Cpu()), "%.2f"));
                    b.append("; per ").append(unit).append(": statements ").append(spread(ws, w -> w.per(w.statements()), "%.2f"))
                            .append(", transactions ").append(spread(ws, w -> w.per(w.transactions()), "%.2f"))
                            .append(", round trips ").append(spread(ws, w -> w.per(w.pg().roundTrips()), "%.2f"))
                            .append(", bytes to postgres ").append(spread(ws, w -> w.per(w.pg().toServer()), "%.0f"))
                            .append(", from postgres ").append(spread(ws, w -> w.per(w.pg().fromServer()), "%.0f"))
                            .append(", WAL ").append(spread(ws, w -> w.per(w.walBytes()), "%.0f"));
                    if (ws.get(0).s3() != null) {
                        b.append(", to s3 ").append(spread(ws, w -> w.per(w.s3().toServer()), "%.0f"))
                                .append(", s3 requests ").append(spread(ws, w -> w.per(w.s3().roundTrips()), "%.2f"));
                    }
                }
                System.out.println(b);
                if (t.postgres() && embedded != null) {
                    // Paired by round: the same round's embedded window ran next to this one.
                    int n = Math.min(ws.size(), embedded.size());
                    double[] perCastellan = new double[n];
                    double[] perTotal = new double[n];
                    double[] compiled = new double[n];
                    for (int i = 0; i < n; i++) {
                        Window e = embedded.get(i);
                        Window w = ws.get(i);
                        double reference = e.units() / e.nodeCpu();
                        perCastellan[i] = (w.units() / w.nodeCpu()) / reference;
                        perTotal[i] = (w.units() / (w.nodeCpu() + w.pgCpu() + w.s3Cpu())) / reference;
                        compiled[i] = (w.units() / (w.nodeCpu() - w.jitCpu())) / (e.units() / (e.nodeCpu() - e.jitCpu()));
                    }
                    System.out.printf(Locale.ROOT, "%-8s %-4s %s per Castellan CPU-second vs embedded: %s (goal >= 0.70x),"
                                    + " without the JIT compilers' CPU %s; per CPU-second of Castellan + PostgreSQL%s: %s%n", t.name(),
                            phase, unit, spreadOf(perCastellan, "%.2fx"), spreadOf(compiled, "%.2fx"),
                            ws.get(0).s3() != null ? " + S3" : "", spreadOf(perTotal, "%.2fx"));
                }
            }
            for (Tier t : tiers) {
                if (!t.postgres()) continue;
                List<Window> ws = windows.get(t.name() + " " + phase);
                Window last = ws.get(ws.size() - 1);
                System.out.printf("%s %s, last round: top statements, calls per %s (rows per call)%n", t.name(), phase, unit);
                for (PgStats.StatementCount st : last.top()) {
                    System.out.printf(Locale.ROOT, "  %6.3f (%5.2f)  %s%n", last.per(st.calls()),
                            st.rows() / (double) Math.max(1, st.calls()), st.query().replaceAll("\\s+", " "));
                }
                break; // the statements are the same on every tier; one list is enough
            }
        }
    }

    interface Figure {
        double of(Window w);
    }

    private static String spread(List<Window> ws, Figure f, String format) {
        double[] v = new double[ws.size()];
        for (int i = 0; i < v.length; i++) v[i] = f.of(ws.get(i));
        return spreadOf(v, format);
    }

    private static String spreadOf(double[] values, String format) {
        double[] v = values.clone();
        Arrays.sort(v);
        double median = v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
        return String.format(Locale.ROOT, format + " [" + format + "-" + format + "]", median, v[0], v[v.length - 1]);
    }

    private static void addAccounts(Directory store, List<String> accounts, String secret) {
        store.createDomain(DOMAIN);
        for (String u : accounts) store.createAccount(EmailAddress.of(u), secret, OptionalLong.empty());
    }

    /** A node's configuration: IMAPS and submission (STARTTLS) on free loopback ports, then {@code store}. */
    private static Path writeConfig(Path node, TestPki pki, String store) throws IOException {
        Path config = node.resolve("castellan.toml");
        Files.writeString(config, String.join("\n",
                "[server]", "hostname = \"localhost\"", "data-dir = \".\"",
                "[tls]", "certificate = \"" + pki.server().chainFile() + "\"", "key = \"" + pki.server().keyFile() + "\"",
                store,
                "[[listener]]", "name = \"imaps\"", "protocol = \"imap\"", "address = \"127.0.0.1\"", "port = 0", "tls = \"implicit\"",
                "[[listener]]", "name = \"submission\"", "protocol = \"submission\"", "address = \"127.0.0.1\"", "port = 0",
                "tls = \"starttls\"", ""));
        return config;
    }

    private static void writeSecret(Path file, String secret) throws IOException {
        Files.writeString(file, secret + "\n");
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
    }

    private static Process startObjectStore(Path dir) throws IOException {
        List<String> command = List.of(ProcessHandle.current().info().command().orElseThrow(), "-cp",
                System.getProperty("java.class.path"), ObjectStoreServer.class.getName(), dir.toString());
        return new ProcessBuilder(command).redirectError(dir.resolveSibling("s3.err").toFile()).start();
    }

    private static String readyLine(Process child, Path err) throws IOException {
        BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8));
        String line;
        while ((line = out.readLine()) != null && !line.startsWith("READY ")) {
            // log lines before the READY line
        }
        if (line == null) throw new IllegalStateException("the object store did not start: " + Files.readString(err));
        return line;
    }

    /** A text message of about {@code size} bytes from the sender. */
    static byte[] message(int size) {
        StringBuilder b = new StringBuilder("From: " + SENDER + "\r\nTo: rcpt@" + DOMAIN + "\r\nSubject: scale-out bench\r\n\r\n");
        int line = 0;
        while (b.length() < size) b.append("line ").append(line++).append(' ').append("x".repeat(64)).append("\r\n");
        return b.toString().getBytes(StandardCharsets.US_ASCII);
    }

    /** The arguments, with their defaults: a run of a few minutes. */
    private static final class Settings {
        final int rounds;
        final int smtpSeconds;
        final int imapSeconds;
        final int warmup;
        final int smtpClients;
        final int lanes;
        final int perConnection;
        final int messageBytes;
        final int imapClients;
        final int messages;
        final MessageSizes imapSizes;
        final int poolSize;
        final List<String> tiers;
        final boolean s3;
        /** As the configuration writes a size: "128KB". */
        final String inlineMax;
        final String jdbc;

        Settings(Map<String, String> a) {
            rounds = Integer.parseInt(a.getOrDefault("rounds", "3"));
            smtpSeconds = Integer.parseInt(a.getOrDefault("smtpSeconds", "8"));
            imapSeconds = Integer.parseInt(a.getOrDefault("imapSeconds", "8"));
            warmup = Integer.parseInt(a.getOrDefault("warmup", "5"));
            smtpClients = Integer.parseInt(a.getOrDefault("smtpClients", "16"));
            lanes = Integer.parseInt(a.getOrDefault("lanes", "8"));
            perConnection = Integer.parseInt(a.getOrDefault("perConnection", "10"));
            messageBytes = Integer.parseInt(a.getOrDefault("messageBytes", "10240"));
            imapClients = Integer.parseInt(a.getOrDefault("imapClients", "20"));
            messages = Integer.parseInt(a.getOrDefault("messages", "50"));
            imapSizes = MessageSizes.parse(a.getOrDefault("imapBytes", "4096"));
            poolSize = Integer.parseInt(a.getOrDefault("poolSize", "8"));
            tiers = List.of(a.getOrDefault("tiers", "embedded,pg1,pg2,pg3").split(","));
            s3 = a.getOrDefault("s3", "no").equals("yes");
            inlineMax = a.getOrDefault("inlineMax", "128KB");
            jdbc = a.getOrDefault("jdbc", "");
            for (String t : tiers) {
                if (!t.equals("embedded") && !t.matches("pg[1-9]")) {
                    throw new IllegalArgumentException("tiers are embedded and pg1 to pg9, not " + t);
                }
            }
            if (lanes < 1 || smtpClients < lanes) throw new IllegalArgumentException("lanes must be 1 to smtpClients");
        }
    }
}
