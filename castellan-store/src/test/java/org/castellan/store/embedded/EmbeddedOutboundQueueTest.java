package org.castellan.store.embedded;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.ByteArrayInputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.castellan.store.AppendResult;
import org.castellan.store.Directory;
import org.castellan.store.Mailbox;
import org.castellan.store.Mailboxes;
import org.castellan.store.embedded.internal.BlobStore;
import org.castellan.store.queue.DueMessage;
import org.castellan.store.queue.OutboundQueue;
import org.castellan.store.queue.OutboundQueueContract;
import org.castellan.store.queue.QueuedMessage;
import org.castellan.store.queue.QueuedRecipient;
import org.castellan.store.queue.RecipientState;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The queue contract on a fresh embedded store per test, and what only the embedded store shows. */
class EmbeddedOutboundQueueTest implements OutboundQueueContract {

    @TempDir
    Path directory;

    private EmbeddedMailStore store;

    @BeforeEach
    void open() {
        store = EmbeddedMailStore.open(directory);
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

    /** A body too large to live in the database, so it becomes a file under blobs/. */
    private static byte[] fileSized(String text) {
        byte[] head = text.getBytes(UTF_8);
        byte[] body = Arrays.copyOf(head, EmbeddedMailStore.INLINE_MAX + 1);
        Arrays.fill(body, head.length, body.length, (byte) 'x');
        return body;
    }

    private Path bodyFile(String blobId) {
        return directory.resolve("blobs").resolve(blobId.substring(0, 2)).resolve(blobId);
    }

    private long count(String sql) throws Exception {
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + directory.resolve("mail.db"));
                Statement st = c.createStatement();
                ResultSet rs = st.executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        }
    }

    private QueuedMessage enqueue(byte[] body) {
        return store.enqueue(OutboundQueueContract.message("local@example.org", T0, OutboundQueueContract.rcpt(
                "bob@example.net")), new ByteArrayInputStream(body));
    }

    /** Every recipient finished and reported, as the engine leaves a message for the purge. */
    private void finish(QueuedMessage m) {
        store.lease(T0, T0.plus(LEASE), 100);
        List<QueuedRecipient> recipients = store.get(m.id()).orElseThrow().recipients();
        store.record(recipients.stream().map(r -> OutboundQueueContract.delivered(r, T0.plusSeconds(1))).toList());
        store.markReported(recipients.stream().map(QueuedRecipient::id).toList(), OutboundQueue.Report.FINAL);
    }

    @Test
    void theQueueAndItsLeasesSurviveCloseAndReopen() throws Exception {
        byte[] large = fileSized("Subject: kept\r\n\r\n");
        QueuedMessage leased = enqueue("Subject: leased\r\n\r\n".getBytes(UTF_8));
        QueuedMessage waiting = enqueue(large);
        assertThat(store.lease(T0, T0.plus(LEASE), 1)).hasSize(1); // the first: leased
        store.hold(waiting.id());
        QueuedMessage leasedBefore = store.get(leased.id()).orElseThrow();
        QueuedMessage waitingBefore = store.get(waiting.id()).orElseThrow();
        store.close();

        store = EmbeddedMailStore.open(directory);

        assertThat(store.get(leased.id())).contains(leasedBefore);
        assertThat(store.get(waiting.id())).contains(waitingBefore);
        assertThat(contentOf(waiting.id())).isEqualTo(large);
        assertThat(store.lease(T0.plusSeconds(1), T0.plus(LEASE), 10)).isEmpty(); // one leased, one held
        store.release(waiting.id());
        List<DueMessage> due = store.lease(T0.plus(LEASE), T0.plus(LEASE).plus(LEASE), 10);
        assertThat(due).extracting(d -> d.message().id()).containsExactly(leased.id(), waiting.id());
    }

    @Test
    void aBodyFileSharedByAMailboxAndTheQueueGoesWithTheLastOfThem() throws Exception {
        byte[] body = fileSized("Subject: local and remote\r\n\r\n");
        Mailbox inbox = localInbox();
        AppendResult local = store.append(inbox.id(), body, Set.of(), T0);
        QueuedMessage queued = enqueue(body);
        Path file = bodyFile(local.blobId());
        assertThat(count("SELECT refcount FROM blobs")).isEqualTo(2);

        store.expunge(inbox.id(), List.of(local.uid()));
        assertThat(file).exists();
        assertThat(contentOf(queued.id())).isEqualTo(body);
        assertThat(store.purgeFinished()).isZero();
        assertThat(file).exists();

        finish(queued);
        assertThat(store.purgeFinished()).isEqualTo(1);
        await().atMost(Duration.ofSeconds(10)).until(() -> !Files.exists(file));
        assertThat(count("SELECT count(*) FROM blobs")).isZero();
    }

    @Test
    void aBodyFileStaysForTheMailboxWhenItsQueueEntryIsPurged() throws Exception {
        byte[] body = fileSized("Subject: remote and local\r\n\r\n");
        Mailbox inbox = localInbox();
        QueuedMessage queued = enqueue(body);
        AppendResult local = store.append(inbox.id(), body, Set.of(), T0);
        finish(queued);

        assertThat(store.purgeFinished()).isEqualTo(1);
        store.append(inbox.id(), "Subject: another write, another collection\r\n\r\n".getBytes(UTF_8), Set.of(), T0);

        assertThat(bodyFile(local.blobId())).exists();
        assertThat(count("SELECT refcount FROM blobs WHERE hash = '" + local.blobId() + "'")).isEqualTo(1);
        store.expunge(inbox.id(), List.of(local.uid()));
        await().atMost(Duration.ofSeconds(10)).until(() -> !Files.exists(bodyFile(local.blobId())));
    }

    @Test
    void aSmallBodyOnlyQueuedLeavesTheDatabaseWithItsMessage() throws Exception {
        QueuedMessage purged = enqueue("Subject: small\r\n\r\npurged\r\n".getBytes(UTF_8));
        QueuedMessage deleted = enqueue("Subject: small\r\n\r\ndeleted\r\n".getBytes(UTF_8));
        assertThat(count("SELECT count(*) FROM blob_data")).isEqualTo(2);

        finish(purged);
        store.purgeFinished();
        store.delete(deleted.id());

        assertThat(count("SELECT count(*) FROM blob_data")).isZero();
        assertThat(count("SELECT count(*) FROM blobs")).isZero();
        assertThat(count("SELECT count(*) FROM queue_recipients")).isZero();
    }

    @Test
    void aLargeBodyOnlyQueuedIsRemovedWithItsMessage() {
        byte[] body = fileSized("Subject: large\r\n\r\n");
        QueuedMessage m = enqueue(body);
        Path file = bodyFile(HexFormat.of().formatHex(BlobStore.sha256().digest(body)));
        assertThat(file).exists();

        store.delete(m.id());

        await().atMost(Duration.ofSeconds(10)).until(() -> !Files.exists(file));
    }

    /**
     * 100,000 recipient rows: a lease reads the due index up to its size and no further, so it
     * hands out exactly the oldest recipients it was asked for, whatever the queue's length.
     */
    @Test
    void aLeaseOnALongQueueTakesTheOldestRecipientsOnly() throws Exception {
        int messages = 10_000;
        int perMessage = 10;
        ExecutorService submitters = Executors.newFixedThreadPool(16);
        try {
            List<Future<?>> done = new ArrayList<>();
            for (int t = 0; t < 16; t++) {
                int first = t;
                done.add(submitters.submit(() -> {
                    for (int i = first; i < messages; i += 16) {
                        String[] to = new String[perMessage];
                        for (int r = 0; r < perMessage; r++) to[r] = "r" + r + "@d" + (i % 50) + ".example";
                        enqueue(T0.plusMillis(i), to);
                    }
                }));
            }
            for (Future<?> f : done) f.get();
        } finally {
            submitters.shutdownNow();
        }
        assertThat(count("SELECT count(*) FROM queue_recipients")).isEqualTo((long) messages * perMessage);
        Instant now = T0.plusSeconds(60);

        List<DueMessage> first = store.lease(now, now.plus(LEASE), 25);
        List<DueMessage> second = store.lease(now, now.plus(LEASE), 25);

        assertThat(first).hasSize(3); // 10 + 10 + 5 recipients of the three oldest messages
        assertThat(first).extracting(d -> d.message().arrival())
                .containsExactly(T0, T0.plusMillis(1), T0.plusMillis(2));
        assertThat(first.get(2).recipients()).hasSize(5);
        assertThat(second.get(0).message().arrival()).isEqualTo(T0.plusMillis(2));
        assertThat(second.get(0).recipients()).hasSize(5);
        assertThat(store.nextAttempt()).contains(T0.plusMillis(5)); // the oldest not leased
        assertThat(store.list(3)).extracting(QueuedMessage::arrival).containsExactly(T0, T0.plusMillis(1), T0.plusMillis(2));
        assertThat(first.get(0).recipients()).allMatch(r -> r.state() == RecipientState.QUEUED);
    }
}
