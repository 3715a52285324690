package org.castellan.store.embedded.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.castellan.store.StoreException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The read pool closing while a read is under way: the read ends first, nothing is closed under it. */
class ReadPoolTest {

    @TempDir Path tmp;

    @Test
    void closeWaitsForAReadUnderWayAndLaterReadsAreRefused() throws Exception {
        Connection connection = DriverManager.getConnection("jdbc:sqlite:" + tmp.resolve("db.sqlite"));
        ReadPool pool = new ReadPool(List.of(connection));
        CountDownLatch started = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        CompletableFuture<Long> read = CompletableFuture.supplyAsync(() -> pool.read("count", c -> {
            started.countDown();
            try {
                release.await(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return Sql.count(c, "SELECT 1");
        }));
        assertThat(started.await(30, TimeUnit.SECONDS)).isTrue();

        Thread closer = new Thread(pool::close, "closer");
        closer.start();
        // Either it waits for the read (as it must) or it has closed the connection under it already.
        await().atMost(Duration.ofSeconds(30)).until(() -> closer.getState() == Thread.State.TIMED_WAITING
                || closer.getState() == Thread.State.WAITING || closer.getState() == Thread.State.TERMINATED);
        release.countDown();

        assertThat(read.get(30, TimeUnit.SECONDS)).isEqualTo(1L);
        closer.join(30_000);
        assertThat(closer.isAlive()).isFalse();
        assertThat(connection.isClosed()).isTrue();
        assertThatThrownBy(() -> pool.read("count", c -> Sql.count(c, "SELECT 1")))
                .isInstanceOfSatisfying(StoreException.class, e -> assertThat(e.kind()).isEqualTo(StoreException.Kind.UNAVAILABLE))
                .hasMessageContaining("closed");
    }
}
