package org.castellan.bench;

import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.SortedSet;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.function.LongSupplier;
import org.castellan.protocol.imap.MessageStructure;
import org.castellan.protocol.imap.SearchText;
import org.castellan.protocol.mail.EmailAddress;
import org.castellan.store.EventSubscription;
import org.castellan.store.MessageMeta;
import org.castellan.store.TextMatches;
import org.castellan.store.UidRange;
import org.castellan.store.embedded.EmbeddedMailStore;

/**
 * The store's full-text index (SQLite FTS5, trigram tokenizer) against the same index built with
 * Lucene ({@link LuceneTextIndex}), on one mailbox of SearchBench's messages (about 1 KiB of
 * text from a made-up vocabulary, one in ten base64; here also one in a thousand in UTF-8 with
 * Greek, CJK, German and Turkish words).
 *
 * <ol>
 *   <li>fills the mailbox through the store API, index off;
 *   <li>FTS5: the store's indexer catches up on this thread; time, and the index's pages (dbstat);
 *   <li>Lucene: the same messages read from the store, parsed, folded and added on one thread;
 *       time (and how much of it is parsing, which both pay), and the index's files;
 *   <li>the same SEARCH BODY/TEXT keys against both: the UID sets must be equal (TextIndexTest
 *       checks FTS5 against a scan), then p50/p99 of each;
 *   <li>steady delivery: {@code rate} messages a second for {@code seconds} from four threads,
 *       first with the store's background indexer, then with a Lucene follower that indexes what
 *       was committed, refreshes (searchable) after each batch and commits (durable) every second.
 *       Every second it samples the lag: messages delivered but not yet answered by the index
 *       (SEARCH scans those), then the time to catch up after the stream stops, and the delivery
 *       latency.
 * </ol>
 *
 * <p>Arguments: {@code [messages=100000] [queries=40] [rate=100] [seconds=60]}. Not part of the test run.
 */
public final class TextIndexBench {

    private static final int FILL_THREADS = 8;
    private static final int DELIVERY_THREADS = 4;
    /** How long the index may take to catch up after the stream stops before the bench gives up. */
    private static final long CATCH_UP_LIMIT_SECONDS = 900;
    private static final String UNICODE_TEXT = "Grüße aus Köln. ΣΊΣΥΦΟΣ in 東京都, İstanbul.";

    /** A SEARCH key for both indexes: BODY or TEXT, and its string. */
    private record Key(boolean bodyOnly, String needle) {
        @Override
        public String toString() {
            return (bodyOnly ? "BODY " : "TEXT ") + needle;
        }
    }

    private static final List<Key> SEMANTICS = List.of(
            new Key(true, SearchBench.RARE), new Key(true, SearchBench.RARE.toUpperCase()), new Key(true, " " + SearchBench.RARE),
            new Key(false, "sender42@bench"), new Key(true, "sender42@bench"), new Key(false, "message 1234"), new Key(true, "message 1234"),
            new Key(true, "grüße"), new Key(true, "GRÜSSE"), new Key(true, "ΣΊΣΥΦΟΣ"), new Key(true, "σίσυφοσ"),
            new Key(true, "東京都"), new Key(true, "İstanbul"), new Key(true, "istanbul"), new Key(false, "köln. σ"));

    private TextIndexBench() {}

    public static void main(String[] args) throws Exception {
        int messages = args.length > 0 ? Integer.parseInt(args[0]) : 100_000;
        int queries = args.length > 1 ? Integer.parseInt(args[1]) : 40;
        int rate = args.length > 2 ? Integer.parseInt(args[2]) : 100;
        int seconds = args.length > 3 ? Integer.parseInt(args[3]) : 60;
        Path dir = Files.createTempDirectory("castellan-bench-textindex");
        Path storeDir = dir.resolve("store");
        Path luceneDir = dir.resolve("lucene");
        System.out.printf("text index: %d messages in one mailbox, %d queries per key, then %d messages/s for %d s; in %s%n",
                messages, queries, rate, seconds, dir);
        System.out.println("load average at start: " + Files.readString(Path.of("/proc/loadavg")).strip());
        String[] vocabulary = SearchBench.vocabulary();
        long inbox;
        try (EmbeddedMailStore store = EmbeddedMailStore.open(storeDir, EmbeddedMailStore.Options.defaults().withTextIndex(false));
                LuceneTextIndex lucene = new LuceneTextIndex(luceneDir)) {
            store.createDomain("bench.test");
            var account = store.createAccount(EmailAddress.of("u@bench.test"), "x", java.util.OptionalLong.empty());
            inbox = store.getMailbox(account.id(), "INBOX").orElseThrow().id();

            long t0 = System.nanoTime();
            long rawBytes = fill(store, inbox, messages, vocabulary);
            double fillSeconds = (System.nanoTime() - t0) / 1e9;
            System.out.printf("filled in %.1f s (%.0f messages/s), %.1f MiB of messages%n", fillSeconds, messages / fillSeconds,
                    rawBytes / 1048576.0);

            long t1 = System.nanoTime();
            store.catchUpTextIndex();
            double ftsSeconds = (System.nanoTime() - t1) / 1e9;
            long ftsBytes = ftsIndexBytes(storeDir);

            long[] textBytes = new long[1];
            long t2 = System.nanoTime();
            long parseNanos = luceneCatchUp(store, inbox, lucene, textBytes);
            lucene.commit();
            lucene.refresh();
            double luceneSeconds = (System.nanoTime() - t2) / 1e9;
            long luceneBytes = lucene.size();

            double text = textBytes[0];
            System.out.printf("folded text indexed: %.1f MiB (header and body as SEARCH compares them)%n", text / 1048576.0);
            System.out.printf("FTS5 trigram:   indexed in %6.1f s (%5.0f messages/s), index %6.1f MiB = %4.2f x the text%n",
                    ftsSeconds, messages / ftsSeconds, ftsBytes / 1048576.0, ftsBytes / text);
            System.out.printf("Lucene trigram: indexed in %6.1f s (%5.0f messages/s), index %6.1f MiB = %4.2f x the text"
                            + " (parsing and decoding %.1f s of it, the same work for both)%n",
                    luceneSeconds, messages / luceneSeconds, luceneBytes / 1048576.0, luceneBytes / text, parseNanos / 1e9);

            long mark = messages;
            System.out.println("same answers (UIDs) from both indexes:");
            for (Key k : SEMANTICS) {
                SortedSet<Long> fts = ftsSearch(store, inbox, k);
                SortedSet<Long> luc = lucene.search(inbox, k.bodyOnly, k.needle, mark);
                System.out.printf("  %-28s FTS5 %6d  Lucene %6d  %s%n", k, fts.size(), luc.size(), fts.equals(luc) ? "same" : "DIFFERENT");
                if (!fts.equals(luc)) throw new IllegalStateException("the indexes disagree on " + k);
            }
            System.out.println("latency of the index's answer:");
            for (String word : List.of(SearchBench.RARE, SearchBench.COMMON)) {
                for (boolean bodyOnly : List.of(true, false)) {
                    Key k = new Key(bodyOnly, word);
                    long[] fts = new long[queries];
                    long[] luc = new long[queries];
                    int hits = 0;
                    for (int q = 0; q < queries; q++) {
                        long s = System.nanoTime();
                        hits = ftsSearch(store, inbox, k).size();
                        fts[q] = System.nanoTime() - s;
                        s = System.nanoTime();
                        lucene.search(inbox, bodyOnly, word, mark);
                        luc[q] = System.nanoTime() - s;
                    }
                    System.out.printf("  %-22s %6d hits  FTS5 %s  Lucene %s%n", k, hits, percentiles(fts), percentiles(luc));
                }
            }
            // After the latencies, which are those of both indexes as they grew.
            long t3 = System.nanoTime();
            optimizeFts(storeDir);
            System.out.printf("FTS5 after 'optimize' (all segments merged into one, %.1f s in one write transaction):"
                    + " index %6.1f MiB = %4.2f x the text%n", (System.nanoTime() - t3) / 1e9,
                    ftsIndexBytes(storeDir) / 1048576.0, ftsIndexBytes(storeDir) / text);
            long t4 = System.nanoTime();
            lucene.forceMerge();
            System.out.printf("Lucene after forceMerge(1) (%.1f s): index %6.1f MiB = %4.2f x the text%n",
                    (System.nanoTime() - t4) / 1e9, lucene.size() / 1048576.0, lucene.size() / text);
        }

        System.out.println("steady delivery with the store's background indexer (FTS5):");
        try (EmbeddedMailStore store = EmbeddedMailStore.open(storeDir, EmbeddedMailStore.Options.defaults());
                Connection marks = DriverManager.getConnection("jdbc:sqlite:" + storeDir.resolve("mail.db"))) {
            PreparedStatement mark = marks.prepareStatement("SELECT text_indexed_uid FROM mailboxes WHERE id = ?");
            mark.setLong(1, inbox);
            steady(store, inbox, messages, rate, seconds, vocabulary, () -> {
                try (ResultSet rs = mark.executeQuery()) {
                    return rs.next() ? rs.getLong(1) : 0;
                } catch (SQLException e) {
                    throw new IllegalStateException(e);
                }
            });
        }
        System.out.println("steady delivery with a Lucene follower (refresh after each batch, commit every second):");
        try (EmbeddedMailStore store = EmbeddedMailStore.open(storeDir, EmbeddedMailStore.Options.defaults().withTextIndex(false));
                LuceneTextIndex lucene = new LuceneTextIndex(luceneDir);
                LuceneFollower follower = new LuceneFollower(store, inbox, lucene, messages)) {
            // First the messages of the FTS5 run, so that both runs start with their index complete.
            List<MessageMeta> all = store.listMessages(inbox, UidRange.all());
            long highest = all.get(all.size() - 1).uid();
            while (follower.searchable < highest) LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(20));
            steady(store, inbox, messages + rate * seconds + 1, rate, seconds, vocabulary, () -> follower.searchable);
            System.out.printf("  Lucene index now %.1f MiB%n", lucene.size() / 1048576.0);
        }
        StoreDeliveryBench.deleteTree(dir);
    }

    private static String percentiles(long[] lat) {
        long[] sorted = lat.clone();
        Arrays.sort(sorted);
        return String.format("p50 %7.1f ms p99 %7.1f ms", sorted[sorted.length / 2] / 1e6,
                sorted[Math.min(sorted.length - 1, (int) (sorted.length * 0.99))] / 1e6);
    }

    private static SortedSet<Long> ftsSearch(EmbeddedMailStore store, long inbox, Key k) {
        TextMatches m = store.searchText(inbox, k.bodyOnly, k.needle);
        if (!m.unindexed().isEmpty()) throw new IllegalStateException("FTS5 index incomplete for " + k);
        return m.matching();
    }

    /** Pages of the FTS5 table and its shadow tables. */
    private static long ftsIndexBytes(Path storeDir) throws SQLException {
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + storeDir.resolve("mail.db"));
                ResultSet rs = c.createStatement().executeQuery(
                        "SELECT sum(pgsize) FROM dbstat WHERE name LIKE 'text_index%'")) {
            rs.next();
            return rs.getLong(1);
        }
    }

    /** Merges the FTS5 index's segments into one: the smallest it gets without changing what it stores. */
    private static void optimizeFts(Path storeDir) throws SQLException {
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + storeDir.resolve("mail.db"))) {
            c.createStatement().execute("INSERT INTO text_index(text_index) VALUES('optimize')");
        }
    }

    /** Folded header and body of one stored message, as the store's indexer makes them. */
    private static String[] folded(EmbeddedMailStore store, long inbox, long uid) throws Exception {
        byte[] b;
        try (InputStream in = store.openMessage(inbox, uid)) {
            b = in.readAllBytes();
        }
        SearchText t = MessageStructure.parse(b).searchText(b);
        return new String[] {SearchText.fold(t.header()), SearchText.fold(t.body())};
    }

    /** Adds every message to Lucene; returns the nanoseconds spent reading, parsing and folding. */
    private static long luceneCatchUp(EmbeddedMailStore store, long inbox, LuceneTextIndex lucene, long[] textBytes)
            throws Exception {
        long parse = 0;
        for (MessageMeta m : store.listMessages(inbox, UidRange.all())) {
            long s = System.nanoTime();
            String[] text = folded(store, inbox, m.uid());
            parse += System.nanoTime() - s;
            textBytes[0] += text[0].getBytes(StandardCharsets.UTF_8).length + text[1].getBytes(StandardCharsets.UTF_8).length;
            lucene.add(inbox, m.uid(), text[0], text[1]);
        }
        return parse;
    }

    /** SearchBench's message, or one in a thousand a UTF-8 text with non-ASCII words. */
    private static byte[] message(int n, Random rnd, String[] vocabulary) {
        if (n % 1000 != 7) return SearchBench.message(n, rnd, vocabulary);
        return ("From: sender" + (n % 97) + "@bench.test\r\nTo: u@bench.test\r\nSubject: message " + n
                + "\r\nMessage-ID: <" + n + "@bench.test>\r\nContent-Type: text/plain; charset=utf-8\r\n"
                + "Content-Transfer-Encoding: 8bit\r\n\r\n" + vocabulary[n % vocabulary.length] + " " + UNICODE_TEXT + "\r\n")
                .getBytes(StandardCharsets.UTF_8);
    }

    /** Appends from several threads, so that deliveries share commits as they do in a server; returns the bytes. */
    private static long fill(EmbeddedMailStore store, long inbox, int messages, String[] vocabulary) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(FILL_THREADS);
        List<Future<Long>> futures = new ArrayList<>();
        for (int t = 0; t < FILL_THREADS; t++) {
            int thread = t;
            futures.add(pool.submit(() -> {
                Random rnd = new Random(thread);
                long bytes = 0;
                for (int n = thread; n < messages; n += FILL_THREADS) {
                    byte[] m = message(n, rnd, vocabulary);
                    bytes += m.length;
                    store.append(inbox, m, Set.of(), Instant.now());
                }
                return bytes;
            }));
        }
        long total = 0;
        for (Future<Long> f : futures) total += f.get();
        pool.shutdown();
        return total;
    }

    /**
     * Delivers {@code rate} messages a second for {@code seconds}, sampling every second how far
     * {@code searchable} (the highest UID the index answers for) is behind the last delivered UID.
     */
    private static void steady(EmbeddedMailStore store, long inbox, int firstN, int rate, int seconds, String[] vocabulary,
            LongSupplier searchable) throws Exception {
        AtomicLong lastUid = new AtomicLong(searchable.getAsLong());
        long start = System.nanoTime();
        long end = start + TimeUnit.SECONDS.toNanos(seconds);
        double interval = 1e9 / rate;
        ExecutorService pool = Executors.newFixedThreadPool(DELIVERY_THREADS);
        List<Future<long[]>> futures = new ArrayList<>();
        for (int t = 0; t < DELIVERY_THREADS; t++) {
            int thread = t;
            futures.add(pool.submit(() -> {
                Random rnd = new Random(100 + thread);
                List<Long> lat = new ArrayList<>();
                for (long k = thread; ; k += DELIVERY_THREADS) {
                    long due = start + (long) (k * interval);
                    if (due >= end) break;
                    long wait = due - System.nanoTime();
                    if (wait > 0) LockSupport.parkNanos(wait);
                    long s = System.nanoTime();
                    long uid = store.append(inbox, message(firstN + (int) k, rnd, vocabulary), Set.of(), Instant.now()).uid();
                    lat.add(System.nanoTime() - s);
                    lastUid.accumulateAndGet(uid, Math::max);
                }
                return lat.stream().mapToLong(Long::longValue).toArray();
            }));
        }
        long maxLag = 0;
        StringBuilder series = new StringBuilder();
        for (int second = 1; second <= seconds; second++) {
            LockSupport.parkNanos(start + TimeUnit.SECONDS.toNanos(second) - System.nanoTime());
            long lag = Math.max(0, lastUid.get() - searchable.getAsLong());
            maxLag = Math.max(maxLag, lag);
            if (second % 5 == 0) series.append(' ').append(lag);
        }
        long[] latencies = new long[0];
        for (Future<long[]> f : futures) {
            long[] l = f.get();
            int from = latencies.length;
            latencies = Arrays.copyOf(latencies, from + l.length);
            System.arraycopy(l, 0, latencies, from, l.length);
        }
        pool.shutdown();
        long stopped = System.nanoTime();
        long last = lastUid.get();
        long endLag = Math.max(0, last - searchable.getAsLong());
        while (searchable.getAsLong() < last) {
            if (System.nanoTime() - stopped > TimeUnit.SECONDS.toNanos(CATCH_UP_LIMIT_SECONDS)) {
                throw new IllegalStateException("the index did not catch up within " + CATCH_UP_LIMIT_SECONDS + " s");
            }
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(20));
        }
        double catchUp = (System.nanoTime() - stopped) / 1e9;
        System.out.printf("  %d messages in %d s; lag every 5 s:%s; max lag %d messages (%.1f s of mail),"
                        + " %d at the end, caught up %.1f s after the stream stopped%n",
                latencies.length, seconds, series, maxLag, maxLag / (double) rate, endLag, catchUp);
        System.out.printf("  delivery latency %s%n", percentiles(latencies));
    }

    /**
     * Indexes into Lucene whatever the store has committed above its mark, in batches: each batch
     * is searchable once added (a near-real-time refresh) and durable at the next commit, once a
     * second. Woken by the store's events.
     */
    private static final class LuceneFollower implements AutoCloseable {
        private static final int BATCH = 256;
        private static final long COMMIT_NANOS = TimeUnit.SECONDS.toNanos(1);

        volatile long searchable;
        private final EmbeddedMailStore store;
        private final long inbox;
        private final LuceneTextIndex lucene;
        private final Semaphore wake = new Semaphore(0);
        private final EventSubscription subscription;
        private final Thread thread;
        private volatile boolean closed;

        LuceneFollower(EmbeddedMailStore store, long inbox, LuceneTextIndex lucene, long indexed) {
            this.store = store;
            this.inbox = inbox;
            this.lucene = lucene;
            this.searchable = indexed;
            this.subscription = store.subscribe(inbox, e -> wake.release());
            this.thread = Thread.ofPlatform().name("lucene-follower").start(this::loop);
        }

        private void loop() {
            long lastCommit = System.nanoTime();
            try {
                while (!closed) {
                    List<MessageMeta> next = store.listMessages(inbox, new UidRange(searchable + 1, Long.MAX_VALUE));
                    next = next.subList(0, Math.min(BATCH, next.size()));
                    if (next.isEmpty()) {
                        wake.tryAcquire(50, TimeUnit.MILLISECONDS);
                        continue;
                    }
                    for (MessageMeta m : next) {
                        String[] text = folded(store, inbox, m.uid());
                        lucene.add(inbox, m.uid(), text[0], text[1]);
                    }
                    lucene.refresh();
                    searchable = next.get(next.size() - 1).uid();
                    if (System.nanoTime() - lastCommit > COMMIT_NANOS) {
                        lucene.commit();
                        lastCommit = System.nanoTime();
                    }
                }
                lucene.commit();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (Exception e) {
                System.out.println("lucene follower failed: " + e);
            }
        }

        @Override
        public void close() throws InterruptedException {
            closed = true;
            thread.join();
            subscription.close();
        }
    }
}
