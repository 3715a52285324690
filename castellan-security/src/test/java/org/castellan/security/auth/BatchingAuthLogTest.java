package org.castellan.security.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class BatchingAuthLogTest {

    private static AuthLog.Attempt attempt(int n) {
        return new AuthLog.Attempt(Instant.EPOCH.plusSeconds(n), "192.0.2.1", "imaps", "imap", "PLAIN",
                Optional.of("alice@example.org"), "OK", Optional.of("TLSv1.3"), Optional.empty(), Optional.empty());
    }

    @Test
    void attemptsReachTheSinkInOrderAndCloseWritesWhatIsQueued() {
        List<AuthLog.Attempt> stored = new CopyOnWriteArrayList<>();
        BatchingAuthLog log = new BatchingAuthLog(stored::addAll);
        for (int i = 0; i < 1000; i++) log.record(attempt(i));
        log.close();
        assertThat(stored).hasSize(1000);
        for (int i = 0; i < 1000; i++) assertThat(stored.get(i)).isEqualTo(attempt(i));
        assertThat(log.dropped()).isZero();
        log.record(attempt(1000));
        assertThat(log.dropped()).as("after close nothing is taken").isEqualTo(1);
    }

    @Test
    void aStuckSinkNeverBlocksTheCallerAndExcessIsDroppedAndCounted() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        CountDownLatch inSink = new CountDownLatch(1);
        List<AuthLog.Attempt> stored = new CopyOnWriteArrayList<>();
        BatchingAuthLog log = new BatchingAuthLog(batch -> {
            inSink.countDown();
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            stored.addAll(batch);
        });
        log.record(attempt(0));
        assertThat(inSink.await(10, TimeUnit.SECONDS)).isTrue();
        int offered = BatchingAuthLog.MAX_QUEUED + 50;
        for (int i = 1; i <= offered; i++) log.record(attempt(i));
        assertThat(log.dropped()).isEqualTo(50);
        release.countDown();
        await().atMost(Duration.ofSeconds(20)).until(() -> stored.size() == 1 + BatchingAuthLog.MAX_QUEUED);
        log.close();
    }

    @Test
    void aFailingSinkLosesOnlyItsBatch() {
        List<AuthLog.Attempt> stored = new CopyOnWriteArrayList<>();
        CountDownLatch failed = new CountDownLatch(1);
        BatchingAuthLog log = new BatchingAuthLog(batch -> {
            if (batch.contains(attempt(0))) {
                failed.countDown();
                throw new IllegalStateException("database locked");
            }
            stored.addAll(batch);
        });
        log.record(attempt(0));
        await().atMost(Duration.ofSeconds(20)).until(() -> failed.getCount() == 0);
        log.record(attempt(1));
        await().atMost(Duration.ofSeconds(20)).until(() -> stored.contains(attempt(1)));
        log.close();
    }
}
