package org.castellan.bench.imap;

import com.sun.management.UnixOperatingSystemMXBean;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.castellan.bench.StoreDeliveryBench;
import org.castellan.testkit.TestPki;

/**
 * Opens many authenticated IMAP sessions over implicit TLS, each with INBOX selected and in IDLE,
 * and reports what they cost the server in memory: its resident set before and after, per
 * session. While they are held, APPENDs one message into a few accounts from another session and
 * times, for every idling session of those accounts, how long after the APPEND's OK it heard the
 * EXISTS; then opens new sessions at a modest rate (connect, TLS handshake, LOGIN, LOGOUT) and
 * times each: what a user logging in meets on a server that holds them all, beside the same
 * logins before any session was held (on a shared machine the difference is the figure).
 *
 * <p>Castellan runs in a child JVM; its figure is VmRSS from /proc/PID/status, and the live heap
 * after a full GC ({@code jcmd GC.run}, {@code GC.heap_info}) is printed next to it, with the
 * classes whose live heap grew most per session when asked ({@code histogram=yes}), and the
 * growth of each native memory area when the server runs with
 * {@code -XX:NativeMemoryTracking=summary} (through {@value CastellanImap#SERVER_JVM_OPTIONS}). Dovecot (optional: one imap process per
 * session makes it heavy) is measured as the sum of its processes' proportional set sizes.
 *
 * <p>Sessions are spread over accounts, {@value #SESSIONS_PER_ACCOUNT} per account, so that no
 * server's per-user connection limit is what is measured, and over source addresses 127.0.0.2,
 * 127.0.0.3 and on ({@code perSource} sessions each, 20,000 unless told), so that no address runs
 * out of ephemeral ports (32768-60999 by default on Linux); the new logins come from 127.0.1.1, a
 * network of their own. Castellan's caps on connections per address and per network are lifted
 * on the benchmark's listener and {@code server.max-connections} raised to the sessions held (the
 * benchmark prints the lines); its defaults are not what this measures.
 *
 * <p>Each session takes a file descriptor at both ends, and Castellan serves at most half its
 * descriptor limit (a connection may need a second one to spool a message). Both JVMs run with the
 * hard limit, which {@code castellan-bench/run} raises where it may; a run that the limit would
 * cut short is refused before it starts, with the limit named.
 *
 * <p>Arguments: {@code [sessions=10000] [wakeAccounts=5] [dovecot=no|yes] [histogram=no|yes]
 * [perSource=20000] [loginSeconds=20]}.
 */
public final class IdleSessionsBench {

    static final int SESSIONS_PER_ACCOUNT = 100;
    /** TLS handshakes and logins in flight at once while opening: enough to be quick, few enough not to time out. */
    private static final int OPENING_CONCURRENCY = 64;
    /** New logins that take longer than this are a failure, not a figure. */
    private static final long LIMIT_SECONDS = 600;
    /**
     * Opening in which no session reaches IDLE or fails for this long is stuck. Not a limit on the
     * whole: 100,000 sessions take minutes on two shared cores.
     */
    private static final long STALL_SECONDS = 120;
    /** Sessions opened and closed before the first measurement: JIT, pools, caches. */
    private static final int WARM_UP_SESSIONS = 200;
    /** Connections beyond the idling sessions: the APPENDing sessions, the new logins, the warm-up's closing ones. */
    private static final int HEADROOM = 100;
    /** New login cycles per second while the sessions are held: a modest rate, one every 100 ms. */
    private static final int LOGINS_PER_SECOND = 10;
    /** The address the new logins come from, outside the idling sessions' 127.0.0.0/24. */
    private static final String LOGIN_SOURCE = "127.0.1.1";

    /** Reads of the server's memory, half a second apart, before it counts as settled anyway. */
    private static final int SETTLE_READS = 20;

    /** Classes of the heap histogram's growth printed: enough to hold every per-session class. */
    private static final int HISTOGRAM_LINES = 40;

    private IdleSessionsBench() {}

    /** The run's shape, from the arguments. */
    record Options(int sessions, int wakeAccounts, boolean dovecot, boolean histogram, int perSource, int loginSeconds) {
        static Options parse(String[] args) {
            return new Options(args.length > 0 ? Integer.parseInt(args[0]) : 10_000,
                    args.length > 1 ? Integer.parseInt(args[1]) : 5,
                    args.length > 2 && args[2].equals("yes"),
                    args.length > 3 && args[3].equals("yes"),
                    args.length > 4 ? Integer.parseInt(args[4]) : 20_000,
                    args.length > 5 ? Integer.parseInt(args[5]) : 20);
        }
    }

    public static void main(String[] args) throws Exception {
        Options o = Options.parse(args);
        long descriptors = descriptorLimit();
        String refusal = tooFewDescriptors(o.sessions(), descriptors);
        if (refusal != null) {
            System.err.println(refusal);
            System.exit(2);
        }
        Path dir = Files.createTempDirectory("castellan-bench-idle");
        // Also when the run is interrupted (Ctrl-C, kill), which skips the finally below.
        Thread cleanUp = new Thread(() -> delete(dir));
        Runtime.getRuntime().addShutdownHook(cleanUp);
        try {
            run(o, dir, descriptors);
        } finally {
            delete(dir);
            Runtime.getRuntime().removeShutdownHook(cleanUp);
        }
    }

    /** Deletes the run's directory; a failure is reported, not thrown, so that it hides no failure of the run. */
    private static void delete(Path dir) {
        try {
            if (Files.exists(dir)) StoreDeliveryBench.deleteTree(dir);
        } catch (IOException | RuntimeException e) {
            System.err.println("could not delete " + dir + ": " + e);
        }
    }

    private static void run(Options o, Path dir, long descriptors) throws Exception {
        TestPki pki = TestPki.create(Files.createDirectories(dir.resolve("test-pki")));
        int accounts = Math.max(1, (o.sessions() + SESSIONS_PER_ACCOUNT - 1) / SESSIONS_PER_ACCOUNT);
        List<String> users = new ArrayList<>();
        for (int i = 1; i <= accounts; i++) users.add("idle" + i + "@bench.test");
        int sources = (o.sessions() + o.perSource() - 1) / o.perSource();
        System.out.printf("IMAP idle sessions: %d sessions in IDLE over implicit TLS, %d accounts, from %d source addresses"
                        + " (127.0.0.2-%s), then a delivery to %d accounts and %d s of new logins, in %s%n",
                o.sessions(), accounts, sources, source(o.sessions() - 1, o.perSource()).getHostAddress(),
                Math.min(o.wakeAccounts(), accounts), o.loginSeconds(), dir);
        System.out.printf("machine: %d CPUs, %s %s, load average %s; file descriptors: %d per process (both JVMs),"
                        + " fs.nr_open %s, fs.file-max %s%n",
                Runtime.getRuntime().availableProcessors(), System.getProperty("os.name"), System.getProperty("os.version"),
                MixedWorkloadBench.loadAverage(), descriptors, sysctl("fs/nr_open"), sysctl("fs/file-max"));
        List<String> serverConfig = List.of("max-connections = " + (o.sessions() + HEADROOM));
        List<String> imapsConfig = List.of("max-connections-per-address = 0", "max-connections-per-network = 0");
        System.out.println("castellan configured for the benchmark: [server] " + String.join(", ", serverConfig)
                + "; imaps listener " + String.join(", ", imapsConfig));

        try (CastellanImap server = CastellanImap.start(dir.resolve("castellan"), pki, users, MixedWorkloadBench.PASSWORD,
                List.of(), serverConfig, imapsConfig, List.of())) {
            run(server, pki, users, o, o.histogram());
        }
        if (o.dovecot()) {
            try (Dovecot server = Dovecot.start(dir.resolve("dovecot"), pki, users, MixedWorkloadBench.PASSWORD, o.sessions())) {
                run(server, pki, users, o, false);
            }
        }
    }

    /**
     * Why {@code sessions} cannot be held with {@code descriptors} per process, or null if they
     * can: the server serves at most half its limit, and this process holds one per session.
     */
    static String tooFewDescriptors(int sessions, long descriptors) {
        long needed = (long) DESCRIPTORS_PER_SERVER_CONNECTION * (sessions + HEADROOM);
        if (descriptors >= needed) return null;
        return String.format("%d sessions need a file-descriptor limit of at least %d in each process (Castellan serves at"
                        + " most half its limit, and %d more connections run beside the sessions); this process has %d, its"
                        + " hard limit, which castellan-bench/run raises only where it may (root with CAP_SYS_RESOURCE; fs.nr_open"
                        + " is %s). Raise the hard limit before castellan-bench/run (ulimit -Hn %d, or LimitNOFILE= for a"
                        + " service), or run at most %d sessions.",
                sessions, needed, HEADROOM, descriptors, sysctl("fs/nr_open"), needed,
                Math.max(0, descriptors / DESCRIPTORS_PER_SERVER_CONNECTION - HEADROOM));
    }

    /** What Castellan reserves per connection when it sets its ceiling (StartChecks). */
    private static final int DESCRIPTORS_PER_SERVER_CONNECTION = 2;

    /** This process's descriptor limit: the JVM has raised its soft limit to the hard one, and the server inherits it. */
    private static long descriptorLimit() {
        return ManagementFactory.getOperatingSystemMXBean() instanceof UnixOperatingSystemMXBean unix
                ? unix.getMaxFileDescriptorCount() : Long.MAX_VALUE;
    }

    private static String sysctl(String name) {
        try {
            return Files.readAllLines(Path.of("/proc/sys", name)).getFirst().strip(); // readString stops short on /proc
        } catch (IOException | java.util.NoSuchElementException e) {
            return "unknown";
        }
    }

    /** The source address of the idling session {@code i}: 127.0.0.2 for the first {@code perSource}, and so on. */
    static InetAddress source(int i, int perSource) {
        int n = 2 + i / perSource;
        try {
            return InetAddress.getByAddress(new byte[] {127, (byte) (n >> 16), (byte) (n >> 8), (byte) n});
        } catch (java.net.UnknownHostException e) {
            throw new IllegalStateException(e); // four bytes are always an address
        }
    }

    private static void run(ServerUnderTest server, TestPki pki, List<String> users, Options o, boolean histogram)
            throws Exception {
        int sessions = o.sessions();
        try (ImapClient client = new ImapClient(pki.trustFile())) {
            Fill.run(client, server.port(), users, 1, MessageSizes.parse("2048"));
            try (ImapClient warmUp = new ImapClient(pki.trustFile())) {
                open(warmUp, server.port(), users, Math.min(WARM_UP_SESSIONS, sessions), o.perSource());
            }
            // The same logins with no session held: what the machine gives them today, to read the held run against.
            logins(server, pki, users, o.loginSeconds(), "with no session held");
            Jvm jvm = server instanceof CastellanImap ? new Jvm(server.pid()) : null;
            if (jvm != null) jvm.gc();
            long before = settledKb(server);
            long heapBefore = jvm == null ? 0 : jvm.heapUsedKb();
            long clientBefore = ServerUnderTest.rssKb(ProcessHandle.current().pid());
            boolean nmt = jvm != null && jvm.nativeMemoryBaseline();
            java.util.Map<String, long[]> classesBefore = histogram && jvm != null ? jvm.histogram() : null;
            long t0 = System.nanoTime();
            Opened opened = open(client, server.port(), users, sessions, o.perSource());
            double openSeconds = (System.nanoTime() - t0) / 1e9;
            if (jvm != null) jvm.gc();
            long atOnce = server.memoryKb();
            long after = settledKb(server);
            long clientAfter = ServerUnderTest.rssKb(ProcessHandle.current().pid());
            System.out.printf("%-10s opened %d sessions in IDLE in %.1f s (errors %d); memory %d KiB -> %d KiB: %.1f KiB/session"
                            + " (%.1f KiB/session read at once after the full GC)%n",
                    server.name(), opened.idling.size(), openSeconds, opened.errors.get(), before, after,
                    (after - before) / (double) sessions, (atOnce - before) / (double) sessions);
            if (jvm != null) {
                long heapAfter = jvm.heapUsedKb();
                System.out.printf("%-10s live heap after full GC %d KiB -> %d KiB: %.1f KiB/session%n", "", heapBefore, heapAfter,
                        (heapAfter - heapBefore) / (double) sessions);
                if (classesBefore != null) System.out.print(growth(classesBefore, jvm.histogram(), sessions, HISTOGRAM_LINES));
                if (nmt) System.out.print(jvm.nativeMemoryDiff());
            }
            System.out.printf("%-10s the benchmark's own RSS %d KiB -> %d KiB: %.1f KiB/session (client side, for scale)%n", "",
                    clientBefore, clientAfter, (clientAfter - clientBefore) / (double) sessions);
            wake(client, server.port(), users.subList(0, Math.min(o.wakeAccounts(), users.size())), opened);
            logins(server, pki, users, o.loginSeconds(), "while they are held");
            long stillIdling = opened.idling.stream().filter(i -> !i.closed).count();
            System.out.printf("%-10s %d of %d sessions still open at the end; load average %s%n", "", stillIdling,
                    opened.idling.size(), MixedWorkloadBench.loadAverage());
        }
    }

    /**
     * The server's memory once it has stopped moving: after a full GC, G1 gives back the heap it
     * shrank on a thread of its own, after jcmd has returned, so a read at once may still count
     * regions on their way out (and by how much varies from run to run).
     */
    private static long settledKb(ServerUnderTest server) throws IOException, InterruptedException {
        long last = server.memoryKb();
        for (int i = 0; i < SETTLE_READS; i++) {
            TimeUnit.MILLISECONDS.sleep(500);
            long now = server.memoryKb();
            if (Math.abs(now - last) <= last / 200) return now; // within 0.5 %
            last = now;
        }
        return last;
    }

    /** The sessions in IDLE, by account index, and how many failed to get there. */
    record Opened(Collection<Idler> idling, AtomicLong errors) {
    }

    /** One idling session: its account, when it heard an EXISTS (0 until then), whether the server closed it. */
    static final class Idler {
        final int account;
        volatile long heardNanos;
        volatile boolean closed;

        Idler(int account) {
            this.account = account;
        }
    }

    private static Opened open(ImapClient client, int port, List<String> users, int sessions, int perSource)
            throws InterruptedException {
        // Not a copy-on-write list: 100,000 additions would copy it 100,000 times.
        Collection<Idler> idling = new ConcurrentLinkedQueue<>();
        AtomicLong errors = new AtomicLong();
        CountDownLatch settled = new CountDownLatch(sessions);
        Semaphore inFlight = new Semaphore(OPENING_CONCURRENCY);
        for (int i = 0; i < sessions; i++) {
            if (!inFlight.tryAcquire(STALL_SECONDS, TimeUnit.SECONDS)) {
                throw new IllegalStateException("no session reached IDLE or failed for " + STALL_SECONDS + " s, after "
                        + i + " of " + sessions + " were started");
            }
            int account = i % users.size();
            String user = users.get(account);
            Idler idler = new Idler(account);
            client.connect(source(i, perSource), port, new ImapClient.Handler() {
                boolean idle;

                @Override
                public void greeted(ImapClient.Connection c, String greeting) {
                    Fill.login(c, user);
                }

                @Override
                public void untagged(ImapClient.Connection c, String line) {
                    if (!idle && line.startsWith("+")) {
                        idle = true;
                        idling.add(idler);
                        inFlight.release();
                        settled.countDown();
                    } else if (idle && line.endsWith(" EXISTS") && idler.heardNanos == 0) {
                        idler.heardNanos = System.nanoTime();
                    }
                }

                @Override
                public void tagged(ImapClient.Connection c, String tag, String status, String line) {
                    if (!status.equals("OK")) {
                        fail(line);
                        c.close();
                    } else if (tag.equals("l")) {
                        c.send("s SELECT INBOX\r\n");
                    } else if (tag.equals("s")) {
                        c.send("i IDLE\r\n");
                    }
                }

                @Override
                public void closed(ImapClient.Connection c, Throwable cause) {
                    idler.closed = true;
                    if (!idle) fail(cause == null ? "closed before IDLE" : cause.toString());
                }

                private void fail(String why) {
                    if (idle) return;
                    idle = true; // settled, one way or the other
                    if (errors.incrementAndGet() == 1) System.out.println("first error: " + why);
                    inFlight.release();
                    settled.countDown();
                }
            }).addListener(f -> {
                if (!f.isSuccess()) {
                    if (errors.incrementAndGet() == 1) System.out.println("first error: " + f.cause());
                    inFlight.release();
                    settled.countDown();
                }
            });
        }
        for (long left = settled.getCount(); !settled.await(STALL_SECONDS, TimeUnit.SECONDS); left = settled.getCount()) {
            if (settled.getCount() == left) {
                throw new IllegalStateException(left + " sessions neither reached IDLE nor failed for " + STALL_SECONDS + " s");
            }
        }
        return new Opened(idling, errors);
    }

    /**
     * APPENDs one message into each account in {@code accounts} and times, for each of their
     * idlers, the EXISTS from the OK of its account's APPEND: how long a delivery, once committed,
     * takes to reach every session in IDLE on that mailbox. An EXISTS may even arrive before the
     * OK (the server tells the idlers as it commits); that counts as 0.
     */
    private static void wake(ImapClient client, int port, List<String> accounts, Opened opened) throws InterruptedException {
        List<Idler> expected = opened.idling.stream().filter(i -> i.account < accounts.size()).toList();
        java.util.Map<Integer, Long> appendedAt = new java.util.concurrent.ConcurrentHashMap<>();
        long t0 = System.nanoTime();
        Fill.run(client, port, accounts, 1, MessageSizes.parse("2048"),
                user -> appendedAt.put(accounts.indexOf(user), System.nanoTime()));
        long appended = System.nanoTime();
        long limit = appended + TimeUnit.SECONDS.toNanos(60);
        ConcurrentLinkedQueue<Idler> waiting = new ConcurrentLinkedQueue<>(expected);
        while (!waiting.isEmpty() && System.nanoTime() < limit) {
            waiting.removeIf(i -> i.heardNanos != 0);
            if (!waiting.isEmpty()) TimeUnit.MILLISECONDS.sleep(10);
        }
        Latencies delays = new Latencies();
        long heard = 0;
        for (Idler i : expected) {
            if (i.heardNanos == 0) continue;
            heard++;
            delays.add(Math.max(0, i.heardNanos - appendedAt.get(i.account)));
        }
        Latencies.Summary d = delays.take();
        System.out.printf("%-10s delivery to %d accounts woke %d of %d idling sessions (APPENDs took %.0f ms); EXISTS after"
                        + " its APPEND's OK: p50 %.1f ms, p99 %.1f ms, max %.1f ms%n",
                "", accounts.size(), heard, expected.size(), (appended - t0) / 1e6, d.p50(), d.p99(), d.max());
    }

    /**
     * For {@code seconds}, starts {@value #LOGINS_PER_SECOND} new sessions a second from
     * {@value #LOGIN_SOURCE} on a client of their own (so that the idling sessions' event loop is
     * not what they wait for), each a connect, a full TLS handshake, LOGIN and LOGOUT, and
     * reports the time each took, with the server's CPU over the window.
     */
    private static void logins(ServerUnderTest server, TestPki pki, List<String> users, int seconds, String when)
            throws Exception {
        if (seconds <= 0) return;
        int cycles = seconds * LOGINS_PER_SECOND;
        Latencies took = new Latencies();
        AtomicLong errors = new AtomicLong();
        CountDownLatch done = new CountDownLatch(cycles);
        InetAddress from = InetAddress.getByName(LOGIN_SOURCE);
        double cpuBefore = server.cpuSeconds();
        long t0 = System.nanoTime();
        try (ImapClient client = new ImapClient(pki.trustFile())) {
            for (int n = 0; n < cycles; n++) {
                long due = t0 + n * TimeUnit.SECONDS.toNanos(1) / LOGINS_PER_SECOND;
                long wait = due - System.nanoTime();
                if (wait > 0) TimeUnit.NANOSECONDS.sleep(wait);
                String user = users.get(n % users.size());
                long start = System.nanoTime();
                client.connect(from, server.port(), new ImapClient.Handler() {
                    boolean ended;

                    @Override
                    public void greeted(ImapClient.Connection c, String greeting) {
                        Fill.login(c, user);
                    }

                    @Override
                    public void untagged(ImapClient.Connection c, String line) { }

                    @Override
                    public void tagged(ImapClient.Connection c, String tag, String status, String line) {
                        if (!status.equals("OK")) {
                            end(line);
                            c.close();
                        } else if (tag.equals("l")) {
                            c.send("q LOGOUT\r\n");
                        } else if (tag.equals("q")) {
                            took.add(System.nanoTime() - start);
                            end(null);
                            c.close();
                        }
                    }

                    @Override
                    public void closed(ImapClient.Connection c, Throwable cause) {
                        end(cause == null ? "closed before LOGOUT's OK" : cause.toString());
                    }

                    private void end(String error) {
                        if (ended) return;
                        ended = true;
                        if (error != null && errors.incrementAndGet() == 1) System.out.println("first login error: " + error);
                        done.countDown();
                    }
                }).addListener(f -> {
                    if (!f.isSuccess()) {
                        if (errors.incrementAndGet() == 1) System.out.println("first login error: " + f.cause());
                        done.countDown();
                    }
                });
            }
            if (!done.await(LIMIT_SECONDS, TimeUnit.SECONDS)) throw new IllegalStateException("new logins are stuck");
        }
        double window = (System.nanoTime() - t0) / 1e9;
        Latencies.Summary l = took.take();
        System.out.printf("%-10s new logins %s: %d in %.1f s (errors %d), connect + TLS handshake + LOGIN +"
                        + " LOGOUT p50 %.1f ms, p99 %.1f ms, max %.1f ms; server CPU %.1f s%n",
                "", when, l.count(), window, errors.get(), l.p50(), l.p99(), l.max(), server.cpuSeconds() - cpuBefore);
    }

    /**
     * The classes whose live heap grew most while the sessions opened, per session: what one idle
     * session holds, without the classes the server had loaded and cached before.
     */
    static String growth(java.util.Map<String, long[]> before, java.util.Map<String, long[]> after, int sessions, int lines) {
        record Grown(String name, long instances, long bytes) {}
        List<Grown> grown = new ArrayList<>();
        after.forEach((name, a) -> {
            long[] b = before.getOrDefault(name, new long[2]);
            if (a[1] > b[1]) grown.add(new Grown(name, a[0] - b[0], a[1] - b[1]));
        });
        grown.sort(java.util.Comparator.comparingLong(Grown::bytes).reversed());
        StringBuilder out = new StringBuilder(String.format("%-10s live heap growth by class, per session:%n", ""));
        for (Grown g : grown.subList(0, Math.min(lines, grown.size()))) {
            out.append(String.format("%-10s %8.1f B %6.2f objects  %s%n", "", g.bytes() / (double) sessions,
                    g.instances() / (double) sessions, g.name()));
        }
        return out.toString();
    }

    /** The server JVM, through jcmd from the JDK this benchmark runs on. */
    private record Jvm(long pid) {
        void gc() throws IOException, InterruptedException {
            jcmd("GC.run");
        }

        /** "used" of the heap after the last GC, from GC.heap_info's first line. */
        long heapUsedKb() throws IOException, InterruptedException {
            String info = jcmd("GC.heap_info");
            var m = java.util.regex.Pattern.compile("used (\\d+)K").matcher(info);
            return m.find() ? Long.parseLong(m.group(1)) : -1;
        }

        /** Live instances and bytes by class, from GC.class_histogram (which runs a full GC first). */
        java.util.Map<String, long[]> histogram() throws IOException, InterruptedException {
            java.util.Map<String, long[]> out = new java.util.HashMap<>();
            var row = java.util.regex.Pattern.compile("^\\s*\\d+:\\s+(\\d+)\\s+(\\d+)\\s+(\\S+)");
            for (String line : jcmd("GC.class_histogram").split("\n")) {
                var m = row.matcher(line);
                if (m.find()) out.put(m.group(3), new long[] {Long.parseLong(m.group(1)), Long.parseLong(m.group(2))});
            }
            return out;
        }

        /**
         * Starts a native-memory baseline when the server runs with
         * {@code -XX:NativeMemoryTracking=summary} (set through {@value CastellanImap#SERVER_JVM_OPTIONS}).
         */
        boolean nativeMemoryBaseline() throws IOException, InterruptedException {
            return !jcmd("VM.native_memory baseline").contains("not enabled");
        }

        /** What each JVM area gained since the baseline, committed memory in KiB. */
        String nativeMemoryDiff() throws IOException, InterruptedException {
            return jcmd("VM.native_memory summary.diff scale=KB");
        }

        private String jcmd(String command) throws IOException, InterruptedException {
            Path java = Path.of(ProcessHandle.current().info().command().orElseThrow());
            Path jcmd = java.resolveSibling("jcmd");
            List<String> argv = new ArrayList<>(List.of(jcmd.toString(), Long.toString(pid)));
            argv.addAll(Arrays.asList(command.split(" ")));
            Process p = new ProcessBuilder(argv).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (p.waitFor() != 0) throw new IllegalStateException("jcmd " + command + " failed: " + out);
            return out;
        }
    }
}
