package org.castellan.store.postgres;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.castellan.store.Directory;
import org.castellan.store.Mailboxes;
import org.castellan.store.queue.DueMessage;
import org.castellan.store.queue.OutboundQueue;
import org.castellan.store.queue.OutboundQueueContract;
import org.castellan.store.queue.QueuedMessage;
import org.castellan.store.queue.QueuedRecipient;
import org.castellan.testkit.Postgres;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The queue contract on a real PostgreSQL server (one per class, a new database per test), and
 * what only a shared database shows: two nodes, each with its own store and pool, leasing from one
 * queue at once never get the same recipient, and a message one node queued is read and finished
 * by the other.
 */
class PostgresOutboundQueueTest implements OutboundQueueContract {

    private static Postgres server;
    private static int databases;

    private String url;
    private PostgresStore store;

    @BeforeAll
    static void startServer() {
        server = Postgres.start();
    }

    @AfterAll
    static void stopServer() {
        server.close();
    }

    @BeforeEach
    void open() throws SQLException {
        url = MigratedDatabases.create(server, "queue_" + ++databases);
        store = PostgresStore.open(url, server.user(), server.password(), 2);
    }

    @AfterEach
    void close() {
        store.close();
    }

    @Override
    public OutboundQueue queue() {
        return store;
    }

    @Override
    public Directory directory() {
        return store;
    }

    @Override
    public Mailboxes mailboxes() {
        return store;
    }

    @Test
    void twoNodesLeasingAtOnceNeverGetTheSameRecipient() throws Exception {
        int messages = 60;
        for (int i = 0; i < messages; i++) {
            enqueue(T0.plusMillis(i), "r" + i + "a@x.example", "r" + i + "b@y.example", "r" + i + "c@x.example");
        }
        try (PostgresStore other = PostgresStore.open(url, server.user(), server.password(), 2)) {
            List<PostgresStore> nodes = List.of(store, other);
            ExecutorService threads = Executors.newFixedThreadPool(4);
            try {
                CountDownLatch start = new CountDownLatch(1);
                List<Future<List<Long>>> engines = new ArrayList<>();
                for (int e = 0; e < 4; e++) {
                    OutboundQueue node = nodes.get(e % 2); // two engines per node, four connections at once
                    engines.add(threads.submit(() -> {
                        start.await();
                        List<Long> mine = new ArrayList<>();
                        Instant now = T0.plusSeconds(1);
                        // Bounded: a lease that handed out leased recipients again would never run dry.
                        for (int round = 0; round < messages * 3; round++) {
                            List<DueMessage> due = node.lease(now, now.plus(LEASE), 5);
                            if (due.isEmpty()) break;
                            for (DueMessage d : due) d.recipients().forEach(r -> mine.add(r.id()));
                        }
                        return mine;
                    }));
                }
                start.countDown();
                List<Long> all = new ArrayList<>();
                List<Integer> perEngine = new ArrayList<>();
                for (Future<List<Long>> f : engines) {
                    List<Long> mine = f.get();
                    perEngine.add(mine.size());
                    all.addAll(mine);
                }
                assertThat(all).hasSize(messages * 3).doesNotHaveDuplicates();
                assertThat(other.lease(T0.plusSeconds(2), T0.plusSeconds(2).plus(LEASE), 100)).isEmpty();
            } finally {
                threads.shutdownNow();
            }
        }
    }

    /**
     * A lease that lapsed (its node died, or stalled past it) and was taken by another node stays
     * that node's: the first node's renewal, coming late, does not take it back.
     */
    @Test
    void aNodeRenewsOnlyItsOwnLeases() throws Exception {
        enqueue(T0, "bob@example.net");
        List<Long> ids = store.lease(T0, T0.plus(LEASE), 10).get(0).recipients().stream().map(r -> r.id()).toList();
        try (PostgresStore other = PostgresStore.open(url, server.user(), server.password(), 2)) {
            Instant lapsed = T0.plus(LEASE).plusSeconds(1);
            assertThat(other.lease(lapsed, lapsed.plus(LEASE), 10)).hasSize(1);
            assertThat(store.renewLeases(ids, lapsed.plus(LEASE.multipliedBy(5)))).isZero();
            assertThat(other.renewLeases(ids, lapsed.plus(LEASE.multipliedBy(2)))).isEqualTo(1);
            assertThat(store.nextAttempt()).contains(lapsed.plus(LEASE.multipliedBy(2)));
        }
    }

    @Test
    void aMessageQueuedOnOneNodeIsDeliveredAndPurgedByTheOther() throws Exception {
        byte[] body = "Subject: across\r\n\r\nfrom node one\r\n".getBytes(UTF_8);
        QueuedMessage m = store.enqueue(OutboundQueueContract.message("alice@example.org", T0,
                OutboundQueueContract.rcpt("bob@example.net")), new ByteArrayInputStream(body));
        try (PostgresStore other = PostgresStore.open(url, server.user(), server.password(), 2)) {
            List<DueMessage> due = other.lease(T0, T0.plus(LEASE), 10);
            assertThat(due).singleElement().satisfies(d -> assertThat(d.message().id()).isEqualTo(m.id()));
            try (var in = other.openContent(m.id())) {
                assertThat(in.readAllBytes()).isEqualTo(body);
            }
            assertThat(store.lease(T0, T0.plus(LEASE), 10)).isEmpty(); // leased by the other node
            QueuedRecipient r = due.getFirst().recipients().getFirst();
            other.record(List.of(OutboundQueueContract.delivered(r, T0.plusSeconds(1))));
            other.markReported(List.of(r.id()), OutboundQueue.Report.FINAL);
            assertThat(store.purgeFinished()).isEqualTo(1);
            assertThat(other.purgeFinished()).isZero();
            assertThat(other.get(m.id())).isEmpty();
        }
    }

    /** An engine starting on one node ends the leases of a process that died there, never another node's. */
    @Test
    void releasingLeasesOnOneNodeLeavesTheOtherNodesLeases() {
        QueuedMessage m = enqueue(T0, "bob@example.net");
        try (PostgresStore other = PostgresStore.open(url, server.user(), server.password(), 2)) {
            assertThat(other.lease(T0, T0.plus(LEASE), 10)).hasSize(1);
            assertThat(store.releaseLeases()).isZero();
            assertThat(store.lease(T0.plusSeconds(1), T0.plus(LEASE), 10)).isEmpty();
            assertThat(other.releaseLeases()).isEqualTo(1);
            assertThat(OutboundQueueContract.shape(store.lease(T0.plusSeconds(1), T0.plus(LEASE), 10)))
                    .containsExactly(m.id() + " example.net bob@example.net");
        }
    }
}
