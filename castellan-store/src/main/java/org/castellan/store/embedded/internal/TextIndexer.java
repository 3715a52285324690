package org.castellan.store.embedded.internal;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.castellan.protocol.imap.MessageStructure;
import org.castellan.protocol.imap.SearchText;
import org.castellan.store.StoreException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Fills the full-text index off the delivery path: when the writer is quiet (or, under a steady
 * stream of deliveries, every {@link #MAX_DEFER_MILLIS}), a background thread finds mailboxes whose
 * messages above {@code mailboxes.text_indexed_uid} are not indexed yet, decodes their text on
 * its own thread and hands the folded text to the writer in small batches, raising the mark. A
 * search answers from the index up to the mark and scans the messages above it, so a message is
 * searchable at once either way.
 *
 * <p>On failure (a body that cannot be read, a write that fails) the mark stops below the
 * message, whose mailbox is then left alone (searches scan from the mark) until the store is
 * next opened. Message text is never logged.
 */
public final class TextIndexer implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(TextIndexer.class);

    /**
     * Messages per index transaction. The batch shares the writer with deliveries, so it is kept
     * small: a delivery queued behind it waits for a few dozen FTS inserts at most.
     */
    public static final int BATCH = 32;
    /**
     * Messages per transaction when catching up on the caller's thread: nothing waits behind it,
     * and fewer commits (each an fsync) make it faster.
     */
    public static final int CATCH_UP_BATCH = 1000;

    private final ReadPool readers;
    private final GroupCommitWriter writer;
    private final Function<String, Optional<java.nio.ByteBuffer>> bodies;
    private final Semaphore wake = new Semaphore(0);
    private final Set<Long> stuck = new HashSet<>();
    private final Thread thread;
    private volatile boolean closed;

    /** The document id of a message: its mailbox in the high half, its UID in the low half. */
    public static long docId(long mailboxId, long uid) {
        return mailboxId << 32 | uid;
    }

    /**
     * @param bodies the bytes of a body by hash, empty when it no longer exists
     * @param start whether to run the background thread
     */
    public TextIndexer(ReadPool readers, GroupCommitWriter writer, Function<String, Optional<java.nio.ByteBuffer>> bodies,
            String threadName, boolean start) {
        this.readers = readers;
        this.writer = writer;
        this.bodies = bodies;
        this.thread = Thread.ofPlatform().name(threadName).daemon(true).unstarted(this::loop);
        if (start) thread.start();
    }

    /** New messages were committed: index them soon. Cheap; called after every delivery. */
    public void wake() {
        if (wake.availablePermits() == 0) wake.release();
    }

    /**
     * How long the writer must have had nothing to do before the indexer writes, and how long it
     * waits before looking again: it indexes in the quiet moments between deliveries, never in
     * their way, and a search scans whatever it has not reached. Longer than the gap between two
     * group commits under load, short enough that a trickle of mail leaves room.
     */
    static final long QUIET_MILLIS = 50;

    /**
     * The longest the indexer yields to deliveries once it has work: under a stream that never
     * leaves the writer quiet it still writes a batch this often, so what SEARCH must scan stays a
     * few hundred milliseconds of mail instead of growing with the stream until it stops. A batch
     * every 200 ms takes at most a fifth of the writer's turns and keeps up with about
     * {@code BATCH * 5} = 160 messages a second; quiet moments add to that.
     */
    static final long MAX_DEFER_MILLIS = 200;

    private void loop() {
        long waitingSince = System.nanoTime();
        while (!closed) {
            try {
                boolean overdue = System.nanoTime() - waitingSince > TimeUnit.MILLISECONDS.toNanos(MAX_DEFER_MILLIS);
                if (!overdue && !writer.idle(TimeUnit.MILLISECONDS.toNanos(QUIET_MILLIS))) {
                    wake.tryAcquire(QUIET_MILLIS, TimeUnit.MILLISECONDS);
                    continue;
                }
                if (indexBatch(BATCH) == 0) wake.acquire();
            } catch (InterruptedException e) {
                return;
            } catch (StoreException e) {
                if (closed) return;
                log.warn("text index: {}; searches scan the messages not indexed yet", e.getMessage());
                if (!awaitWake()) return;
            } catch (RuntimeException bug) {
                // The boundary of the background thread: a bug must not end it (searches would scan
                // for good) nor hide; it is logged with its stack and tried again on the next delivery.
                log.error("text index: searches scan the messages not indexed yet", bug);
                if (!awaitWake()) return;
            }
            // After a batch, or woken by new mail: the next batch waits for quiet, or this long.
            waitingSince = System.nanoTime();
        }
    }

    /** Waits for the next {@link #wake}; false when interrupted (the store is closing). */
    private boolean awaitWake() {
        try {
            wake.acquire();
            return true;
        } catch (InterruptedException e) {
            return false;
        }
    }

    /** Indexes every message not indexed yet, on the caller's thread; for tests and benchmarks. */
    public void catchUp() {
        while (indexBatch(CATCH_UP_BATCH) > 0) {
            // until a batch finds nothing left
        }
    }

    private record Pending(long mailbox, long mark, long last) {}

    private record Row(long uid, String hash) {}

    private record Doc(long uid, String header, String body) {}

    /** Indexes up to {@code max} messages of one mailbox; returns how many it looked at (0: nothing to do). */
    private synchronized int indexBatch(int max) {
        List<Pending> pending = readers.read("find messages to index", c -> Sql.list(c,
                "SELECT id, text_indexed_uid, uid_next - 1 FROM mailboxes WHERE text_indexed_uid < uid_next - 1 ORDER BY id",
                rs -> new Pending(rs.getLong(1), rs.getLong(2), rs.getLong(3))));
        pending.removeIf(p -> stuck.contains(p.mailbox));
        if (pending.isEmpty()) return 0;
        Pending p = pending.get(0);
        List<Row> rows = readers.read("find messages to index", c -> Sql.list(c,
                "SELECT uid, blob_hash FROM messages WHERE mailbox_id = ? AND uid > ? ORDER BY uid LIMIT ?",
                rs -> new Row(rs.getLong(1), rs.getString(2)), p.mailbox, p.mark, (long) max));
        List<Doc> docs = new ArrayList<>();
        // Without rows left, every UID up to uid_next - 1 is gone: the mark moves to the end.
        long mark = rows.size() < max ? p.last : rows.get(rows.size() - 1).uid;
        for (Row r : rows) {
            try {
                Optional<java.nio.ByteBuffer> bytes = bodies.apply(r.hash);
                if (bytes.isEmpty()) continue; // expunged meanwhile
                SearchText text = MessageStructure.parse(bytes.get()).searchText(bytes.get());
                docs.add(new Doc(r.uid, SearchText.fold(text.header()), SearchText.fold(text.body())));
            } catch (StoreException e) {
                // Parsing never throws (MimeFuzzTest); reading the body may. If the store is closing
                // and interrupted the read, it is not a bad message and the loop ends.
                if (closed) throw StoreException.unavailable("the store is closing", e);
                stuck.add(p.mailbox);
                mark = r.uid - 1;
                log.warn("text index: cannot read message {} of mailbox {} ({}); searches scan from there",
                        r.uid, p.mailbox, e.toString());
                break;
            }
        }
        long newMark = mark;
        writer.execute("index message text", List.of(), tx -> {
            Connection c = tx.connection();
            // Another process sharing the store may have indexed these meanwhile.
            long now = Sql.count(c, "SELECT text_indexed_uid FROM mailboxes WHERE id = ?", p.mailbox);
            if (now != p.mark) return null;
            for (Doc d : docs) {
                if (d.uid > newMark) break;
                if (!exists(c, p.mailbox, d.uid)) continue; // expunged since it was read
                Sql.update(c, "INSERT INTO text_index (rowid, header, body) VALUES (?, ?, ?)", docId(p.mailbox, d.uid),
                        d.header, d.body);
            }
            Sql.update(c, "UPDATE mailboxes SET text_indexed_uid = ? WHERE id = ?", newMark, p.mailbox);
            return null;
        });
        return Math.max(1, rows.size());
    }

    private static boolean exists(Connection c, long mailbox, long uid) throws SQLException {
        return Sql.exists(c, "SELECT 1 FROM messages WHERE mailbox_id = ? AND uid = ?", mailbox, uid);
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
