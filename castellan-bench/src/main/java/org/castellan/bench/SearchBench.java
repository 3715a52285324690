package org.castellan.bench;

import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.castellan.protocol.imap.MessageStructure;
import org.castellan.protocol.imap.SearchText;
import org.castellan.protocol.mail.EmailAddress;
import org.castellan.store.MessageMeta;
import org.castellan.store.TextMatches;
import org.castellan.store.UidRange;
import org.castellan.store.embedded.EmbeddedMailStore;

/**
 * SEARCH BODY and TEXT latency in one big mailbox, with the full-text index, against a scan.
 *
 * <p>Builds the mailbox through the store API (index off while filling), lets the indexer catch
 * up on the caller's thread, then times the index's answer to one IMAP SEARCH BODY/TEXT, and
 * the listing of the whole mailbox that SEARCH adds when a word matches more than a few hundred
 * messages. Words: a rare one (in about 1 message in 10,000) and
 * a common one (in about 60% of them), in BODY and TEXT; one message in ten has a base64 body. A scan of a sample
 * of messages (read, parse, decode, compare) shows what the same search costs without the index.
 *
 * <p>Arguments: {@code [messages=100000] [queries=40]}.
 */
public final class SearchBench {

    /** The body words are drawn from this many made-up words, so that trigrams repeat as in real text. */
    private static final int VOCABULARY = 5000;
    static final String RARE = "quetzalcoatl";
    static final String COMMON = "meeting";
    private static final int SAMPLE_SCAN = 5000;

    public static void main(String[] args) throws Exception {
        int messages = args.length > 0 ? Integer.parseInt(args[0]) : 100_000;
        int queries = args.length > 1 ? Integer.parseInt(args[1]) : 40;
        Path dir = Files.createTempDirectory("castellan-bench-search");
        System.out.printf("search: %d messages in one mailbox, %d queries per case, in %s%n", messages, queries, dir);
        EmbeddedMailStore.Options options = EmbeddedMailStore.Options.defaults().withTextIndex(false);
        try (EmbeddedMailStore store = EmbeddedMailStore.open(dir, options)) {
            store.createDomain("bench.test");
            var account = store.createAccount(EmailAddress.of("u@bench.test"), "x", java.util.OptionalLong.empty());
            long inbox = store.getMailbox(account.id(), "INBOX").orElseThrow().id();

            long t0 = System.nanoTime();
            fill(store, inbox, messages);
            long t1 = System.nanoTime();
            store.catchUpTextIndex();
            long t2 = System.nanoTime();
            System.out.printf("filled in %.1f s (%.0f messages/s), indexed in %.1f s (%.0f messages/s), database %d MiB%n",
                    (t1 - t0) / 1e9, messages / ((t1 - t0) / 1e9), (t2 - t1) / 1e9, messages / ((t2 - t1) / 1e9),
                    Files.size(dir.resolve("mail.db")) / (1 << 20));

            for (String word : List.of(RARE, COMMON)) {
                for (boolean bodyOnly : List.of(true, false)) {
                    long[] lat = new long[queries];
                    int hits = 0;
                    for (int q = 0; q < queries; q++) {
                        long s = System.nanoTime();
                        TextMatches m = store.searchText(inbox, bodyOnly, word);
                        lat[q] = System.nanoTime() - s;
                        if (!m.unindexed().isEmpty()) throw new IllegalStateException("index incomplete");
                        hits = m.matching().size();
                    }
                    report((bodyOnly ? "BODY " : "TEXT ") + (word.equals(RARE) ? "rare   " : "common ") + word, hits, lat);
                }
            }
            // SEARCH reads the metadata of the candidates: one by one for a few, the whole mailbox for many.
            long[] lat = new long[queries];
            for (int q = 0; q < queries; q++) {
                long s = System.nanoTime();
                List<MessageMeta> all = store.listMessages(inbox, UidRange.all());
                lat[q] = System.nanoTime() - s;
                if (all.size() != messages) throw new IllegalStateException("lost messages");
            }
            report("listing the whole mailbox (SEARCH does it for a common word)", messages, lat);
            scanSample(store, inbox, Math.min(messages, SAMPLE_SCAN), messages);
        }
        StoreDeliveryBench.deleteTree(dir);
    }

    private static void report(String what, int hits, long[] lat) {
        Arrays.sort(lat);
        System.out.printf("%-28s %6d hits  p50 %7.1f ms  p99 %7.1f ms%n", what, hits, lat[lat.length / 2] / 1e6,
                lat[Math.min(lat.length - 1, (int) (lat.length * 0.99))] / 1e6);
    }

    /** Reads, parses and decodes a sample as a scan would, and scales the time to the whole mailbox. */
    private static void scanSample(EmbeddedMailStore store, long inbox, int sample, int total) throws Exception {
        List<MessageMeta> metas = store.listMessages(inbox, new UidRange(1, sample));
        long s = System.nanoTime();
        int found = 0;
        for (MessageMeta m : metas) {
            byte[] b;
            try (InputStream in = store.openMessage(inbox, m.uid())) {
                b = in.readAllBytes();
            }
            SearchText t = MessageStructure.parse(b).searchText(b);
            if (t.bodyContains(RARE)) found++;
        }
        double seconds = (System.nanoTime() - s) / 1e9;
        System.out.printf("scan without the index: %d messages in %.2f s (%d hits), so about %.1f s for all %d%n", sample,
                seconds, found, seconds * total / sample, total);
    }

    /** Appends from several threads, so that deliveries share commits as they do in a server. */
    private static void fill(EmbeddedMailStore store, long inbox, int messages) throws Exception {
        String[] vocabulary = vocabulary();
        int threads = 8;
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        List<Future<?>> futures = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            int thread = t;
            futures.add(pool.submit(() -> {
                Random rnd = new Random(thread);
                for (int n = thread; n < messages; n += threads) {
                    store.append(inbox, message(n, rnd, vocabulary), Set.of(), Instant.now());
                }
                return null;
            }));
        }
        for (Future<?> f : futures) f.get();
        pool.shutdown();
    }

    /** The made-up words of the bodies, the same on every run. */
    static String[] vocabulary() {
        String[] vocabulary = new String[VOCABULARY];
        Random r = new Random(7);
        for (int i = 0; i < VOCABULARY; i++) {
            StringBuilder w = new StringBuilder();
            int len = 3 + r.nextInt(8);
            for (int k = 0; k < len; k++) w.append((char) ('a' + r.nextInt(26)));
            vocabulary[i] = w.toString();
        }
        return vocabulary;
    }

    /** About 1 KiB of text; every 10,000th message holds the rare word, 60% the common one. */
    static byte[] message(int n, Random rnd, String[] vocabulary) {
        StringBuilder body = new StringBuilder();
        while (body.length() < 1000) {
            body.append(vocabulary[rnd.nextInt(vocabulary.length)]).append(body.length() % 80 > 70 ? "\r\n" : " ");
        }
        if (n % 10_000 == 5) body.append(' ').append(RARE);
        if (rnd.nextInt(10) < 6) body.append(' ').append(COMMON);
        String header = "From: sender" + (n % 97) + "@bench.test\r\nTo: u@bench.test\r\nSubject: message " + n
                + "\r\nMessage-ID: <" + n + "@bench.test>\r\n";
        String text = body + "\r\n";
        String message = n % 10 == 0
                ? header + "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n"
                        + Base64.getMimeEncoder().encodeToString(text.getBytes(StandardCharsets.UTF_8)) + "\r\n"
                : header + "Content-Type: text/plain; charset=us-ascii\r\n\r\n" + text;
        return message.getBytes(StandardCharsets.UTF_8);
    }
}
