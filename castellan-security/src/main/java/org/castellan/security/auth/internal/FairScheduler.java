package org.castellan.security.auth.internal;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadFactory;
import java.util.function.Supplier;

/**
 * The password-hashing workers, shared fairly between the sources of the work (docs/authentication.md).
 *
 * <p>Each source (a client host, or a client certificate) has its own queue. A free worker takes
 * the next task of the source with the fewest tasks running, the longest-waiting of those first,
 * so a source with a thousand checks queued gets one worker while another source has work, and a
 * newcomer's check starts as soon as any worker is free — never after the queue of another. This
 * is the SECURITY property: a flood of guesses from one address costs its sender the wait, not
 * everyone else.
 *
 * <p>Nothing bounds the queues here: the login limiter admits only a few checks per source at once.
 * Thread-safe. {@link #close()} lets running tasks finish and fails queued and new ones with
 * {@link RejectedExecutionException}: a server shutting down has no use for pending guesses.
 */
public final class FairScheduler implements AutoCloseable {

    /** A queued task, and how to tell its caller it will not run. */
    private record Task(Runnable run, Runnable reject) {}

    private static final class Source {
        final String name;
        final ArrayDeque<Task> queue = new ArrayDeque<>();
        int running;

        Source(String name) {
            this.name = name;
        }
    }

    private final Object lock = new Object();
    /** Sources with queued tasks, longest-waiting first. */
    private final LinkedHashMap<String, Source> waiting = new LinkedHashMap<>();
    /** Sources with queued or running tasks. */
    private final Map<String, Source> active = new HashMap<>();
    private final List<Thread> workers = new ArrayList<>();
    private long started;
    private int queued;
    private boolean closed;

    public FairScheduler(int threads, ThreadFactory factory) {
        for (int i = 0; i < threads; i++) {
            Thread worker = factory.newThread(this::work);
            workers.add(worker);
            worker.start();
        }
    }

    /**
     * Runs {@code work} for {@code source} in its turn; the future completes with its result or
     * exception, or with {@link RejectedExecutionException} if {@link #close()} comes first.
     *
     * @throws RejectedExecutionException after {@link #close()}
     */
    public <T> CompletableFuture<T> submit(String source, Supplier<T> work) {
        CompletableFuture<T> result = new CompletableFuture<>();
        Runnable run = () -> {
            try {
                result.complete(work.get());
            } catch (RuntimeException e) {
                result.completeExceptionally(e);
            } catch (Error e) {
                // The caller learns of it; the worker thread ends, as an executor's would.
                result.completeExceptionally(e);
                throw e;
            }
        };
        Runnable reject = () -> result.completeExceptionally(new RejectedExecutionException("the password workers stopped"));
        synchronized (lock) {
            if (closed) throw new RejectedExecutionException("the password workers are stopped");
            Source s = active.computeIfAbsent(source, Source::new);
            s.queue.add(new Task(run, reject));
            waiting.putIfAbsent(source, s);
            queued++;
            lock.notify();
        }
        return result;
    }

    /** Tasks waiting for a worker now. */
    public int queued() {
        synchronized (lock) {
            return queued;
        }
    }

    /** Tasks of {@code source} waiting for a worker now. */
    public int queued(String source) {
        synchronized (lock) {
            Source s = active.get(source);
            return s == null ? 0 : s.queue.size();
        }
    }

    /** Tasks started since this scheduler was made. */
    public long started() {
        synchronized (lock) {
            return started;
        }
    }

    @Override
    public void close() {
        List<Task> dropped = new ArrayList<>();
        synchronized (lock) {
            closed = true;
            for (Source s : waiting.values()) {
                dropped.addAll(s.queue);
                s.queue.clear();
            }
            waiting.clear();
            active.values().removeIf(s -> s.running == 0);
            queued = 0;
            lock.notifyAll();
        }
        for (Task t : dropped) t.reject().run();
    }

    private void work() {
        while (true) {
            Source source;
            Task task;
            synchronized (lock) {
                while (waiting.isEmpty() && !closed) {
                    try {
                        lock.wait();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        return;
                    }
                }
                if (waiting.isEmpty()) return;
                source = next();
                task = source.queue.poll();
                source.running++;
                queued--;
                started++;
                // Its turn is used: it waits again behind the others, if it has more.
                waiting.remove(source.name);
                if (!source.queue.isEmpty()) waiting.put(source.name, source);
            }
            try {
                task.run().run();
            } finally {
                synchronized (lock) {
                    source.running--;
                    if (source.running == 0 && source.queue.isEmpty()) active.remove(source.name);
                }
            }
        }
    }

    /** The waiting source with the fewest running tasks, the longest-waiting of those. */
    private Source next() {
        Iterator<Source> it = waiting.values().iterator();
        Source best = it.next();
        while (it.hasNext() && best.running > 0) {
            Source s = it.next();
            if (s.running < best.running) best = s;
        }
        return best;
    }
}
