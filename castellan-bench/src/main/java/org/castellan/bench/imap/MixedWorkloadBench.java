package org.castellan.bench.imap;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.IntUnaryOperator;
import java.util.function.LongFunction;
import org.castellan.testkit.TestPki;

/**
 * N clients, each with its own account, run imaptest-like sessions back to back over implicit
 * TLS: connect, LOGIN, LIST, STATUS, SELECT, FETCH flags of all, FETCH ENVELOPE of ten, FETCH a
 * whole message, STORE a flag, APPEND, STORE \Deleted, EXPUNGE, LOGOUT. Each INBOX is pre-filled
 * and keeps its size (one APPEND and one EXPUNGE per session). One command at a time per
 * session, so a command's latency is from sending it to its tagged reply.
 *
 * <p>The same load runs against Castellan (a child JVM, default settings) and Dovecot (see
 * {@link Dovecot}) in one run. Reported: commands/s, p50/p99 latency, server CPU-ms per command
 * and the ratios. The load generator ({@link ImapClient}: one Netty thread, BoringSSL) shares the
 * machine and is kept cheap; its CPU is not counted.
 *
 * <p>Two modes: {@code mix}, the sessions above back to back (a login per twelve commands), and
 * {@code open}, sessions kept open as mail programs keep them: LOGIN once, then LIST … EXPUNGE over
 * and over, LOGOUT when the window ends. Both servers run for the whole invocation and take turns
 * window by window, {@code pairs} times; the summary gives each figure as median [min-max] over the
 * pairs and Castellan's ratios to Dovecot pair by pair.
 *
 * <p>Arguments: {@code [clients=50] [seconds=20] [messages=100] [messageBytes=4096|mix] [dovecot=yes|no]
 * [mode=mix|open] [pairs=3] [warmup=15]}: {@code mix} as the message size fills and APPENDs messages of mixed sizes up
 * to 400 KB ({@link MessageSizes}).
 */
public final class MixedWorkloadBench {

    public static final String PASSWORD = "bench password 1";
    /**
     * Each server's load before its first measured window, by default: Castellan's JIT compiler is
     * still busy for tens of seconds on a loaded 2-core machine (C2 compiling FETCH's response
     * path alone takes a second), and its CPU counted in a short window is warm-up, not the steady
     * state mail programs meet; Dovecot fills its first indexes meanwhile.
     */
    private static final int WARM_UP_SECONDS = 15;
    /** A session that makes no progress for this long is stuck: the run fails rather than hangs. */
    private static final long STUCK_SECONDS = 120;

    private MixedWorkloadBench() {}

    /** The session script's commands, in order; {@code a1} is LOGIN, {@code a12} LOGOUT. */
    static final List<String> COMMANDS = List.of("LOGIN", "LIST", "STATUS", "SELECT", "FETCH-FLAGS", "FETCH-ENVELOPE",
            "FETCH-BODY", "STORE", "APPEND", "STORE-DELETED", "EXPUNGE", "LOGOUT");

    record Result(String name, long commands, long sessions, double seconds, long[] latencies, double cpuSeconds, long errors,
                  double[] medianByCommand) {
        double perSecond() { return commands / seconds; }

        double percentileMillis(double p) {
            if (latencies.length == 0) return Double.NaN;
            return latencies[(int) Math.min(latencies.length - 1, Math.floor(p * latencies.length))] / 1e6;
        }

        double cpuPerCommandMillis() { return cpuSeconds * 1000 / commands; }

        void print() {
            System.out.printf("%-10s %8d cmds %6d sessions %8.1f cmd/s   p50 %6.2f ms   p99 %7.2f ms   server CPU %6.3f ms/cmd   errors %d%n",
                    name, commands, sessions, perSecond(), percentileMillis(0.5), percentileMillis(0.99), cpuPerCommandMillis(), errors);
            StringBuilder b = new StringBuilder(String.format("%-10s p50 by command:", ""));
            for (int i = 0; i < COMMANDS.size(); i++) b.append(String.format(" %s %.2f", COMMANDS.get(i), medianByCommand[i]));
            System.out.println(b.append(" ms"));
        }
    }

    /** How sessions run: {@code mix} connects, logs in and out per script; {@code open} logs in once and keeps going. */
    enum Mode { MIX, OPEN }

    /** The open mode repeats LIST … EXPUNGE between its one LOGIN and its LOGOUT. */
    private static final int FIRST_REPEATED = 2;
    private static final int LAST_REPEATED = 11;

    public static void main(String[] args) throws Exception {
        int clients = args.length > 0 ? Integer.parseInt(args[0]) : 50;
        int seconds = args.length > 1 ? Integer.parseInt(args[1]) : 20;
        int messages = args.length > 2 ? Integer.parseInt(args[2]) : 100;
        MessageSizes sizes = MessageSizes.parse(args.length > 3 ? args[3] : "4096");
        boolean dovecot = args.length <= 4 || !args[4].equals("no");
        Mode mode = args.length > 5 ? Mode.valueOf(args[5].toUpperCase(java.util.Locale.ROOT)) : Mode.MIX;
        int pairs = args.length > 6 ? Integer.parseInt(args[6]) : 3;
        int warmUp = args.length > 7 ? Integer.parseInt(args[7]) : WARM_UP_SECONDS;
        Path dir = Files.createTempDirectory("castellan-bench-imap");
        TestPki pki = TestPki.create(Files.createDirectories(dir.resolve("test-pki")));
        List<String> users = new ArrayList<>();
        for (int i = 1; i <= clients; i++) users.add("bench" + i + "@bench.test");
        System.out.printf("IMAP mixed workload, %s: %d clients, %d pairs of %d s windows after %d s of warm-up each,"
                + " INBOX of %d messages of %s, implicit TLS, in %s%n", mode == Mode.OPEN ? "sessions kept open" : "a session per script",
                clients, pairs, seconds, warmUp, messages, sizes.name(), dir);
        System.out.printf("machine: %d CPUs, %s %s, load average %s%n", Runtime.getRuntime().availableProcessors(),
                System.getProperty("os.name"), System.getProperty("os.version"), loadAverage());

        List<ServerUnderTest> servers = new ArrayList<>();
        try (ImapClient client = new ImapClient(pki.trustFile())) {
            servers.add(CastellanImap.start(dir.resolve("castellan"), pki, users, PASSWORD, List.of()));
            if (dovecot) servers.add(Dovecot.start(dir.resolve("dovecot"), pki, users, PASSWORD, clients));
            for (ServerUnderTest server : servers) {
                Fill.run(client, server.port(), users, messages, sizes);
                window(server, client, users, warmUp, sizes, mode); // JIT, caches, Dovecot's first indexes
            }
            // Window by window, the servers take turns, so that the machine's drift falls on both.
            List<List<Result>> results = new ArrayList<>();
            for (int pair = 1; pair <= pairs; pair++) {
                List<Result> round = new ArrayList<>();
                for (ServerUnderTest server : servers) {
                    Result r = window(server, client, users, seconds, sizes, mode);
                    System.out.printf("pair %d ", pair);
                    r.print();
                    round.add(r);
                }
                results.add(round);
            }
            summary(results, servers.size());
        } finally {
            for (ServerUnderTest server : servers) server.close();
        }
        System.out.printf("load average at the end %s%n", loadAverage());
    }

    private static Result window(ServerUnderTest server, ImapClient client, List<String> users, int seconds,
                                 MessageSizes sizes, Mode mode) throws Exception {
        double before = server.cpuSeconds();
        Load l = mode == Mode.MIX ? load(client, server.port(), users, seconds, sizes)
                : load(client, server.port(), users, seconds, sizes, deadline -> step -> {
                    if (step != 1 && step != LAST_REPEATED) return step + 1;
                    return System.nanoTime() < deadline ? FIRST_REPEATED : COMMANDS.size();
                }, false);
        double cpu = server.cpuSeconds() - before;
        return new Result(server.name(), l.commands, l.sessions, l.seconds, l.sorted(), cpu, l.errors, l.medians());
    }

    /** Per server, median [min-max] over the pairs; then Castellan's ratios to Dovecot, pair by pair. */
    private static void summary(List<List<Result>> results, int servers) {
        System.out.printf("%nmedian [min-max] over %d pairs%n", results.size());
        for (int s = 0; s < servers; s++) {
            int i = s;
            List<Result> w = results.stream().map(r -> r.get(i)).toList();
            System.out.printf("  %-10s cmd/s %s  p99 ms %s  server CPU ms/cmd %s  cmd per CPU-s %s  errors %d%n",
                    w.get(0).name(), spread(w, Result::perSecond, "%.0f"), spread(w, r -> r.percentileMillis(0.99), "%.2f"),
                    spread(w, Result::cpuPerCommandMillis, "%.3f"), spread(w, r -> 1000 / r.cpuPerCommandMillis(), "%.0f"),
                    w.stream().mapToLong(Result::errors).sum());
        }
        if (servers < 2) return;
        double[] perSecond = results.stream().mapToDouble(r -> r.get(0).perSecond() / r.get(1).perSecond()).toArray();
        double[] perCpu = results.stream()
                .mapToDouble(r -> r.get(1).cpuPerCommandMillis() / r.get(0).cpuPerCommandMillis()).toArray();
        double[] p99 = results.stream()
                .mapToDouble(r -> r.get(0).percentileMillis(0.99) / r.get(1).percentileMillis(0.99)).toArray();
        System.out.printf("  castellan/dovecot: commands/s %sx (goal >= 1.5x), commands per server CPU-s %sx"
                + " (goal >= 1.5x), p99 %sx%n", spread(perSecond, "%.2f"), spread(perCpu, "%.2f"), spread(p99, "%.2f"));
    }

    private static String spread(List<Result> windows, java.util.function.ToDoubleFunction<Result> f, String format) {
        return spread(windows.stream().mapToDouble(f).toArray(), format);
    }

    /** median [min-max] */
    public static String spread(double[] values, String format) {
        double[] v = values.clone();
        Arrays.sort(v);
        double median = v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
        return String.format(format + " [" + format + "-" + format + "]", median, v[0], v[v.length - 1]);
    }

    public static String loadAverage() {
        try {
            return Files.readString(Path.of("/proc/loadavg")).strip();
        } catch (java.io.IOException e) {
            return "unknown";
        }
    }

    /**
     * The command {@code command} (such as {@code a9 APPEND INBOX}) with {@code message} as its
     * LITERAL+ literal (RFC 7888), in one piece to send.
     */
    public static byte[] append(String command, byte[] message) {
        byte[] head = (command + " {" + message.length + "+}\r\n").getBytes(StandardCharsets.US_ASCII);
        byte[] all = Arrays.copyOf(head, head.length + message.length + 2);
        System.arraycopy(message, 0, all, head.length, message.length);
        all[all.length - 2] = '\r';
        all[all.length - 1] = '\n';
        return all;
    }

    /** A plain-text message to {@code user} of about {@code size} bytes, with a random subject. */
    public static byte[] message(String user, int size) {
        StringBuilder b = new StringBuilder("From: carol@example.net\r\nTo: " + user + "\r\nSubject: bench "
                + ThreadLocalRandom.current().nextInt(1_000_000) + "\r\nMessage-ID: <" + System.nanoTime() + "@bench.test>\r\n"
                + "Date: Fri, 1 Mar 2024 10:00:00 +0000\r\n\r\n");
        int line = 0;
        while (b.length() < size) b.append("line ").append(line++).append(' ').append("x".repeat(64)).append("\r\n");
        return b.toString().getBytes(StandardCharsets.US_ASCII);
    }

    /** Everything a run measured; touched only on the client's event loop until the run ends. */
    public static final class Load {
        long commands;
        long sessions;
        long errors;
        double seconds;

        public long commands() { return commands; }

        public long errors() { return errors; }

        public double seconds() { return seconds; }
        private long[] latencies = new long[1 << 16];
        private int n;

        private final List<List<Long>> byCommand = new ArrayList<>();

        Load() {
            for (int i = 0; i < COMMANDS.size(); i++) byCommand.add(new ArrayList<>());
        }

        void latency(int step, long nanos) {
            if (n == latencies.length) latencies = Arrays.copyOf(latencies, n * 2);
            latencies[n++] = nanos;
            byCommand.get(step - 1).add(nanos);
            commands++;
        }

        double[] medians() {
            double[] out = new double[COMMANDS.size()];
            for (int i = 0; i < out.length; i++) {
                List<Long> l = new ArrayList<>(byCommand.get(i));
                java.util.Collections.sort(l);
                out[i] = l.isEmpty() ? Double.NaN : l.get(l.size() / 2) / 1e6;
            }
            return out;
        }

        void error(String what) {
            if (errors++ == 0) System.out.println("first error: " + what);
        }

        long[] sorted() {
            long[] out = Arrays.copyOf(latencies, n);
            Arrays.sort(out);
            return out;
        }
    }

    public static Load load(ImapClient client, int port, List<String> users, int seconds, MessageSizes sizes) throws InterruptedException {
        return load(client, port, users, seconds, sizes, deadline -> step -> step + 1, true);
    }

    /**
     * {@code users.size()} clients for {@code seconds}, each running sessions of the mix's commands
     * in the order {@code script} gives: given the deadline, a function from the step just answered
     * to the next one (steps of {@link #COMMANDS}, from LOGIN to LOGOUT); with {@code again} a
     * client connects again after its LOGOUT until the deadline, otherwise it ends there.
     */
    static Load load(ImapClient client, int port, List<String> users, int seconds, MessageSizes sizes,
                     LongFunction<IntUnaryOperator> script, boolean again) throws InterruptedException {
        Load load = new Load();
        long start = System.nanoTime();
        long deadline = start + TimeUnit.SECONDS.toNanos(seconds);
        CountDownLatch done = new CountDownLatch(users.size());
        for (String user : users) {
            new Session(client, port, user, sizes, deadline, load, done, script.apply(deadline), again).connect();
        }
        if (!done.await(seconds + STUCK_SECONDS, TimeUnit.SECONDS)) {
            throw new IllegalStateException(done.getCount() + " sessions did not finish; the server is stuck");
        }
        load.seconds = (System.nanoTime() - start) / 1e9;
        return load;
    }

    /** One client: sessions back to back until the deadline, each the script's commands. */
    private static final class Session implements ImapClient.Handler {
        private static final int LOGOUT = COMMANDS.size();

        private final ImapClient client;
        private final int port;
        private final String user;
        private final MessageSizes sizes;
        private final long deadline;
        private final Load load;
        private final CountDownLatch done;
        private final IntUnaryOperator script;
        private final boolean again;
        private int step;
        private int exists;
        private boolean failed;

        Session(ImapClient client, int port, String user, MessageSizes sizes, long deadline, Load load, CountDownLatch done,
                IntUnaryOperator script, boolean again) {
            this.client = client;
            this.port = port;
            this.user = user;
            this.sizes = sizes;
            this.deadline = deadline;
            this.load = load;
            this.done = done;
            this.script = script;
            this.again = again;
        }

        void connect() {
            step = 0;
            exists = 0;
            failed = false;
            client.connect(port, this).addListener(f -> {
                if (!f.isSuccess()) {
                    load.error("connect: " + f.cause());
                    done.countDown();
                }
            });
        }

        @Override
        public void greeted(ImapClient.Connection c, String greeting) {
            next(c, 1);
        }

        @Override
        public void untagged(ImapClient.Connection c, String line) {
            if (line.endsWith(" EXISTS")) exists = Integer.parseInt(line.substring(2, line.length() - 7));
        }

        @Override
        public void tagged(ImapClient.Connection c, String tag, String status, String line) {
            long took = System.nanoTime() - c.sentNanos;
            if (step == 1 && line.contains("[UNAVAILABLE]")) {
                // RFC 5530 §3: a temporary refusal, such as a busy login limiter; log in again, as Fill does.
                c.later(() -> next(c, 1), Fill.RETRY_MILLIS);
                return;
            }
            if (!status.equals("OK")) {
                load.error(user + ": " + line);
                failed = true;
                c.close();
                return;
            }
            load.latency(step, took);
            if (step == LOGOUT) {
                load.sessions++;
                c.close();
            } else {
                next(c, script.applyAsInt(step));
            }
        }

        @Override
        public void closed(ImapClient.Connection c, Throwable cause) {
            if (cause != null && !failed) load.error(user + ": " + cause);
            if (step != LOGOUT && !failed && cause == null) load.error(user + ": server closed at step " + step);
            if (again && System.nanoTime() < deadline) connect();
            else done.countDown();
        }

        /** Sends command number {@code next}, tagged with it. */
        private void next(ImapClient.Connection c, int next) {
            step = next;
            send(c, step, user, exists, sizes);
        }
    }

    /**
     * Sends the mix's command number {@code step} (1 = LOGIN ... 12 = LOGOUT, {@link #COMMANDS}),
     * tagged {@code a<step>}, for {@code user} whose selected INBOX has {@code exists} messages.
     */
    static void send(ImapClient.Connection c, int step, String user, int exists, MessageSizes sizes) {
        ThreadLocalRandom r = ThreadLocalRandom.current();
        int msg = exists > 0 ? 1 + r.nextInt(exists) : 1;
        String tag = "a" + step + " ";
        switch (step) {
            case 1 -> c.send(tag + "LOGIN " + user + " \"" + PASSWORD + "\"\r\n");
            case 2 -> c.send(tag + "LIST \"\" \"*\"\r\n");
            case 3 -> c.send(tag + "STATUS INBOX (MESSAGES UNSEEN UIDNEXT)\r\n");
            case 4 -> c.send(tag + "SELECT INBOX\r\n");
            case 5 -> c.send(tag + "FETCH 1:* (FLAGS)\r\n");
            case 6 -> c.send(tag + "FETCH " + Math.max(1, msg - 9) + ":" + msg + " (ENVELOPE)\r\n");
            case 7 -> c.send(tag + "FETCH " + msg + " (BODY.PEEK[])\r\n");
            case 8 -> c.send(tag + "STORE " + msg + (r.nextBoolean() ? " +" : " -") + "FLAGS (\\Seen)\r\n");
            case 9 -> c.send(append(tag + "APPEND INBOX (\\Flagged)", message(user, sizes.next())));
            case 10 -> c.send(tag + "STORE 1 +FLAGS.SILENT (\\Deleted)\r\n");
            case 11 -> c.send(tag + "EXPUNGE\r\n");
            case 12 -> c.send(tag + "LOGOUT\r\n");
            default -> throw new IllegalStateException("step " + step);
        }
    }
}
