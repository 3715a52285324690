package org.castellan.bench;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;
import org.castellan.protocol.mail.EmailAddress;
import org.castellan.store.MailStore;
import org.castellan.store.embedded.EmbeddedMailStore;

/**
 * Durable delivery into the embedded store with concurrent writers, against the reference way
 * of durable local delivery: one Maildir file per message, written, fsynced and renamed, with
 * the directory fsynced (what Dovecot's LDA and Postfix's local(8) do with fsync on).
 *
 * <p>Both sides promise the same thing: when a delivery returns, the message survives a crash.
 * The store can share one fsync among concurrent deliveries (group commit); Maildir cannot.
 *
 * <p>Arguments: {@code [threads=16] [seconds=10] [messageBytes=10240]}.
 */
public final class StoreDeliveryBench {

    public static void main(String[] args) throws Exception {
        int threads = args.length > 0 ? Integer.parseInt(args[0]) : 16;
        int seconds = args.length > 1 ? Integer.parseInt(args[1]) : 10;
        int size = args.length > 2 ? Integer.parseInt(args[2]) : 10 * 1024;
        Path dir = Files.createTempDirectory("castellan-bench-store");
        System.out.printf("store delivery: %d threads, %d s, %d-byte messages, in %s%n", threads, seconds, size, dir);

        Result castellan;
        try (MailStore store = EmbeddedMailStore.open(dir.resolve("castellan"))) {
            store.createDomain("bench.test");
            List<Long> inboxes = new ArrayList<>();
            for (int i = 0; i < threads; i++) {
                var account = store.createAccount(EmailAddress.of("u" + i + "@bench.test"), "x", java.util.OptionalLong.empty());
                inboxes.add(store.getMailbox(account.id(), "INBOX").orElseThrow().id());
            }
            castellan = run("castellan store", threads, seconds, (t, n) ->
                    store.append(inboxes.get(t), message(size, t, n), Set.of(), Instant.now()));
        }
        Path maildir = dir.resolve("maildir");
        for (int i = 0; i < threads; i++) {
            Files.createDirectories(maildir.resolve("u" + i).resolve("tmp"));
            Files.createDirectories(maildir.resolve("u" + i).resolve("new"));
        }
        Result reference = run("maildir+fsync", threads, seconds, (t, n) -> maildirDeliver(maildir.resolve("u" + t), message(size, t, n), t, n));

        System.out.printf("ratio castellan/maildir: %.2fx messages/s, %.2fx CPU-seconds per message (lower is better)%n",
                castellan.perSecond() / reference.perSecond(), castellan.cpuPerMessage() / reference.cpuPerMessage());
        deleteTree(dir);
    }

    interface Delivery {
        void deliver(int thread, long n) throws Exception;
    }

    record Result(double perSecond, double cpuPerMessage) {}

    static Result run(String name, int threads, int seconds, Delivery delivery) throws Exception {
        AtomicLong done = new AtomicLong();
        List<long[]> latencies = new ArrayList<>();
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        long cpuBefore = processCpuNanos();
        long start = System.nanoTime();
        long end = start + Duration.ofSeconds(seconds).toNanos();
        List<Future<long[]>> futures = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            int thread = t;
            futures.add(pool.submit(() -> {
                long[] lat = new long[1 << 16];
                int k = 0;
                for (long n = 0; System.nanoTime() < end; n++) {
                    long t0 = System.nanoTime();
                    delivery.deliver(thread, n);
                    if (k < lat.length) lat[k++] = System.nanoTime() - t0;
                    done.incrementAndGet();
                }
                return Arrays.copyOf(lat, k);
            }));
        }
        for (Future<long[]> f : futures) latencies.add(f.get());
        double elapsed = (System.nanoTime() - start) / 1e9;
        double cpu = (processCpuNanos() - cpuBefore) / 1e9;
        pool.shutdown();
        long[] all = latencies.stream().flatMapToLong(Arrays::stream).sorted().toArray();
        double rate = done.get() / elapsed;
        System.out.printf("%-16s %8.0f messages/s  p50 %6.2f ms  p99 %6.2f ms  %.1f µs CPU/message%n", name, rate,
                all[all.length / 2] / 1e6, all[(int) (all.length * 0.99)] / 1e6, cpu / done.get() * 1e6);
        return new Result(rate, cpu / done.get());
    }

    /** Random filler made once, so the benchmark measures delivery rather than its own generator. */
    private static final byte[] FILLER = new byte[1 << 20];

    static {
        new Random(42).nextBytes(FILLER);
    }

    /** A distinct message per (thread, n): the store is content-addressed and would share equal bodies. */
    static byte[] message(int size, int thread, long n) {
        byte[] b = Arrays.copyOf(FILLER, size);
        byte[] header = ("Subject: bench " + thread + "/" + n + "\r\n\r\n").getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        System.arraycopy(header, 0, b, 0, header.length);
        return b;
    }

    static void maildirDeliver(Path box, byte[] content, int thread, long n) throws IOException {
        String name = System.currentTimeMillis() + ".T" + thread + "N" + n + ".bench";
        Path tmp = box.resolve("tmp").resolve(name);
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap(content));
            ch.force(true);
        }
        Files.move(tmp, box.resolve("new").resolve(name));
        try (FileChannel d = FileChannel.open(box.resolve("new"), StandardOpenOption.READ)) {
            d.force(true);
        }
    }

    static long processCpuNanos() {
        var os = java.lang.management.ManagementFactory.getOperatingSystemMXBean();
        return ((com.sun.management.OperatingSystemMXBean) os).getProcessCpuTime();
    }

    public static void deleteTree(Path dir) throws IOException {
        try (var walk = Files.walk(dir)) {
            walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }
}
