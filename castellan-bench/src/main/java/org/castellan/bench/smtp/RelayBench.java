package org.castellan.bench.smtp;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.castellan.testkit.TestPki;

/**
 * Outbound relay, end to end: N clients submit 10 KB messages for a remote domain
 * ({@value #REMOTE_DOMAIN}) over STARTTLS with AUTH PLAIN, as {@link SmtpSubmissionBench} does,
 * and each server relays them to its own {@link Sink} (Postfix's smtp-sink) in clear. A message
 * counts when the sink has received it; messages/s run from the first connection to the sink's
 * last message, and the server's CPU over the same span is everything it did for them:
 * accepting, queueing, delivering, recording the delivery.
 *
 * <ul>
 *   <li>Castellan in its own JVM ({@link ChildServer}), a static route sending the domain to its
 *       sink ({@link #relayConfig}); the outbound settings at their defaults (5 sessions to
 *       the destination, 100 messages per session).
 *   <li>Postfix ({@link Postfix}) with {@code relayhost} the sink, everything else at its defaults
 *       (qmgr's destination concurrency 20 at most, connection cache on demand); its CPU is the
 *       master's and every daemon's: smtpd, cleanup, trivial-rewrite, qmgr, smtp.
 * </ul>
 *
 * <p>Both run side by side; each is warmed up (rounds of N messages until its CPU per message
 * settles, as in {@link SmtpSubmissionBench#warmUp}), then the runs alternate, Castellan then
 * Postfix, {@code pairs} times, and the ratios of each pair are printed with their spread.
 *
 * <p>Arguments: {@code [messages=5000] [clients=16]}, then any of {@code pairs=3},
 * {@code postfix=no}, {@code castellan=no}, {@code pin=yes} (as in SmtpSubmissionBench); or
 * {@code queue-idle ...} for {@link QueueIdleBench}.
 */
public final class RelayBench {

    static final String REMOTE_DOMAIN = "remote.test";
    static final String RECIPIENT = "bench@" + REMOTE_DOMAIN;
    /** Each server's sink listens on a loopback address of its own. */
    static final String CASTELLAN_SINK = "127.0.0.2";
    static final String POSTFIX_SINK = "127.0.0.3";
    /** Submitting N messages takes seconds; a run that takes this long has failed. */
    private static final Duration SUBMIT_AT_MOST = Duration.ofMinutes(10);
    /** After the last 250, the relay's queue drains in seconds; this long means mail is stuck. */
    private static final Duration DELIVER_AT_MOST = Duration.ofMinutes(5);
    /** Warm-up rounds of N messages each, at most: a machine too busy to settle still gets measured. */
    private static final int MAX_WARMUP_ROUNDS = 6;

    /** A server under test, running, with its sink. */
    record Relay(String name, int port, Sink sink, SmtpSubmissionBench.CpuClock cpu, SmtpSubmissionBench.CpuClock compiler) {
    }

    /**
     * One measured run.
     *
     * @param seconds from the first connection until the sink had the last message
     * @param submitSeconds from the first connection until the last 250
     */
    record Run(String name, long submitted, long received, double seconds, double submitSeconds, double cpuSeconds,
               double clientCpuSeconds, long errors, String firstError, String loadAverage) {

        double perSecond() { return received / seconds; }

        double perCpuSecond() { return received / cpuSeconds; }

        void print(String label) {
            System.out.printf("%-12s %-9s %6d submitted %6d relayed %7.1f msg/s (250s within %5.1f s)  server CPU %6.2f s"
                            + " = %6.3f ms/msg, %7.1f msg per CPU-s  client CPU %5.2f s  errors %d  load %s%s%n",
                    label, name, submitted, received, perSecond(), submitSeconds, cpuSeconds, 1000 / perCpuSecond(),
                    perCpuSecond(), clientCpuSeconds, errors, loadAverage, received < submitted ? "  INCOMPLETE"
                            : received > submitted ? "  MORE THAN SUBMITTED" : "");
            if (firstError != null) System.out.println("             first error: " + firstError);
        }
    }

    private RelayBench() {}

    public static void main(String[] args) throws Exception {
        if (args.length > 0 && args[0].equals("queue-idle")) {
            QueueIdleBench.main(Arrays.copyOfRange(args, 1, args.length));
            return;
        }
        Args a = Args.parse(args);
        long messages = Long.parseLong(a.positional(0, "5000"));
        int clients = Integer.parseInt(a.positional(1, "16"));
        int pairs = Integer.parseInt(a.named("pairs", "3"));
        boolean withPostfix = !a.named("postfix", "yes").equals("no");
        boolean withCastellan = !a.named("castellan", "yes").equals("no");
        boolean pinned = a.named("pin", "no").equals("yes");
        Path dir = Files.createTempDirectory("castellan-bench-relay");
        TestPki pki = TestPki.create(Files.createDirectories(dir.resolve("test-pki")));
        byte[] message = SmtpSubmissionBench.message(10 * 1024, RECIPIENT);
        SmtpSubmissionBench.Settings settings = new SmtpSubmissionBench.Settings(clients, Duration.ZERO,
                new LoadClient.Options(message, SmtpSubmissionBench.USER, SmtpSubmissionBench.PASSWORD, true, 1, true, RECIPIENT),
                pinned);
        System.out.printf("SMTP relay: %d messages of %d bytes to %s per run, %d clients, STARTTLS + AUTH PLAIN on submission,"
                        + " relayed in clear to smtp-sink; %d pair(s) after a warm-up; in %s%n", messages, message.length,
                RECIPIENT, clients, pairs, dir);
        System.out.printf("machine: %d CPUs, %s %s, load average %s%n", Runtime.getRuntime().availableProcessors(),
                System.getProperty("os.name"), System.getProperty("os.version"), SmtpSubmissionBench.loadAverage());

        List<AutoCloseable> open = new ArrayList<>();
        try (LoadClient client = new LoadClient(pki.server().certificate(), settings.options())) {
            Relay castellan = null;
            Relay postfix = null;
            if (withCastellan) {
                Sink sink = Sink.start(CASTELLAN_SINK);
                open.add(sink);
                Path config = SmtpSubmissionBench.castellanDataDir(dir.resolve("castellan"), pki, relayConfig(sink.hostPort()));
                ChildServer server = ChildServer.start(config, settings);
                open.addFirst(server);
                castellan = new Relay("castellan", server.port(), sink, server::cpuSeconds,
                        () -> SmtpSubmissionBench.compilerSeconds(server.pid()));
            }
            if (withPostfix) {
                Sink sink = Sink.start(POSTFIX_SINK);
                open.add(sink);
                Postfix.Instance instance = Postfix.start(dir.resolve("postfix"), pki, settings, List.of(sink.relayhost()));
                open.addFirst(instance);
                postfix = new Relay("postfix", instance.port(), sink, instance::cpuSeconds, null);
            }
            for (Relay r : Arrays.asList(castellan, postfix)) {
                if (r != null) warmUp(client, r, messages, clients);
            }
            List<Run[]> results = new ArrayList<>();
            for (int pair = 1; pair <= pairs; pair++) {
                Run c = castellan == null ? null : measure(client, castellan, messages, clients);
                if (c != null) c.print("pair " + pair);
                Run p = postfix == null ? null : measure(client, postfix, messages, clients);
                if (p != null) p.print("pair " + pair);
                results.add(new Run[] {c, p});
            }
            if (castellan != null && postfix != null) summary(results);
        } finally {
            for (AutoCloseable c : open) {
                try {
                    c.close();
                } catch (Exception e) {
                    System.out.println("stopping " + c + ": " + e);
                }
            }
        }
        System.out.printf("machine load average after the run: %s%n", SmtpSubmissionBench.loadAverage());
    }

    /**
     * What Castellan's configuration adds to SmtpSubmissionBench's: a static route for
     * {@value #REMOTE_DOMAIN} to the next hop, in clear (the sink offers no STARTTLS). The
     * outbound settings stay at their defaults.
     */
    static String relayConfig(String nextHop) {
        return String.join("\n", "[[outbound.route]]", "domain = \"" + REMOTE_DOMAIN + "\"", "next-hop = \"" + nextHop + "\"",
                "tls = \"none\"", "");
    }

    /**
     * Submits {@code messages} and waits until the sink has them all (or {@link #DELIVER_AT_MOST}
     * passed without); the server's CPU over the whole span.
     */
    static Run measure(LoadClient client, Relay relay, long messages, int clients) throws Exception {
        String load = SmtpSubmissionBench.loadAverage();
        long before = relay.sink().received().get();
        double cpuBefore = relay.cpu().seconds();
        long start = System.nanoTime();
        LoadClient.Load l = client.submit(relay.port(), clients, messages, SUBMIT_AT_MOST);
        double submitSeconds = (System.nanoTime() - start) / 1e9;
        relay.sink().awaitReceived(before + l.messages(), DELIVER_AT_MOST);
        double seconds = (System.nanoTime() - start) / 1e9;
        double cpu = relay.cpu().seconds() - cpuBefore;
        return new Run(relay.name(), l.messages(), relay.sink().received().get() - before, seconds, submitSeconds, cpu,
                l.clientCpuSeconds(), l.errors(), l.firstError(), load);
    }

    /**
     * Rounds of N messages until the server settles: a JVM when its JIT compilers took at most
     * {@link SmtpSubmissionBench#JIT_SETTLED} of its CPU in a round, Postfix when two rounds cost
     * the same CPU per message within {@link SmtpSubmissionBench#WARMUP_SETTLED}.
     */
    private static void warmUp(LoadClient client, Relay relay, long messages, int clients) throws Exception {
        double previous = Double.NaN;
        for (int round = 1; round <= MAX_WARMUP_ROUNDS; round++) {
            double compiledBefore = relay.compiler() == null ? 0 : relay.compiler().seconds();
            Run r = measure(client, relay, messages, clients);
            r.print("warm-up " + round);
            double perMessage = r.cpuSeconds() / Math.max(1, r.received());
            boolean settled = relay.compiler() != null
                    ? (relay.compiler().seconds() - compiledBefore) / Math.max(r.cpuSeconds(), 1e-9) <= SmtpSubmissionBench.JIT_SETTLED
                    : Math.abs(perMessage - previous) <= SmtpSubmissionBench.WARMUP_SETTLED * previous;
            if (settled) return;
            previous = perMessage;
        }
    }

    private static void summary(List<Run[]> results) {
        double[] perCpu = new double[results.size()];
        double[] perSecond = new double[results.size()];
        for (int i = 0; i < results.size(); i++) {
            Run c = results.get(i)[0];
            Run p = results.get(i)[1];
            perCpu[i] = c.perCpuSecond() / p.perCpuSecond();
            perSecond[i] = c.perSecond() / p.perSecond();
            System.out.printf("pair %d castellan/postfix: messages/s %.2fx, messages per server CPU-second %.2fx%n", i + 1,
                    perSecond[i], perCpu[i]);
        }
        Arrays.sort(perCpu);
        Arrays.sort(perSecond);
        System.out.printf("castellan/postfix over %d pairs: messages per server CPU-second %.2fx-%.2fx (median %.2fx),"
                        + " messages/s %.2fx-%.2fx (median %.2fx); goal >= 2x per CPU-second%n", perCpu.length,
                perCpu[0], perCpu[perCpu.length - 1], perCpu[perCpu.length / 2], perSecond[0],
                perSecond[perSecond.length - 1], perSecond[perSecond.length / 2]);
    }
}
