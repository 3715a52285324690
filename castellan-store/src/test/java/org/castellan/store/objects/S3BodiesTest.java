package org.castellan.store.objects;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.awaitility.Awaitility.await;
import static org.castellan.store.StoreAssertions.assertFails;
import static org.castellan.store.objects.PostgresS3StoreTest.message;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.castellan.store.Directory;
import org.castellan.store.DirectoryFixture;
import org.castellan.store.AppendResult;
import org.castellan.store.Mailbox;
import org.castellan.store.StoreException;
import org.castellan.store.MessageMeta;
import org.castellan.store.NewMessage;
import org.castellan.store.UidRange;
import org.castellan.store.postgres.PostgresStore;
import org.castellan.store.postgres.internal.BodyStore;
import org.castellan.testkit.ObjectStore;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.checksums.ResponseChecksumValidation;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.S3Object;

/**
 * {@link S3Bodies} under the PostgreSQL store, against a real PostgreSQL and a real S3-compatible
 * server (S3Proxy): where bodies go, what an unreachable or refusing service does to a write, and
 * when a released body leaves the object store (docs/store.md, "Bodies in an object store").
 */
class S3BodiesTest implements DirectoryFixture {

    private static final Instant AFTER_THE_GRACE = Instant.now().plus(S3Bodies.ORPHAN_GRACE).plus(Duration.ofMinutes(5));
    private static final Duration WAIT = Duration.ofSeconds(30);

    @TempDir
    static Path dir;
    private static S3StoreFixture fixture;

    private PostgresStore store;
    private S3Client s3;

    @BeforeAll
    static void startServers() {
        fixture = new S3StoreFixture(dir.resolve("objects"));
    }

    @AfterAll
    static void stopServers() {
        fixture.close();
    }

    @BeforeEach
    void open() throws SQLException {
        fixture.newDatabase();
        s3 = S3Client.builder()
                .endpointOverride(fixture.objects.endpoint())
                .forcePathStyle(true)
                .region(Region.of(ObjectStore.REGION))
                .credentialsProvider(StaticCredentialsProvider.create(
                        AwsBasicCredentials.create(fixture.objects.accessKey(), fixture.objects.secretKey())))
                .requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
                .responseChecksumValidation(ResponseChecksumValidation.WHEN_REQUIRED)
                .build();
        for (String key : objects()) s3.deleteObject(r -> r.bucket(ObjectStore.BUCKET).key(key));
    }

    @AfterEach
    void close() {
        if (store != null) store.close();
        s3.close();
    }

    private PostgresStore open(ObjectStoreSettings settings) {
        store = fixture.open(S3Bodies.open(settings));
        return store;
    }

    @Override
    public Directory directory() {
        return store;
    }

    private Mailbox inbox(String address) {
        return store.getMailbox(account(address).id(), "INBOX").orElseThrow();
    }

    @Test
    void aSmallBodyStaysInPostgresqlAndALargeOneIsAnObjectNamedByItsHash() throws Exception {
        open(fixture.settings(ObjectStoreSettings.DEFAULT_INLINE_MAX));
        Mailbox inbox = inbox("alice@example.org");
        byte[] small = message(ObjectStoreSettings.DEFAULT_INLINE_MAX, 1);
        byte[] large = message(ObjectStoreSettings.DEFAULT_INLINE_MAX + 1, 2);
        append(inbox, small);
        append(inbox, large);

        assertThat(objects()).containsExactly("blobs/" + sha256(large).substring(0, 2) + "/" + sha256(large));
        assertThat(rows("SELECT hash FROM blob_data")).containsExactly(sha256(small));
        assertThat(read(inbox, 1)).isEqualTo(small);
        assertThat(read(inbox, 2)).isEqualTo(large);
    }

    @Test
    void aBodyAlreadyInTheObjectStoreIsNotSentAgain() throws Exception {
        open(fixture.settings(0));
        Mailbox inbox = inbox("alice@example.org");
        byte[] body = "Subject: once\r\n\r\nthe same bytes twice".getBytes(UTF_8);
        append(inbox, body);
        // The object is replaced behind the store's back: a second put of the body would restore it.
        byte[] marker = "Subject: replaced outside\r\n\r\n".getBytes(UTF_8);
        s3.putObject(r -> r.bucket(ObjectStore.BUCKET).key(S3Bodies.key(sha256(body))), RequestBody.fromBytes(marker));

        append(inbox, body);
        assertThat(read(inbox, 2)).isEqualTo(marker);
    }

    @Test
    void serverSideEncryptionIsAskedForAndTheServicesRefusalIsReportedWithNothingStored() throws Exception {
        // S3Proxy does not offer SSE and answers 501 (docs/decisions/s3-test-server.md): the
        // refusal shows the header was sent, and the write fails whole.
        open(fixture.settings(0).withSse(ObjectStoreSettings.SSE_S3, Optional.empty()));
        Mailbox inbox = inbox("alice@example.org");
        assertFails(StoreException.Kind.UNAVAILABLE, "501 NotImplemented (server-side encryption AES256",
                () -> append(inbox, message(1000, 3)));
        assertThat(store.listMessages(inbox.id(), UidRange.all())).isEmpty();
        assertThat(rows("SELECT hash FROM blobs")).isEmpty();
        assertThat(objects()).isEmpty();
    }

    @Test
    void anUnreachableObjectStoreFailsTheWriteWholeAndWritesSucceedOnceItIsBack() throws Exception {
        open(fixture.settings(0));
        Mailbox inbox = inbox("alice@example.org");
        byte[] first = message(300_000, 4);
        byte[] second = message(400_000, 5);
        append(inbox, first);

        fixture.objects.close();
        try {
            assertFails(StoreException.Kind.UNAVAILABLE, "cannot be reached", () -> append(inbox, second));
            assertFails(StoreException.Kind.UNAVAILABLE, "cannot be reached", () -> store.openMessage(inbox.id(), 1));
            assertThat(store.listMessages(inbox.id(), UidRange.all())).extracting(MessageMeta::uid).containsExactly(1L);
            assertThat(rows("SELECT hash FROM blobs")).containsExactly(sha256(first));
        } finally {
            fixture.objects = fixture.objects.startAgain();
        }

        assertThat(append(inbox, second).uid()).isEqualTo(2);
        assertThat(read(inbox, 1)).isEqualTo(first);
        assertThat(read(inbox, 2)).isEqualTo(second);
    }

    @Test
    void aReleasedBodyOutlivesTheProcessAndIsCollectedOnlyAfterTheGrace() throws Exception {
        open(fixture.settings(0));
        Mailbox inbox = inbox("alice@example.org");
        byte[] body = message(200_000, 6);
        append(inbox, body);
        store.expunge(inbox.id(), List.of(1L));
        assertThat(objects()).hasSize(1);

        // A crash between the release and the collection: the record is in PostgreSQL.
        store.close();
        open(fixture.settings(0));
        assertThat(store.collectOrphans(Instant.now())).isZero();
        assertThat(objects()).hasSize(1);

        assertThat(store.collectOrphans(AFTER_THE_GRACE)).isEqualTo(1);
        assertThat(objects()).isEmpty();
        assertThat(rows("SELECT hash FROM body_orphans")).isEmpty();
    }

    @Test
    void aBodyReferencedAgainBeforeTheCollectionStays() throws Exception {
        open(fixture.settings(0));
        Mailbox inbox = inbox("alice@example.org");
        byte[] body = message(200_000, 7);
        append(inbox, body);
        store.expunge(inbox.id(), List.of(1L));
        append(inbox, body);

        assertThat(store.collectOrphans(AFTER_THE_GRACE)).isZero();
        assertThat(read(inbox, 2)).isEqualTo(body);
    }

    /**
     * The race the grace period and the row lock close: a writer has put a released body again,
     * its transaction not yet committed, when a collection run starts; the body must survive.
     */
    @Test
    void aBodyPutForATransactionInFlightSurvivesACollectionStartedMeanwhile() throws Exception {
        PausingBodies bodies = new PausingBodies(S3Bodies.open(fixture.settings(0)));
        store = fixture.open(bodies);
        Mailbox inbox = inbox("alice@example.org");
        byte[] body = message(250_000, 8);
        append(inbox, body);
        store.expunge(inbox.id(), List.of(1L));

        ExecutorService threads = Executors.newFixedThreadPool(2);
        try {
            bodies.pauseNextPut();
            Future<AppendResult> writer = threads.submit(() -> append(inbox, body));
            assertThat(bodies.put.await(WAIT.toSeconds(), TimeUnit.SECONDS)).isTrue();

            Future<Integer> collector = threads.submit(() -> store.collectOrphans(AFTER_THE_GRACE));
            assertThat(collector.get(WAIT.toSeconds(), TimeUnit.SECONDS)).isZero();
            bodies.proceed.countDown();
            assertThat(writer.get(WAIT.toSeconds(), TimeUnit.SECONDS).uid()).isEqualTo(2);
        } finally {
            bodies.proceed.countDown();
            threads.shutdownNow();
        }

        assertThat(store.collectOrphans(AFTER_THE_GRACE)).isZero();
        assertThat(read(inbox, 2)).isEqualTo(body);
        assertThat(objects()).hasSize(1);
    }

    /**
     * A large body goes to the object store before the append takes its mailbox's row, so appends
     * to one mailbox do not wait for each other's uploads: while another transaction holds the
     * row, the object is there already and the append waits; it commits once the row is free.
     */
    @Test
    void aLargeBodyIsUploadedBeforeTheAppendWaitsForItsMailbox() throws Exception {
        open(fixture.settings(0));
        Mailbox inbox = inbox("alice@example.org");
        byte[] body = message(300_000, 14);
        ExecutorService threads = Executors.newSingleThreadExecutor();
        try (Connection holder = fixture.connect()) {
            holder.setAutoCommit(false);
            try (Statement s = holder.createStatement()) {
                s.execute("SELECT 1 FROM mailboxes WHERE id = " + inbox.id() + " FOR UPDATE");
            }
            Future<AppendResult> writer = threads.submit(() -> append(inbox, body));
            await().atMost(WAIT).until(() -> objects().contains(S3Bodies.key(sha256(body))));
            assertThat(writer).isNotDone();
            holder.rollback();
            assertThat(writer.get(WAIT.toSeconds(), TimeUnit.SECONDS).uid()).isEqualTo(1);
        } finally {
            threads.shutdownNow();
        }
        assertThat(read(inbox, 1)).isEqualTo(body);
        assertThat(objects()).hasSize(1);
    }

    /**
     * An append whose first body reached the object store and whose second did not is rolled
     * back whole; the first object, which no row records, is swept once the grace has passed,
     * while recorded and referenced bodies are left alone.
     */
    @Test
    void aBodyPutByATransactionThatRolledBackIsSweptAfterTheGrace() throws Exception {
        PausingBodies bodies = new PausingBodies(S3Bodies.open(fixture.settings(0)));
        store = fixture.open(bodies);
        Mailbox inbox = inbox("alice@example.org");
        byte[] kept = message(150_000, 9);
        byte[] released = message(160_000, 10);
        append(inbox, kept);
        append(inbox, released);
        store.expunge(inbox.id(), List.of(2L));

        ExecutorService threads = Executors.newSingleThreadExecutor();
        try {
            bodies.pauseNextPut();
            Future<List<AppendResult>> writer = threads.submit(() -> store.appendAll(inbox.id(), List.of(
                    new NewMessage(() -> new ByteArrayInputStream(message(170_000, 11)), Set.of(), null),
                    new NewMessage(() -> new ByteArrayInputStream(message(180_000, 12)), Set.of(), null))));
            assertThat(bodies.put.await(WAIT.toSeconds(), TimeUnit.SECONDS)).isTrue();
            fixture.objects.close();
            try {
                bodies.proceed.countDown();
                assertThat(catchThrowable(() -> writer.get(WAIT.toSeconds(), TimeUnit.SECONDS)))
                        .hasCauseInstanceOf(StoreException.class).hasMessageContaining("cannot be reached");
            } finally {
                fixture.objects = fixture.objects.startAgain();
            }
        } finally {
            bodies.proceed.countDown();
            threads.shutdownNow();
        }
        assertThat(store.listMessages(inbox.id(), UidRange.all())).extracting(MessageMeta::uid).containsExactly(1L);
        assertThat(objects()).hasSize(3);

        assertThat(store.sweepBodies(Instant.now())).isZero();
        assertThat(store.sweepBodies(AFTER_THE_GRACE)).isEqualTo(1);
        assertThat(objects()).containsExactlyInAnyOrder(S3Bodies.key(sha256(kept)), S3Bodies.key(sha256(released)));
        assertThat(read(inbox, 1)).isEqualTo(kept);
    }

    /**
     * A writer found an object no row records (left by a rolled-back append) and counts on it,
     * its transaction not yet committed, when a sweep runs: the sweep must leave it.
     */
    @Test
    void aSweepLeavesAnUnrecordedObjectATransactionInFlightCountsOn() throws Exception {
        PausingBodies bodies = new PausingBodies(S3Bodies.open(fixture.settings(0)));
        store = fixture.open(bodies);
        Mailbox inbox = inbox("alice@example.org");
        byte[] body = message(190_000, 13);
        s3.putObject(r -> r.bucket(ObjectStore.BUCKET).key(S3Bodies.key(sha256(body))), RequestBody.fromBytes(body));

        ExecutorService threads = Executors.newFixedThreadPool(2);
        try {
            bodies.pauseNextPut();
            Future<AppendResult> writer = threads.submit(() -> append(inbox, body));
            assertThat(bodies.put.await(WAIT.toSeconds(), TimeUnit.SECONDS)).isTrue();

            Future<Integer> sweep = threads.submit(() -> store.sweepBodies(AFTER_THE_GRACE));
            assertThat(sweep.get(WAIT.toSeconds(), TimeUnit.SECONDS)).isZero();
            bodies.proceed.countDown();
            assertThat(writer.get(WAIT.toSeconds(), TimeUnit.SECONDS).uid()).isEqualTo(1);
        } finally {
            bodies.proceed.countDown();
            threads.shutdownNow();
        }

        assertThat(store.sweepBodies(AFTER_THE_GRACE)).isZero();
        assertThat(read(inbox, 1)).isEqualTo(body);
    }

    /** S3 bodies whose next put, once asked to, waits after storing the body: the transaction stays open. */
    private static final class PausingBodies implements BodyStore {
        private final S3Bodies bodies;
        final CountDownLatch put = new CountDownLatch(1);
        final CountDownLatch proceed = new CountDownLatch(1);
        private volatile boolean pause;

        PausingBodies(S3Bodies bodies) {
            this.bodies = bodies;
        }

        void pauseNextPut() {
            pause = true;
        }

        @Override
        public void put(Connection c, String hash, byte[] bytes) throws SQLException {
            bodies.put(c, hash, bytes);
            if (!pause) return;
            pause = false;
            put.countDown();
            try {
                proceed.await(WAIT.toSeconds(), TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }

        @Override
        public Optional<InputStream> open(Connection c, String hash) throws SQLException {
            return bodies.open(c, hash);
        }

        @Override
        public void delete(Connection c, String hash) throws SQLException {
            bodies.delete(c, hash);
        }

        @Override
        public int collectOrphans(Connection c, Instant now) throws SQLException {
            return bodies.collectOrphans(c, now);
        }

        @Override
        public int sweep(Connection c, Instant now) throws SQLException {
            return bodies.sweep(c, now);
        }

        @Override
        public void close() {
            bodies.close();
        }
    }

    private AppendResult append(Mailbox mailbox, byte[] body) {
        return store.append(mailbox.id(), body, Set.of(), null);
    }

    private byte[] read(Mailbox mailbox, long uid) throws IOException {
        try (InputStream in = store.openMessage(mailbox.id(), uid)) {
            return in.readAllBytes();
        }
    }

    private List<String> objects() {
        return s3.listObjectsV2(r -> r.bucket(ObjectStore.BUCKET).prefix("blobs/")).contents().stream()
                .map(S3Object::key).toList();
    }

    private List<String> rows(String sql) throws SQLException {
        try (Connection c = fixture.connect(); Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            List<String> out = new ArrayList<>();
            while (rs.next()) out.add(rs.getString(1));
            return out;
        }
    }

    private static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java runtime has SHA-256", e);
        }
    }
}
