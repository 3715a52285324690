package org.castellan.security.auth.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The hashing workers' order: a source's queue never stands between another source and the next
 * free worker. Workers are held on latches, so the order is decided, not raced.
 */
class FairSchedulerTest {

    private FairScheduler scheduler;

    @AfterEach
    void close() {
        if (scheduler != null) scheduler.close();
    }

    private static FairScheduler scheduler(int threads) {
        return new FairScheduler(threads, task -> {
            Thread t = new Thread(task, "fair-test");
            t.setDaemon(true);
            return t;
        });
    }

    /** Occupies a worker until the latch opens; completes once the worker has started it. */
    private static CompletableFuture<Void> hold(FairScheduler scheduler, String source, CountDownLatch release) throws Exception {
        CountDownLatch started = new CountDownLatch(1);
        CompletableFuture<Void> done = scheduler.submit(source, () -> {
            started.countDown();
            await(release);
            return null;
        });
        assertThat(started.await(20, TimeUnit.SECONDS)).isTrue();
        return done;
    }

    private static void await(CountDownLatch latch) {
        try {
            assertThat(latch.await(20, TimeUnit.SECONDS)).isTrue();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    @Test
    void aNewcomerRunsBeforeTheRestOfAFloodingSourcesQueue() throws Exception {
        scheduler = scheduler(1);
        CountDownLatch release = new CountDownLatch(1);
        hold(scheduler, "attacker", release);
        List<String> order = new CopyOnWriteArrayList<>();
        List<CompletableFuture<String>> all = new ArrayList<>();
        for (int i = 0; i < 100; i++) {
            String name = "attacker-" + i;
            all.add(scheduler.submit("attacker", () -> {
                order.add(name);
                return name;
            }));
        }
        all.add(scheduler.submit("good", () -> {
            order.add("good");
            return "good";
        }));
        assertThat(scheduler.queued()).isEqualTo(101);
        assertThat(scheduler.queued("attacker")).isEqualTo(100);
        release.countDown();
        CompletableFuture.allOf(all.toArray(CompletableFuture[]::new)).get(20, TimeUnit.SECONDS);
        assertThat(order.indexOf("good")).as("at most one of the flood's checks runs before the newcomer's").isLessThanOrEqualTo(1);
        List<String> flood = new ArrayList<>();
        for (int i = 0; i < 100; i++) flood.add("attacker-" + i);
        assertThat(order.stream().filter(n -> n.startsWith("attacker")).toList())
                .as("a source's own checks keep their order").isEqualTo(flood);
    }

    @Test
    void theNextFreeWorkerGoesToTheSourceWithFewestRunning() throws Exception {
        scheduler = scheduler(2);
        CountDownLatch first = new CountDownLatch(1);
        CountDownLatch second = new CountDownLatch(1);
        hold(scheduler, "attacker", first);
        hold(scheduler, "attacker", second);
        // Both workers are the attacker's, and it has more queued; then someone else arrives.
        CountDownLatch third = new CountDownLatch(1);
        List<String> started = new CopyOnWriteArrayList<>();
        scheduler.submit("attacker", () -> {
            started.add("attacker");
            await(third);
            return null;
        });
        CompletableFuture<String> good = scheduler.submit("good", () -> {
            started.add("good");
            return "good";
        });
        assertThat(scheduler.started()).isEqualTo(2);
        first.countDown();
        assertThat(good.get(20, TimeUnit.SECONDS)).isEqualTo("good");
        assertThat(started).as("the freed worker served the source with none running").first().isEqualTo("good");
        second.countDown();
        third.countDown();
    }

    @Test
    void aLoneSourceUsesEveryWorker() throws Exception {
        scheduler = scheduler(2);
        CountDownLatch release = new CountDownLatch(1);
        hold(scheduler, "only", release);
        hold(scheduler, "only", release);
        assertThat(scheduler.started()).isEqualTo(2);
        release.countDown();
    }

    @Test
    void taskFailuresReachTheCallerAndClosingRefusesWhatHasNotStarted() throws Exception {
        scheduler = scheduler(1);
        CompletableFuture<Object> broken = scheduler.submit("s", () -> {
            throw new IllegalStateException("the store is gone");
        });
        assertThatThrownBy(() -> broken.get(20, TimeUnit.SECONDS)).hasCauseInstanceOf(IllegalStateException.class);
        assertThat(scheduler.submit("s", () -> "still working").get(20, TimeUnit.SECONDS)).isEqualTo("still working");

        CountDownLatch release = new CountDownLatch(1);
        CompletableFuture<Void> running = hold(scheduler, "s", release);
        CompletableFuture<String> queued = scheduler.submit("s", () -> "never");
        scheduler.close();
        assertThatThrownBy(() -> queued.get(20, TimeUnit.SECONDS)).hasCauseInstanceOf(RejectedExecutionException.class);
        assertThat(scheduler.queued()).isZero();
        assertThatThrownBy(() -> scheduler.submit("s", () -> "late")).isInstanceOf(RejectedExecutionException.class);
        release.countDown();
        assertThat(running.get(20, TimeUnit.SECONDS)).as("a running task finishes").isNull();
    }
}
