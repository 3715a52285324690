package org.castellan.security.auth;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An {@link AuthLog} that never blocks: attempts go into a bounded queue and one background
 * thread hands them to {@code sink} in batches (one store transaction for many attempts).
 *
 * <p>Failure: when the queue is full (the sink is slower than a login flood) further attempts are
 * dropped and counted in {@link #dropped()}, with one WARN line per batch that saw drops; a sink
 * that throws loses that batch and gets a WARN line naming the error. Either way logins go on.
 */
public final class BatchingAuthLog implements AuthLog, AutoCloseable {

    /** Attempts waiting for the sink; bounds memory under a flood of failed logins. */
    public static final int MAX_QUEUED = 10_000;
    /** Attempts per call of the sink: one transaction stays short. */
    public static final int MAX_BATCH = 500;
    /** How long {@link #close()} waits for the last batch before giving up on it. */
    private static final long CLOSE_WAIT_SECONDS = 10;

    private static final Logger LOG = LoggerFactory.getLogger(BatchingAuthLog.class);

    /** Put behind the last attempt by {@link #close()}: the writer stops when it reaches it, not at its next poll. */
    private static final Attempt END = new Attempt(Instant.EPOCH, "", "", "", "", Optional.empty(), "", Optional.empty(),
            Optional.empty(), Optional.empty(), Optional.empty());

    private final BlockingQueue<Attempt> queue = new ArrayBlockingQueue<>(MAX_QUEUED);
    private final Consumer<List<Attempt>> sink;
    private final Thread writer;
    private final AtomicLong dropped = new AtomicLong();
    private volatile boolean closing;

    /** Starts the background thread; {@code sink} is called on it only. */
    public BatchingAuthLog(Consumer<List<Attempt>> sink) {
        this.sink = Objects.requireNonNull(sink, "sink");
        this.writer = Thread.ofPlatform().daemon().name("castellan-auth-log").start(this::drain);
    }

    @Override
    public void record(Attempt attempt) {
        if (closing || !queue.offer(attempt)) dropped.incrementAndGet();
    }

    /** Attempts lost because the queue was full or the log closed. */
    public long dropped() {
        return dropped.get();
    }

    private void drain() {
        long reportedDrops = 0;
        List<Attempt> batch = new ArrayList<>(MAX_BATCH);
        boolean end = false;
        while (!end) {
            try {
                batch.add(queue.take());
                queue.drainTo(batch, MAX_BATCH - 1);
                end = batch.removeIf(a -> a == END);
                if (!batch.isEmpty()) sink.accept(List.copyOf(batch));
            } catch (InterruptedException stop) {
                return;
            } catch (RuntimeException e) {
                LOG.warn("auth log: cannot store {} attempts: {}", batch.size(), e.toString());
            } finally {
                batch.clear();
            }
            long drops = dropped.get();
            if (drops != reportedDrops) {
                LOG.warn("auth log: {} attempts dropped so far because the store could not keep up", drops);
                reportedDrops = drops;
            }
        }
    }

    /** Stops taking attempts, writes what is queued, and stops the thread. */
    @Override
    public void close() {
        closing = true;
        try {
            if (queue.offer(END, CLOSE_WAIT_SECONDS, TimeUnit.SECONDS)) writer.join(TimeUnit.SECONDS.toMillis(CLOSE_WAIT_SECONDS));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (writer.isAlive()) writer.interrupt();
    }
}
