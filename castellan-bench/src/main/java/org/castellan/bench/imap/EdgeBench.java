package org.castellan.bench.imap;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import org.castellan.bench.ProcessCpu;
import org.castellan.protocol.mail.EmailAddress;
import org.castellan.security.auth.ScramSecret;
import org.castellan.security.pki.CertificateAuthority;
import org.castellan.security.pki.IssuedCertificate;
import org.castellan.security.pki.NodeIdentity;
import org.castellan.server.cli.Main;
import org.castellan.store.embedded.EmbeddedMailStore;
import org.castellan.testkit.TestPki;

/**
 * The cost of the edge's extra hop (docs/roles.md §2), against Dovecot's own proxy: in one run,
 * alternating window by window, the same IMAP load against
 * <ul>
 *   <li>{@code direct}: a Castellan node of role {@code all},
 *   <li>{@code edge}: a Castellan edge relaying over a link to a mailbox node,
 *   <li>{@code dovecot-proxy}: Debian's Dovecot with {@code proxy=y} in its passdb, over TLS to a
 *       second Dovecot instance as the back end.
 * </ul>
 * Each Castellan node is a child JVM on an embedded store of its own with the same accounts (the
 * edge reads only its directory: credentials and placement); the mailbox node and the direct node
 * are filled the same way through their client paths. Three loads: {@code open}, sessions kept open
 * (LOGIN once, then the mix of {@link MixedWorkloadBench} from LIST to EXPUNGE over and over,
 * LOGOUT at the end), {@code mix}, {@link MixedWorkloadBench}'s own sessions (connect, LOGIN,
 * LIST … EXPUNGE, LOGOUT, again), and {@code login}, the hop's worst case (connect, LOGIN, SELECT, FETCH
 * ENVELOPE of ten, LOGOUT, again). Per window: commands/s, sessions/s, p99 latency, CPU-seconds
 * of the front process (the edge, the proxy, the direct node) and of the back end separately
 * from /proc ({@link ProcessCpu}, children included); then per load the median and range over the
 * rounds, the hop cost {@code 1 − edge/direct} of each round, and commands per front CPU-second and
 * per total CPU-second against Dovecot's proxy.
 *
 * <p>With {@code split}, each side gets a CPU of its own, as the edge in a DMZ has a host of its
 * own: the load generator and the front process (the edge, Dovecot's proxy) on CPU 0, the back end
 * (the direct node, the mailbox node, Dovecot's back end) on CPU 1; so the hop's cost is what it
 * takes from the mailbox node's throughput and adds to each command's latency, not the edge's own
 * CPU taken from the same two cores ({@code shared}, the default).
 *
 * <p>Arguments: {@code [rounds=3] [seconds=10] [clients=20] [messages=50] [warmup=5] [dovecot=yes]
 * [cpus=shared|split]}.
 */
public final class EdgeBench {

    private static final int SCRAM_ITERATIONS = 4096;
    /** The login load's script, in rising order: LOGIN, SELECT, FETCH ENVELOPE, LOGOUT (steps of {@link MixedWorkloadBench#COMMANDS}). */
    private static final int[] LOGIN_SCRIPT = {1, 4, 6, 12};
    /** The open load repeats LIST … EXPUNGE between its one LOGIN and its LOGOUT. */
    private static final int FIRST_REPEATED = 2;
    private static final int LAST_REPEATED = 11;
    private static final int LOGOUT = 12;

    private EdgeBench() {}

    enum Mode { OPEN, MIX, LOGIN }

    /** A path through which clients reach mail: the port they connect to, the front and back processes. */
    record Target(String name, int port, long frontPid, long backPid) {}

    record Window(Target target, Mode mode, long commands, long sessions, double seconds, double p50, double p99,
                  double frontCpu, double backCpu, long errors) {
        double perSecond() { return commands / seconds; }

        double sessionsPerSecond() { return sessions / seconds; }

        double perFrontCpu() { return commands / frontCpu; }

        double perTotalCpu() { return commands / (frontCpu + backCpu); }

        void print(int round) {
            System.out.printf("round %d %-5s %-14s %8.1f cmd/s %7.1f sessions/s  p50 %6.2f ms  p99 %7.2f ms  CPU front %6.2f s"
                            + " back %6.2f s  cmd per front CPU-s %8.0f  per total CPU-s %7.0f  errors %d%n",
                    round, mode.name().toLowerCase(), target.name(), perSecond(), sessionsPerSecond(), p50, p99, frontCpu,
                    backCpu, perFrontCpu(), perTotalCpu(), errors);
        }
    }

    public static void main(String[] args) throws Exception {
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 3;
        int seconds = args.length > 1 ? Integer.parseInt(args[1]) : 10;
        int clients = args.length > 2 ? Integer.parseInt(args[2]) : 20;
        int messages = args.length > 3 ? Integer.parseInt(args[3]) : 50;
        int warmup = args.length > 4 ? Integer.parseInt(args[4]) : 5;
        boolean dovecot = args.length <= 5 || !args[5].equals("no");
        boolean split = args.length > 6 && args[6].equals("split");
        MessageSizes sizes = MessageSizes.parse("4096");
        Path dir = Files.createTempDirectory("castellan-bench-edge");
        TestPki pki = TestPki.create(Files.createDirectories(dir.resolve("test-pki")));
        List<String> users = new ArrayList<>();
        for (int i = 1; i <= clients; i++) users.add("bench" + i + "@bench.test");
        System.out.printf("IMAP through the edge: %d rounds of %d s windows, %d clients, INBOX of %d messages of %s,"
                + " implicit TLS, embedded stores, in %s%n", rounds, seconds, clients, messages, sizes.name(), dir);
        if (split) {
            System.out.println("CPUs split: the load generator and the front (the edge, Dovecot's proxy) on CPU 0,"
                    + " the back end (the direct node, the mailbox node, Dovecot's back end) on CPU 1");
        }
        System.out.printf("machine: %d CPUs, %s %s, load average %s%n", Runtime.getRuntime().availableProcessors(),
                System.getProperty("os.name"), System.getProperty("os.version"), MixedWorkloadBench.loadAverage());

        // castellan init: the built-in CA with its node CA, which issues the edge's and the mailbox node's certificates.
        Path base = dir.resolve("init");
        if (Main.run("init", "--data", base.toString(), "--hostname", "localhost", "--port-base", "0") != 0) {
            throw new IllegalStateException("castellan init failed");
        }
        CertificateAuthority ca = CertificateAuthority.load(base.resolve("pki"));
        Path edgeCert = node(ca, dir, NodeIdentity.Role.EDGE, "edge-1");
        Path mailboxCert = node(ca, dir, NodeIdentity.Role.MAILBOX, "mailbox-1");

        List<AutoCloseable> open = new ArrayList<>();
        try {
            CastellanImap direct = castellan(dir.resolve("direct"), pki, base, users, "all", null,
                    List.of(imaps()));
            open.add(direct);
            CastellanImap mailbox = castellan(dir.resolve("mailbox"), pki, base, users, "mailbox", mailboxCert,
                    List.of("[[listener]]", "name = \"link\"", "protocol = \"link\"", "address = \"127.0.0.1\"", "port = 0",
                            "tls = \"implicit\"", "client-cert = \"require\"", "edges = [\"127.0.0.0/8\"]"));
            open.add(mailbox);
            CastellanImap edge = castellan(dir.resolve("edge"), pki, base, users, "edge", edgeCert,
                    List.of("[edge]", "nodes = [\"mailbox-1=127.0.0.1:" + mailbox.port("link") + "\"]",
                            "default-node = \"mailbox-1\"", imaps()));
            open.add(edge);
            // For a profile (CASTELLAN_BENCH_SERVER_JVM with a JFR file name holding %p): which JVM is which.
            System.out.printf("pids: direct %d, edge %d, mailbox %d%n", direct.pid(), edge.pid(), mailbox.pid());
            List<Target> targets = new ArrayList<>(List.of(new Target("direct", direct.port(), direct.pid(), -1),
                    new Target("edge", edge.port(), edge.pid(), mailbox.pid())));
            if (dovecot) {
                Dovecot backend = Dovecot.start(dir.resolve("dovecot-backend"), pki, users, MixedWorkloadBench.PASSWORD, clients);
                open.add(backend);
                Dovecot proxy = Dovecot.startProxy(dir.resolve("dovecot-proxy"), pki, users, MixedWorkloadBench.PASSWORD,
                        clients, backend);
                open.add(proxy);
                targets.add(new Target("dovecot-proxy", proxy.port(), proxy.pid(), backend.pid()));
            }
            if (split) {
                ProcessCpu.pinTree(ProcessHandle.current().pid(), 0);
                for (Target t : targets) {
                    if (t.backPid() < 0) {
                        ProcessCpu.pinTree(t.frontPid(), 1);
                    } else {
                        ProcessCpu.pinTree(t.frontPid(), 0);
                        ProcessCpu.pinTree(t.backPid(), 1);
                    }
                }
            }
            run(pki, users, targets, rounds, seconds, messages, warmup, sizes);
        } finally {
            for (int i = open.size() - 1; i >= 0; i--) open.get(i).close();
        }
    }

    private static void run(TestPki pki, List<String> users, List<Target> targets, int rounds, int seconds, int messages,
                            int warmup, MessageSizes sizes) throws Exception {
        Map<String, List<Window>> windows = new LinkedHashMap<>();
        try (ImapClient client = new ImapClient(pki.trustFile())) {
            for (Target t : targets) {
                Fill.run(client, t.port(), users, messages, sizes);
                // JIT, caches, Dovecot's first indexes; not counted.
                for (Mode m : Mode.values()) window(client, t, m, users, warmup, sizes);
            }
            System.out.printf("filled and warmed up; load average %s%n", MixedWorkloadBench.loadAverage());
            for (int round = 1; round <= rounds; round++) {
                for (Mode m : Mode.values()) {
                    for (Target t : targets) {
                        Window w = window(client, t, m, users, seconds, sizes);
                        w.print(round);
                        windows.computeIfAbsent(m + " " + t.name(), k -> new ArrayList<>()).add(w);
                    }
                }
            }
        }
        System.out.printf("load average at the end %s%n%n", MixedWorkloadBench.loadAverage());
        for (Mode m : Mode.values()) summary(m, targets, windows, rounds);
    }

    private static void summary(Mode m, List<Target> targets, Map<String, List<Window>> windows, int rounds) {
        String mode = m.name().toLowerCase();
        System.out.printf("%s: median [min-max] over %d rounds%n", mode, rounds);
        for (Target t : targets) {
            List<Window> w = windows.get(m + " " + t.name());
            System.out.printf("  %-14s cmd/s %s  sessions/s %s  p99 ms %s  CPU-s front %s back %s  cmd per front CPU-s %s"
                            + "  per total CPU-s %s%n", t.name(),
                    spread(w, Window::perSecond, "%.0f"), spread(w, Window::sessionsPerSecond, "%.1f"),
                    spread(w, Window::p99, "%.2f"), spread(w, Window::frontCpu, "%.2f"), spread(w, Window::backCpu, "%.2f"),
                    spread(w, Window::perFrontCpu, "%.0f"), spread(w, Window::perTotalCpu, "%.0f"));
        }
        List<Window> direct = windows.get(m + " direct");
        List<Window> edge = windows.get(m + " edge");
        double[] hop = new double[rounds];
        for (int i = 0; i < rounds; i++) hop[i] = 100 * (1 - edge.get(i).perSecond() / direct.get(i).perSecond());
        System.out.printf("  hop cost 1 - edge/direct cmd/s: %s %% (goal <= 15 %%)%n", MixedWorkloadBench.spread(hop, "%.1f"));
        List<Window> proxy = windows.get(m + " dovecot-proxy");
        if (proxy != null) {
            double[] front = new double[rounds];
            double[] total = new double[rounds];
            for (int i = 0; i < rounds; i++) {
                front[i] = edge.get(i).perFrontCpu() / proxy.get(i).perFrontCpu();
                total[i] = edge.get(i).perTotalCpu() / proxy.get(i).perTotalCpu();
            }
            System.out.printf("  edge/dovecot-proxy: commands per proxy CPU-s %sx (goal >= 1.5x), per total CPU-s %sx%n",
                    MixedWorkloadBench.spread(front, "%.2f"), MixedWorkloadBench.spread(total, "%.2f"));
        }
        System.out.println();
    }

    private static String spread(List<Window> windows, java.util.function.ToDoubleFunction<Window> f, String format) {
        return MixedWorkloadBench.spread(windows.stream().mapToDouble(f).toArray(), format);
    }

    private static Window window(ImapClient client, Target t, Mode mode, List<String> users, int seconds, MessageSizes sizes)
            throws InterruptedException {
        double front = ProcessCpu.treeSeconds(t.frontPid());
        double back = t.backPid() < 0 ? 0 : ProcessCpu.treeSeconds(t.backPid());
        MixedWorkloadBench.Load load = MixedWorkloadBench.load(client, t.port(), users, seconds, sizes, deadline -> step -> {
            if (mode == Mode.LOGIN) return Arrays.stream(LOGIN_SCRIPT).filter(s -> s > step).findFirst().orElseThrow();
            if (mode == Mode.MIX) return step + 1;
            if (step != 1 && step != LAST_REPEATED) return step + 1;
            return System.nanoTime() < deadline ? FIRST_REPEATED : LOGOUT;
        }, mode != Mode.OPEN);
        double frontCpu = ProcessCpu.treeSeconds(t.frontPid()) - front;
        double backCpu = t.backPid() < 0 ? 0 : ProcessCpu.treeSeconds(t.backPid()) - back;
        long[] sorted = load.sorted();
        return new Window(t, mode, load.commands, load.sessions, load.seconds, percentile(sorted, 0.5),
                percentile(sorted, 0.99), frontCpu, backCpu, load.errors);
    }

    private static double percentile(long[] sorted, double p) {
        if (sorted.length == 0) return Double.NaN;
        return sorted[(int) Math.min(sorted.length - 1, Math.floor(p * sorted.length))] / 1e6;
    }

    private static String imaps() {
        return String.join("\n", "[[listener]]", "name = \"imaps\"", "protocol = \"imap\"", "address = \"127.0.0.1\"",
                "port = 0", "tls = \"implicit\"");
    }

    /** A node certificate from the node CA; returns the directory with its chain and key. */
    private static Path node(CertificateAuthority ca, Path dir, NodeIdentity.Role role, String name) {
        IssuedCertificate issued = ca.issueNode(new NodeIdentity(role, name), List.of("localhost"), Duration.ofDays(90));
        Path out = dir.resolve("certs").resolve(name);
        issued.writeTo(out);
        return out;
    }

    /**
     * A Castellan node in a child JVM: its own data directory and embedded store with the
     * benchmark's accounts, the test PKI's server certificate for clients, the CA of {@code base}
     * (its node CA) for links, and {@code nodeCertificate} (null for none) as its {@code [node]}.
     */
    private static CastellanImap castellan(Path data, TestPki pki, Path base, List<String> users, String role,
                                           Path nodeCertificate, List<String> tables) throws Exception {
        try (EmbeddedMailStore store = EmbeddedMailStore.open(Files.createDirectories(data.resolve("mail")))) {
            store.createDomain(users.get(0).substring(users.get(0).indexOf('@') + 1));
            String secret = ScramSecret.derive(MixedWorkloadBench.PASSWORD.toCharArray(), SCRAM_ITERATIONS).encode();
            for (String u : users) store.createAccount(EmailAddress.of(u), secret, OptionalLong.empty());
        }
        List<String> lines = new ArrayList<>(List.of("[server]", "hostname = \"localhost\"", "data-dir = \"" + data + "\"",
                "role = \"" + role + "\"",
                "[tls]", "certificate = \"" + pki.server().chainFile() + "\"", "key = \"" + pki.server().keyFile() + "\"",
                "pki-directory = \"" + base.resolve("pki") + "\""));
        if (nodeCertificate != null) {
            lines.addAll(List.of("[node]", "certificate = \"" + nodeCertificate.resolve(IssuedCertificate.CHAIN_FILE) + "\"",
                    "key = \"" + nodeCertificate.resolve(IssuedCertificate.KEY_FILE) + "\""));
        }
        lines.addAll(tables);
        Path config = data.resolve("castellan.toml");
        Files.writeString(config, String.join("\n", lines) + "\n");
        return CastellanImap.launch(config, data.resolve("server.log"), List.of());
    }
}
