package org.castellan.bench.smtp;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;
import org.castellan.bench.ProcessCpu;
import org.castellan.protocol.smtp.Dsn;
import org.castellan.protocol.smtp.SmtpCommand;
import org.castellan.store.embedded.EmbeddedMailStore;
import org.castellan.store.queue.AttemptResult;
import org.castellan.store.queue.DueMessage;
import org.castellan.store.queue.NewQueuedMessage;
import org.castellan.store.queue.NewQueuedRecipient;
import org.castellan.store.queue.QueuedRecipient;
import org.castellan.store.queue.RecipientState;
import org.castellan.testkit.TestPki;

/**
 * A server with a large deferred queue, idle: what it costs to keep 100,000 deferred messages.
 * The messages (10 KB each, each body different) are enqueued through the store's
 * {@link org.castellan.store.queue.OutboundQueue} before the server starts, then leased and
 * recorded as deferred by a 4xx reply with the next attempt an hour away, as a receiver that
 * refused them would leave them; their route leads to a loopback port where nothing listens.
 * The server then starts in its own JVM ({@link ChildServer}) and, after {@code settle} seconds,
 * its RSS (VmRSS, and the peak VmHWM) and CPU are read over {@code seconds}; the threads that used
 * any CPU in that window are listed. For comparison the same is done first with an empty queue.
 *
 * <p>Arguments: {@code [messages=100000] [seconds=60]}, then any of {@code settle=10},
 * {@code threads=8} (enqueueing), {@code messageBytes=10240}, {@code baseline=no}.
 */
final class QueueIdleBench {

    /** The deferral the messages carry, as a receiver that was down would leave it. */
    private static final String DEFERRED_REPLY = "421 4.4.2 next hop down (benchmark)";
    private static final Duration NEXT_ATTEMPT = Duration.ofHours(1);
    /** Recipients leased and recorded per transaction while deferring. */
    private static final int DEFER_BATCH = 1000;

    private QueueIdleBench() {}

    static void main(String[] args) throws Exception {
        Args a = Args.parse(args);
        int messages = Integer.parseInt(a.positional(0, "100000"));
        Duration window = Duration.ofSeconds(Long.parseLong(a.positional(1, "60")));
        Duration settle = Duration.ofSeconds(Long.parseLong(a.named("settle", "10")));
        int threads = Integer.parseInt(a.named("threads", "8"));
        int size = Integer.parseInt(a.named("messageBytes", "10240"));
        boolean baseline = !a.named("baseline", "yes").equals("no");
        Path dir = Files.createTempDirectory("castellan-bench-queue-idle");
        TestPki pki = TestPki.create(Files.createDirectories(dir.resolve("test-pki")));
        String deadHop = deadNextHop();
        System.out.printf("queue idle: %d deferred messages of %d bytes to %s (next hop %s, nothing listening),"
                        + " %d s to settle, then %d s measured; JVM options: %s; in %s%n", messages, size,
                RelayBench.REMOTE_DOMAIN, deadHop, settle.toSeconds(), window.toSeconds(),
                Optional.ofNullable(System.getenv("CASTELLAN_JAVA_OPTS")).orElse("none (JVM defaults)"), dir);
        System.out.printf("machine: %d CPUs, %s %s, %d MB memory, load average %s%n", Runtime.getRuntime().availableProcessors(),
                System.getProperty("os.name"), System.getProperty("os.version"),
                Files.readAllLines(Path.of("/proc/meminfo")).stream().filter(l -> l.startsWith("MemTotal:"))
                        .map(l -> Long.parseLong(l.replaceAll("\\D", "")) / 1024).findFirst().orElse(0L),
                SmtpSubmissionBench.loadAverage());
        SmtpSubmissionBench.Settings settings = new SmtpSubmissionBench.Settings(1, Duration.ZERO, null, false);
        if (baseline) {
            Path config = SmtpSubmissionBench.castellanDataDir(dir.resolve("empty"), pki, RelayBench.relayConfig(deadHop));
            idle("empty queue", config, settings, settle, window);
        }
        Path config = SmtpSubmissionBench.castellanDataDir(dir.resolve("queued"), pki, RelayBench.relayConfig(deadHop));
        fill(dir.resolve("queued/mail"), messages, size, threads);
        idle(messages + " deferred", config, settings, settle, window);
        deleteTree(dir.resolve("queued/mail")); // a gigabyte and more of bodies nobody will read
        System.out.printf("machine load average after the run: %s%n", SmtpSubmissionBench.loadAverage());
    }

    /** A port on 127.0.0.4 where nothing listens: connections are refused at once. */
    private static String deadNextHop() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.4"))) {
            return "127.0.0.4:" + s.getLocalPort();
        }
    }

    /** Enqueues {@code messages} over {@code threads}, then defers every recipient by {@link #NEXT_ATTEMPT}. */
    private static void fill(Path mail, int messages, int size, int threads) throws Exception {
        long start = System.nanoTime();
        AtomicLong next = new AtomicLong();
        try (EmbeddedMailStore store = EmbeddedMailStore.open(mail)) {
            try (ExecutorService pool = Executors.newFixedThreadPool(threads)) {
                List<Future<?>> done = new ArrayList<>();
                for (int t = 0; t < threads; t++) {
                    done.add(pool.submit(() -> {
                        for (long i = next.getAndIncrement(); i < messages; i = next.getAndIncrement()) {
                            store.enqueue(queued(i), new ByteArrayInputStream(body(i, size)));
                        }
                        return null;
                    }));
                }
                for (Future<?> f : done) f.get();
            }
            double enqueued = (System.nanoTime() - start) / 1e9;
            Instant now = Instant.now();
            Instant retry = now.plus(NEXT_ATTEMPT);
            long deferred = 0;
            for (List<DueMessage> due; !(due = store.lease(now, now.plus(Duration.ofMinutes(10)), DEFER_BATCH)).isEmpty(); ) {
                List<AttemptResult> results = new ArrayList<>();
                for (DueMessage m : due) {
                    for (QueuedRecipient r : m.recipients()) {
                        results.add(new AttemptResult(r.id(), RecipientState.QUEUED, now, Optional.of(retry), DEFERRED_REPLY,
                                Optional.of("127.0.0.4")));
                    }
                }
                store.record(results);
                deferred += results.size();
            }
            System.out.printf("filled: %d messages enqueued in %.1f s (%.0f/s, %d threads), %d recipients deferred until %s;"
                            + " %s on disk; load average %s%n", messages, enqueued, messages / enqueued, threads, deferred, retry,
                    megabytes(mail), SmtpSubmissionBench.loadAverage());
        }
    }

    private static NewQueuedMessage queued(long i) {
        return new NewQueuedMessage(SmtpSubmissionBench.USER, Optional.empty(), Dsn.Ret.UNSPECIFIED, SmtpCommand.Body.SEVEN_BIT,
                false, false, Optional.of(SmtpSubmissionBench.USER), "bench.client [127.0.0.1]", Instant.now(),
                List.of(new NewQueuedRecipient("user" + i + "@" + RelayBench.REMOTE_DOMAIN,
                        Set.of(Dsn.Notify.FAILURE, Dsn.Notify.DELAY), Optional.empty())));
    }

    /** A different body for each message, as real mail is: the store keeps each once. */
    private static byte[] body(long i, int size) {
        byte[] base = SmtpSubmissionBench.message(size, "user" + i + "@" + RelayBench.REMOTE_DOMAIN);
        byte[] id = ("Message-ID: <" + i + "@bench.test>\r\n").getBytes(StandardCharsets.US_ASCII);
        byte[] out = new byte[id.length + base.length];
        System.arraycopy(id, 0, out, 0, id.length);
        System.arraycopy(base, 0, out, id.length, base.length);
        return out;
    }

    /** Starts the server on {@code config}, lets it settle, and reads its memory and CPU over {@code window}. */
    private static void idle(String label, Path config, SmtpSubmissionBench.Settings settings, Duration settle, Duration window)
            throws Exception {
        long start = System.nanoTime();
        try (ChildServer server = ChildServer.start(config, settings)) {
            long pid = server.pid();
            double ready = (System.nanoTime() - start) / 1e9;
            Thread.sleep(settle); // the measured window starts after start-up, by design
            System.out.printf("%-16s ready in %.1f s; CPU %.2f s by the end of the settling; threads: %s%n", label, ready,
                    ProcessCpu.treeSeconds(pid), threadNames(pid));
            Map<Long, Long> threadsBefore = threadTicks(pid);
            double cpuBefore = ProcessCpu.treeSeconds(pid);
            long rssBefore = status(pid, "VmRSS");
            String load = SmtpSubmissionBench.loadAverage();
            Thread.sleep(window);
            double cpu = ProcessCpu.treeSeconds(pid) - cpuBefore;
            long rss = status(pid, "VmRSS");
            System.out.printf("%-16s RSS %6.1f MB at the start of the window, %6.1f MB at its end (peak %6.1f MB);"
                            + " CPU %.2f s in %d s (%.2f%% of one core); %d threads; load average %s%n", label,
                    rssBefore / 1024.0, rss / 1024.0, status(pid, "VmHWM") / 1024.0, cpu, window.toSeconds(),
                    100 * cpu / window.toSeconds(), status(pid, "Threads"), load);
            Map<Long, Long> threadsAfter = threadTicks(pid);
            for (Map.Entry<Long, Long> t : threadsAfter.entrySet()) {
                long used = t.getValue() - threadsBefore.getOrDefault(t.getKey(), 0L);
                if (used > 0) System.out.printf("    %-28s %5.2f s%n", threadName(pid, t.getKey()), used / (double) ProcessCpu.CLOCK_TICKS);
            }
        }
    }

    /** A field of /proc/PID/status (proc(5)) as a number: kB for the Vm* ones. */
    private static long status(long pid, String field) throws IOException {
        for (String l : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
            if (l.startsWith(field + ":")) return Long.parseLong(l.substring(field.length() + 1).replaceAll("\\D", ""));
        }
        throw new IllegalStateException("no " + field + " in /proc/" + pid + "/status");
    }

    /** utime + stime of each thread, by thread id. */
    private static Map<Long, Long> threadTicks(long pid) throws IOException {
        Map<Long, Long> ticks = new HashMap<>();
        try (var tasks = Files.list(Path.of("/proc", Long.toString(pid), "task"))) {
            for (Path task : tasks.toList()) {
                try {
                    String stat = Files.readString(task.resolve("stat"));
                    String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
                    ticks.put(Long.parseLong(task.getFileName().toString()), Long.parseLong(f[11]) + Long.parseLong(f[12]));
                } catch (IOException gone) {
                    // the thread ended
                }
            }
        }
        return ticks;
    }

    /** The threads' names (as the kernel keeps them, 15 characters) with how many have each. */
    private static String threadNames(long pid) throws IOException {
        Map<String, Integer> names = new TreeMap<>();
        for (long tid : threadTicks(pid).keySet()) names.merge(threadName(pid, tid), 1, Integer::sum);
        StringBuilder b = new StringBuilder();
        names.forEach((name, n) -> b.append(b.isEmpty() ? "" : ", ").append(name).append(n > 1 ? " x" + n : ""));
        return b.toString();
    }

    private static String threadName(long pid, long tid) {
        try {
            return Files.readString(Path.of("/proc", Long.toString(pid), "task", Long.toString(tid), "comm")).strip();
        } catch (IOException gone) {
            return "thread " + tid;
        }
    }

    private static void deleteTree(Path dir) throws IOException {
        try (var files = Files.walk(dir)) {
            for (Path p : files.sorted(Comparator.reverseOrder()).toList()) Files.delete(p);
        }
    }

    private static String megabytes(Path dir) throws IOException {
        try (var files = Files.walk(dir)) {
            long bytes = files.filter(Files::isRegularFile).mapToLong(p -> p.toFile().length()).sum();
            return String.format("%.0f MB", bytes / 1e6);
        }
    }
}
