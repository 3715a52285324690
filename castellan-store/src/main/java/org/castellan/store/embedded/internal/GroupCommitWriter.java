package org.castellan.store.embedded.internal;

import java.io.UncheckedIOException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import org.castellan.store.StoreException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one thread that writes to the database (group commit).
 *
 * <p>Callers queue requests and wait. The writer takes every queued request (up to a batch
 * limit), runs each under its own SAVEPOINT inside one {@code BEGIN IMMEDIATE} transaction — a
 * failing request is rolled back to its savepoint without disturbing the others — and commits
 * once, so one fsync of the write-ahead log covers the whole batch. Only after the commit does it
 * publish the batch's events (in request order), release the requests' blob pins, complete the
 * callers' futures and remove blob files that lost their last reference.
 */
public final class GroupCommitWriter implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(GroupCommitWriter.class);

    private final Connection connection;
    private final BlobStore blobs;
    private final EventDispatcher events;
    private final int maxBatch;
    private final LinkedBlockingQueue<Request<?>> queue = new LinkedBlockingQueue<>();
    private final ReentrantReadWriteLock closing = new ReentrantReadWriteLock();
    private final Thread thread;
    private boolean closed;
    /** Blobs that may have lost their last reference; touched by the writer thread only. */
    private final Set<String> collectable = new LinkedHashSet<>();

    private static final Request<Void> STOP = new Request<>("stop", List.of(), tx -> null);

    public GroupCommitWriter(Connection connection, BlobStore blobs, EventDispatcher events, int maxBatch,
            String threadName) {
        this.connection = connection;
        this.blobs = blobs;
        this.events = events;
        this.maxBatch = maxBatch;
        this.thread = Thread.ofPlatform().name(threadName).daemon(true).unstarted(this::loop);
        thread.start();
    }

    /**
     * Runs {@code work} in the next batch and waits until it is committed (or failed).
     *
     * @param doing what the work does, for error messages ("append to mailbox 7")
     * @param pinnedBlobs blobs pinned by the caller for this work; unpinned whatever happens
     */
    public <T> T execute(String doing, List<String> pinnedBlobs, TxWork<T> work) {
        Request<T> request = new Request<>(doing, pinnedBlobs, work);
        lastRequest = System.nanoTime();
        closing.readLock().lock();
        try {
            if (closed) {
                pinnedBlobs.forEach(blobs::unpin);
                throw StoreException.unavailable("cannot " + doing + ": the mail store is closed", null);
            }
            queue.add(request);
        } finally {
            closing.readLock().unlock();
        }
        try {
            return request.future.join();
        } catch (CompletionException e) {
            if (e.getCause() instanceof StoreException se) {
                // Rethrown with the caller's stack: the writer thread's says nothing useful.
                throw new StoreException(se.kind(), se.getMessage(), se);
            }
            throw StoreException.unavailable("cannot " + doing + ": " + e.getCause(), e.getCause());
        }
    }

    /** When the last request came in (System.nanoTime()). */
    private volatile long lastRequest = System.nanoTime();

    /**
     * Whether no request is waiting and none came in for {@code quietNanos}: background work
     * (the text indexer) writes only then, so that it stays out of the way of a stream of
     * deliveries instead of slipping a batch in between two of their commits.
     */
    public boolean idle(long quietNanos) {
        return queue.isEmpty() && System.nanoTime() - lastRequest > quietNanos;
    }

    /** Finishes every queued request, then stops the thread. */
    @Override
    public void close() {
        closing.writeLock().lock();
        try {
            if (closed) return;
            closed = true;
            queue.add(STOP);
        } finally {
            closing.writeLock().unlock();
        }
        boolean interrupted = false;
        while (thread.isAlive()) {
            try {
                thread.join();
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) Thread.currentThread().interrupt();
    }

    private void loop() {
        List<Request<?>> batch = new ArrayList<>();
        boolean stop = false;
        while (!stop) {
            try {
                batch.add(queue.take());
            } catch (InterruptedException e) {
                continue; // nobody interrupts this thread; close() uses STOP
            }
            queue.drainTo(batch, maxBatch - 1);
            stop = batch.remove(STOP);
            if (!batch.isEmpty()) runBatch(batch);
            collectGarbage();
            batch.clear();
        }
    }

    private void runBatch(List<Request<?>> batch) {
        try {
            exec("BEGIN IMMEDIATE");
        } catch (SQLException e) {
            failAll(batch, e);
            return;
        }
        for (Request<?> request : batch) {
            request.tx = new Tx(connection);
            try {
                exec("SAVEPOINT request");
            } catch (SQLException e) {
                abort(batch, e);
                return;
            }
            try {
                request.run();
                exec("RELEASE request");
            } catch (Throwable t) {
                // The boundary of the writer thread, which runs every caller's work: whatever one
                // request throws is rolled back to its savepoint and handed to its caller
                // (Request.complete logs anything that is not the store's own failure).
                request.error = t;
                try {
                    exec("ROLLBACK TO request");
                    exec("RELEASE request");
                } catch (SQLException e) {
                    abort(batch, e);
                    return;
                }
            }
        }
        try {
            exec("COMMIT");
        } catch (SQLException e) {
            abort(batch, e);
            return;
        }
        finish(batch);
    }

    /** The transaction as a whole failed: roll it back and fail every request in it. */
    private void abort(List<Request<?>> batch, SQLException cause) {
        try {
            exec("ROLLBACK");
        } catch (SQLException ignored) {
            // SQLite may have rolled back already (e.g. after SQLITE_FULL)
        }
        failAll(batch, cause);
    }

    private void failAll(List<Request<?>> batch, SQLException cause) {
        for (Request<?> request : batch) {
            request.error = cause;
            request.tx = null;
        }
        finish(batch);
    }

    private void finish(List<Request<?>> batch) {
        for (Request<?> request : batch) {
            if (request.error == null) {
                events.publish(request.tx.events);
                collectable.addAll(request.tx.unreferencedBlobs);
            } else {
                // A failed request may have been the only one to want a freshly written file.
                collectable.addAll(request.pinnedBlobs);
            }
            request.pinnedBlobs.forEach(blobs::unpin);
            request.complete();
        }
    }

    /**
     * Removes blob files no row references. Runs under the database write lock so that no other
     * process can reference a blob between the check and the removal (a writer that inserts the
     * first reference checks, under the same lock, that the file exists).
     */
    private void collectGarbage() {
        if (collectable.isEmpty()) return;
        try {
            exec("BEGIN IMMEDIATE");
            try (PreparedStatement referenced = connection.prepareStatement("SELECT 1 FROM blobs WHERE hash = ?")) {
                for (String id : collectable) {
                    referenced.setString(1, id);
                    try (ResultSet rs = referenced.executeQuery()) {
                        if (!rs.next()) blobs.deleteUnlessPinned(id);
                    }
                }
            } finally {
                exec("COMMIT");
            }
            collectable.clear();
        } catch (SQLException | UncheckedIOException e) {
            log.warn("Removing unreferenced message files postponed ({} pending): {}", collectable.size(), e.toString());
            try {
                exec("ROLLBACK");
            } catch (SQLException ignored) {
                // no transaction was open
            }
        }
    }

    private void exec(String sql) throws SQLException {
        Sql.exec(connection, sql);
    }

    private static final class Request<T> {
        final String doing;
        final List<String> pinnedBlobs;
        final TxWork<T> work;
        final CompletableFuture<T> future = new CompletableFuture<>();
        Tx tx;
        T result;
        Throwable error;

        Request(String doing, List<String> pinnedBlobs, TxWork<T> work) {
            this.doing = doing;
            this.pinnedBlobs = pinnedBlobs;
            this.work = work;
        }

        void run() throws SQLException {
            result = work.run(tx);
        }

        void complete() {
            if (error == null) {
                future.complete(result);
            } else if (error instanceof StoreException se) {
                future.completeExceptionally(se);
            } else if (error instanceof SQLException sql) {
                future.completeExceptionally(SqlErrors.map(sql, doing));
            } else {
                log.error("Unexpected failure while trying to {}", doing, error);
                future.completeExceptionally(StoreException.unavailable("cannot " + doing + ": internal error " + error, error));
            }
        }
    }
}
