package org.castellan.store.embedded.internal;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Semaphore;
import java.util.function.Function;
import org.castellan.protocol.imap.MessageStructure;
import org.castellan.protocol.imap.SearchText;
import org.castellan.store.StoreException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Fills the full-text index off the delivery path: a background thread finds bodies without a
 * document ({@code blobs.text_doc IS NULL}), decodes their text on its own thread and hands the
 * folded text to the writer in small batches. A search answers from the index for bodies that
 * have a document and scans the others, so a body is searchable at once either way.
 *
 * <p>On failure (a body that cannot be read, a write that fails) the body stays unindexed and is
 * scanned by searches; it is retried when the store is next opened. Message text is never logged.
 */
public final class TextIndexer implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(TextIndexer.class);

    /**
     * Bodies per index transaction. The batch shares the writer with deliveries, so it is kept
     * small: a delivery queued behind it waits for a few dozen FTS inserts at most.
     */
    public static final int BATCH = 32;

    private final ReadPool readers;
    private final GroupCommitWriter writer;
    private final Function<String, Optional<byte[]>> bodies;
    private final Semaphore wake = new Semaphore(0);
    private final Set<String> failed = new HashSet<>();
    private final Thread thread;
    private volatile boolean closed;

    /**
     * @param bodies the bytes of a body by hash, empty when it no longer exists
     */
    public TextIndexer(ReadPool readers, GroupCommitWriter writer, Function<String, Optional<byte[]>> bodies,
            String threadName, boolean start) {
        this.readers = readers;
        this.writer = writer;
        this.bodies = bodies;
        this.thread = Thread.ofPlatform().name(threadName).daemon(true).unstarted(this::loop);
        if (start) thread.start();
    }

    /** New bodies were committed: index them soon. Cheap; called after every delivery. */
    public void wake() {
        if (wake.availablePermits() == 0) wake.release();
    }

    private void loop() {
        while (!closed) {
            try {
                if (indexBatch(BATCH) == 0) wake.acquire();
            } catch (InterruptedException e) {
                return;
            } catch (StoreException e) {
                if (closed) return;
                log.warn("text index: {}; searches scan the bodies not indexed yet", e.getMessage());
                try {
                    wake.acquire();
                } catch (InterruptedException ie) {
                    return;
                }
            }
        }
    }

    /**
     * Bodies per transaction when catching up on the caller's thread: nothing waits behind it,
     * and fewer commits (each an fsync) make it several times faster.
     */
    public static final int CATCH_UP_BATCH = 1000;

    /** Indexes every body not indexed yet, on the caller's thread; for tests and benchmarks. */
    public void catchUp() {
        while (indexBatch(CATCH_UP_BATCH) > 0) {
            // until a batch finds nothing left
        }
    }

    private record Doc(String hash, String header, String body) {}

    /** Indexes up to {@code max} bodies; returns how many it looked at. */
    private synchronized int indexBatch(int max) {
        List<String> hashes = readers.read("find bodies to index", c -> Sql.list(c,
                "SELECT hash FROM blobs WHERE text_doc IS NULL LIMIT ?", rs -> rs.getString(1), (long) (max + failed.size())));
        hashes.removeAll(failed);
        if (hashes.size() > max) hashes = hashes.subList(0, max);
        List<Doc> docs = new ArrayList<>();
        for (String hash : hashes) {
            try {
                Optional<byte[]> bytes = bodies.apply(hash);
                if (bytes.isEmpty()) continue; // removed meanwhile
                SearchText text = MessageStructure.parse(bytes.get()).searchText(bytes.get());
                docs.add(new Doc(hash, SearchText.fold(text.header()), SearchText.fold(text.body())));
            } catch (RuntimeException e) {
                failed.add(hash);
                log.warn("text index: cannot read body {} ({}); searches scan it", hash, e.toString());
            }
        }
        if (docs.isEmpty()) return hashes.size();
        writer.execute("index message text", List.of(), tx -> {
            for (Doc d : docs) {
                // Still there and still unindexed: it may have been expunged since it was read.
                boolean pending = Sql.exists(tx.connection(), "SELECT 1 FROM blobs WHERE hash = ? AND text_doc IS NULL", d.hash);
                if (!pending) continue;
                Sql.update(tx.connection(), "INSERT INTO text_index (header, body) VALUES (?, ?)", d.header, d.body);
                long doc = Sql.lastId(tx.connection());
                Sql.update(tx.connection(), "UPDATE blobs SET text_doc = ? WHERE hash = ?", doc, d.hash);
            }
            return null;
        });
        return hashes.size();
    }

    @Override
    public void close() {
        closed = true;
        thread.interrupt();
        try {
            if (thread.isAlive()) thread.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
