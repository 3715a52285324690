package org.castellan.bench.imap;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.castellan.testkit.TestPki;

/**
 * Opens many authenticated IMAP sessions over implicit TLS, each with INBOX selected and in IDLE,
 * and reports what they cost the server in memory: its resident set before and after, per
 * session. Then APPENDs one message into a few accounts from another session and checks that
 * every idling session of those accounts hears the EXISTS.
 *
 * <p>Castellan runs in a child JVM; its figure is VmRSS from /proc/PID/status, and the live heap
 * after a full GC ({@code jcmd GC.run}, {@code GC.heap_info}) is printed next to it, with the
 * classes whose live heap grew most per session when asked ({@code histogram=yes}), and the
 * growth of each native memory area when the server runs with
 * {@code -XX:NativeMemoryTracking=summary} (through {@value CastellanImap#SERVER_JVM_OPTIONS}). Dovecot (optional: one imap process per
 * session makes it heavy) is measured as the sum of its processes' proportional set sizes.
 *
 * <p>Sessions are spread over accounts, {@value #SESSIONS_PER_ACCOUNT} per account, so that no
 * server's per-user connection limit is what is measured. Both ends share the machine's file
 * descriptor limit ({@code ulimit -n}): 10,000 sessions need about 10,100 in the server and as
 * many in this process.
 *
 * <p>Arguments: {@code [sessions=10000] [wakeAccounts=5] [dovecot=no|yes] [histogram=no|yes]}.
 */
public final class IdleSessionsBench {

    static final int SESSIONS_PER_ACCOUNT = 100;
    /** TLS handshakes and logins in flight at once while opening: enough to be quick, few enough not to time out. */
    private static final int OPENING_CONCURRENCY = 64;
    /** Opening or waking that takes longer than this is a failure, not a figure. */
    private static final long LIMIT_SECONDS = 600;
    /** Sessions opened and closed before the first measurement: JIT, pools, caches. */
    private static final int WARM_UP_SESSIONS = 200;

    /** Classes of the heap histogram's growth printed: enough to hold every per-session class. */
    private static final int HISTOGRAM_LINES = 40;

    private IdleSessionsBench() {}

    public static void main(String[] args) throws Exception {
        int sessions = args.length > 0 ? Integer.parseInt(args[0]) : 10_000;
        int wakeAccounts = args.length > 1 ? Integer.parseInt(args[1]) : 5;
        boolean dovecot = args.length > 2 && args[2].equals("yes");
        boolean histogram = args.length > 3 && args[3].equals("yes");
        Path dir = Files.createTempDirectory("castellan-bench-idle");
        TestPki pki = TestPki.create(Files.createDirectories(dir.resolve("test-pki")));
        int accounts = Math.max(1, (sessions + SESSIONS_PER_ACCOUNT - 1) / SESSIONS_PER_ACCOUNT);
        List<String> users = new ArrayList<>();
        for (int i = 1; i <= accounts; i++) users.add("idle" + i + "@bench.test");
        System.out.printf("IMAP idle sessions: %d sessions in IDLE over implicit TLS, %d accounts, then a delivery to %d of them, in %s%n",
                sessions, accounts, Math.min(wakeAccounts, accounts), dir);
        System.out.printf("machine: %d CPUs, %s %s; ulimit -n applies to both processes%n",
                Runtime.getRuntime().availableProcessors(), System.getProperty("os.name"), System.getProperty("os.version"));

        try (CastellanImap server = CastellanImap.start(dir.resolve("castellan"), pki, users, MixedWorkloadBench.PASSWORD, List.of())) {
            run(server, pki, users, sessions, wakeAccounts, histogram);
        }
        if (dovecot) {
            try (Dovecot server = Dovecot.start(dir.resolve("dovecot"), pki, users, MixedWorkloadBench.PASSWORD, sessions)) {
                run(server, pki, users, sessions, wakeAccounts, false);
            }
        }
    }

    private static void run(ServerUnderTest server, TestPki pki, List<String> users, int sessions, int wakeAccounts,
                            boolean histogram) throws Exception {
        try (ImapClient client = new ImapClient(pki.trustFile())) {
            Fill.run(client, server.port(), users, 1, MessageSizes.parse("2048"));
            try (ImapClient warmUp = new ImapClient(pki.trustFile())) {
                open(warmUp, server.port(), users, Math.min(WARM_UP_SESSIONS, sessions));
            }
            Jvm jvm = server instanceof CastellanImap ? new Jvm(server.pid()) : null;
            if (jvm != null) jvm.gc();
            long before = server.memoryKb();
            long heapBefore = jvm == null ? 0 : jvm.heapUsedKb();
            boolean nmt = jvm != null && jvm.nativeMemoryBaseline();
            java.util.Map<String, long[]> classesBefore = histogram && jvm != null ? jvm.histogram() : null;
            long t0 = System.nanoTime();
            Opened opened = open(client, server.port(), users, sessions);
            double openSeconds = (System.nanoTime() - t0) / 1e9;
            if (jvm != null) jvm.gc();
            long after = server.memoryKb();
            System.out.printf("%-10s opened %d sessions in IDLE in %.1f s (errors %d); memory %d KiB -> %d KiB: %.1f KiB/session%n",
                    server.name(), opened.idling.size(), openSeconds, opened.errors.get(), before, after,
                    (after - before) / (double) sessions);
            if (jvm != null) {
                long heapAfter = jvm.heapUsedKb();
                System.out.printf("%-10s live heap after full GC %d KiB -> %d KiB: %.1f KiB/session%n", "", heapBefore, heapAfter,
                        (heapAfter - heapBefore) / (double) sessions);
                if (classesBefore != null) System.out.print(growth(classesBefore, jvm.histogram(), sessions, HISTOGRAM_LINES));
                if (nmt) System.out.print(jvm.nativeMemoryDiff());
            }
            wake(client, server.port(), users.subList(0, Math.min(wakeAccounts, users.size())), opened);
        }
    }

    /** The sessions in IDLE, by account index, and how many failed to get there. */
    record Opened(List<Idler> idling, AtomicLong errors) {
    }

    /** One idling session: its account, and when it heard an EXISTS (0 until then). */
    static final class Idler {
        final int account;
        volatile long heardNanos;

        Idler(int account) {
            this.account = account;
        }
    }

    private static Opened open(ImapClient client, int port, List<String> users, int sessions) throws InterruptedException {
        List<Idler> idling = new java.util.concurrent.CopyOnWriteArrayList<>();
        AtomicLong errors = new AtomicLong();
        CountDownLatch settled = new CountDownLatch(sessions);
        Semaphore inFlight = new Semaphore(OPENING_CONCURRENCY);
        for (int i = 0; i < sessions; i++) {
            inFlight.acquire();
            int account = i % users.size();
            String user = users.get(account);
            Idler idler = new Idler(account);
            client.connect(port, new ImapClient.Handler() {
                boolean idle;

                @Override
                public void greeted(ImapClient.Connection c, String greeting) {
                    c.send("l LOGIN " + user + " \"" + MixedWorkloadBench.PASSWORD + "\"\r\n");
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
        if (!settled.await(LIMIT_SECONDS, TimeUnit.SECONDS)) {
            throw new IllegalStateException(settled.getCount() + " sessions neither reached IDLE nor failed");
        }
        return new Opened(idling, errors);
    }

    /** APPENDs one message into each account in {@code accounts} and waits for their idlers to hear it. */
    private static void wake(ImapClient client, int port, List<String> accounts, Opened opened) throws InterruptedException {
        List<Idler> expected = opened.idling.stream().filter(i -> i.account < accounts.size()).toList();
        long t0 = System.nanoTime();
        Fill.run(client, port, accounts, 1, MessageSizes.parse("2048"));
        long appended = System.nanoTime();
        long limit = appended + TimeUnit.SECONDS.toNanos(60);
        ConcurrentLinkedQueue<Idler> waiting = new ConcurrentLinkedQueue<>(expected);
        while (!waiting.isEmpty() && System.nanoTime() < limit) {
            waiting.removeIf(i -> i.heardNanos != 0);
            if (!waiting.isEmpty()) Thread.onSpinWait();
            if (!waiting.isEmpty()) TimeUnit.MILLISECONDS.sleep(10);
        }
        long[] delays = expected.stream().filter(i -> i.heardNanos != 0).mapToLong(i -> i.heardNanos - t0).sorted().toArray();
        System.out.printf("%-10s delivery to %d accounts woke %d of %d idling sessions (APPENDs took %.0f ms; EXISTS from the first APPEND's start: p50 %.1f ms, max %.1f ms)%n",
                "", accounts.size(), delays.length, expected.size(), (appended - t0) / 1e6,
                delays.length == 0 ? Double.NaN : delays[delays.length / 2] / 1e6,
                delays.length == 0 ? Double.NaN : Arrays.stream(delays).max().getAsLong() / 1e6);
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
