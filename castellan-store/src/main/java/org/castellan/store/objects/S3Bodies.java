package org.castellan.store.objects;

import java.io.InputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import java.util.Optional;
import org.castellan.store.StoreException;
import org.castellan.store.postgres.internal.BodyStore;
import org.castellan.store.postgres.internal.InlineBodies;
import org.castellan.store.postgres.internal.Pg;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.checksums.ResponseChecksumValidation;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.http.apache5.Apache5HttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.S3ClientBuilder;
import software.amazon.awssdk.services.s3.model.NoSuchKeyException;
import software.amazon.awssdk.services.s3.model.PutObjectRequest;
import software.amazon.awssdk.services.s3.model.S3Exception;
import software.amazon.awssdk.services.s3.model.S3Object;

/**
 * Message bodies of the PostgreSQL store in an S3-compatible object store (docs/store.md, "Bodies
 * in an object store"). Bodies up to {@link ObjectStoreSettings#inlineMax()} stay in PostgreSQL
 * ({@link InlineBodies}); larger ones are objects named {@code blobs/<2 hex>/<sha256 hex>}.
 *
 * <p>Durability: {@link #put} returns once the service answered the PUT with success, and it runs
 * inside the transaction that references the body, before that commits; so a write is
 * acknowledged only when both hold. A body already present is not sent again (HEAD). Two nodes
 * putting the same new body at once both write it: the key names the content, so either write
 * leaves the same bytes, and nothing rests on a conditional put (which S3-compatible servers do
 * not all make atomic).
 *
 * <p>Collection: {@link #delete} records the body in {@code body_orphans} in the releasing
 * transaction; {@link #collectOrphans} deletes the object once {@link #ORPHAN_GRACE} has passed,
 * holding the row's lock, and only if no {@code blobs} row names it. A transaction that
 * references the body again deletes the row first (waiting for a collector holding it, or making
 * it skip the row) and only then looks for the object, so a body put for a transaction in flight
 * is never collected.
 *
 * <p>Failure: an unreachable or refusing service is {@link StoreException.Kind#UNAVAILABLE}, with
 * the status and S3 error code; the transaction is rolled back, so no message row is left without
 * its body. The client reconnects by itself.
 */
public final class S3Bodies implements BodyStore {

    /**
     * How long a released body stays in the object store before it is collected: longer than any
     * transaction's put-to-commit window (an append of the largest message over a slow link), so
     * that even a writer outside the row-lock protocol could not lose a body it put.
     */
    public static final Duration ORPHAN_GRACE = Duration.ofHours(1);

    /** Orphans one collection transaction handles, so that its locks are short. */
    static final int COLLECT_BATCH = 100;

    /** How long connecting to the service may take before the attempt fails. */
    static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(5);

    private final S3Client s3;
    private final ObjectStoreSettings settings;
    private final InlineBodies inline = new InlineBodies();

    private S3Bodies(S3Client s3, ObjectStoreSettings settings) {
        this.s3 = s3;
        this.settings = settings;
    }

    /** A client for the service {@code settings} name; nothing is sent until the first body. */
    public static S3Bodies open(ObjectStoreSettings settings) {
        S3ClientBuilder builder = S3Client.builder()
                .region(Region.of(settings.region()))
                .forcePathStyle(settings.pathStyle())
                .credentialsProvider(StaticCredentialsProvider.create(
                        AwsBasicCredentials.create(settings.accessKey(), settings.secretKey())))
                // Checksums where S3 requires them, plus Content-MD5 on every put: what AWS, MinIO
                // and Ceph RGW all check (docs/decisions/s3-test-server.md).
                .requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
                .responseChecksumValidation(ResponseChecksumValidation.WHEN_REQUIRED)
                .httpClientBuilder(Apache5HttpClient.builder().connectionTimeout(CONNECT_TIMEOUT));
        settings.endpoint().ifPresent(builder::endpointOverride);
        return new S3Bodies(builder.build(), settings);
    }

    /** The object's key: {@code blobs/<first two hex digits>/<hash>}, spreading keys over prefixes. */
    static String key(String hash) {
        return "blobs/" + hash.substring(0, 2) + "/" + hash;
    }

    @Override
    public void put(Connection c, String hash, byte[] bytes) throws SQLException {
        if (bytes.length <= settings.inlineMax()) {
            inline.put(c, hash, bytes);
            return;
        }
        // Held until this transaction ends, so a sweep never deletes what it is about to reference.
        Pg.exists(c, "SELECT pg_advisory_xact_lock_shared(?)", lockKey(hash));
        // Taken back from the collector first: its row lock orders this against a collection run.
        Pg.update(c, "DELETE FROM body_orphans WHERE hash = ?", hash);
        // Normally sent ahead already (sendAhead), and then only looked for; gone again if collected meanwhile.
        upload(hash, bytes);
    }

    /**
     * The upload without the transaction's locks: an object put here that no transaction comes to
     * reference is younger than the grace until the sweep, and then swept; one the collector takes
     * meanwhile is put again by {@link #put}, which looks again under the locks.
     */
    @Override
    public void sendAhead(String hash, byte[] bytes) {
        if (bytes.length > settings.inlineMax()) upload(hash, bytes);
    }

    /** Puts the object unless it is there already (HEAD). */
    private void upload(String hash, byte[] bytes) {
        String key = key(hash);
        call("store body " + hash, () -> {
            if (present(key)) return null;
            PutObjectRequest.Builder put = PutObjectRequest.builder().bucket(settings.bucket()).key(key)
                    .contentLength((long) bytes.length).contentMD5(md5(bytes));
            settings.sse().ifPresent(put::serverSideEncryption);
            settings.kmsKeyId().ifPresent(put::ssekmsKeyId);
            s3.putObject(put.build(), RequestBody.fromBytes(bytes));
            return null;
        });
    }

    private boolean present(String key) {
        try {
            s3.headObject(r -> r.bucket(settings.bucket()).key(key));
            return true;
        } catch (NoSuchKeyException e) {
            return false;
        } catch (S3Exception e) {
            if (e.statusCode() == 404) return false; // HEAD has no body, so no error code to tell NoSuchKey by
            throw e;
        }
    }

    @Override
    public Optional<InputStream> open(Connection c, String hash) throws SQLException {
        Optional<InputStream> stored = inline.open(c, hash);
        if (stored.isPresent()) return stored;
        return call("read body " + hash, () -> {
            try {
                return Optional.of(s3.getObject(r -> r.bucket(settings.bucket()).key(key(hash))));
            } catch (NoSuchKeyException e) {
                return Optional.empty();
            }
        });
    }

    @Override
    public void delete(Connection c, String hash) throws SQLException {
        if (Pg.update(c, "DELETE FROM blob_data WHERE hash = ?", hash) > 0) return;
        Pg.update(c, "INSERT INTO body_orphans (hash, since) VALUES (?, ?) ON CONFLICT (hash) DO UPDATE SET since = EXCLUDED.since",
                hash, Instant.now());
    }

    @Override
    public int collectOrphans(Connection c, Instant now) throws SQLException {
        // SKIP LOCKED: a row a writer is taking back (or another node collects) is not waited for.
        List<String> due = Pg.list(c, "SELECT hash FROM body_orphans WHERE since < ? ORDER BY since LIMIT ?"
                + " FOR UPDATE SKIP LOCKED", rs -> rs.getString(1), now.minus(ORPHAN_GRACE), (long) COLLECT_BATCH);
        int deleted = 0;
        for (String hash : due) {
            if (!Pg.exists(c, "SELECT 1 FROM blobs WHERE hash = ?", hash)) {
                call("delete body " + hash, () -> s3.deleteObject(r -> r.bucket(settings.bucket()).key(key(hash))));
                deleted++;
            }
            Pg.update(c, "DELETE FROM body_orphans WHERE hash = ?", hash);
        }
        return deleted;
    }

    /**
     * Deletes objects older than {@link #ORPHAN_GRACE} before {@code now} that nothing records:
     * no {@code blobs} row and no {@code body_orphans} row (those are the collector's). They are
     * left by a transaction that put a body and then rolled back (a later body of the same append
     * failed, the commit failed, the process died). A writer holds a shared advisory lock on the
     * hash from before it looks for the object until it ends; an object whose lock this cannot
     * take at once is skipped. Lists the whole bucket prefix: run it rarely.
     */
    @Override
    public int sweep(Connection c, Instant now) throws SQLException {
        Instant before = now.minus(ORPHAN_GRACE);
        List<S3Object> old = call("list bodies", () -> s3.listObjectsV2Paginator(r -> r.bucket(settings.bucket())
                .prefix("blobs/")).contents().stream().filter(o -> o.lastModified().isBefore(before)).toList());
        int deleted = 0;
        for (S3Object o : old) {
            String hash = o.key().substring(o.key().lastIndexOf('/') + 1);
            if (!hash.matches("[0-9a-f]{64}") || !o.key().equals(key(hash))) continue; // not one of ours
            if (Pg.exists(c, "SELECT 1 FROM blobs WHERE hash = ?", hash)
                    || Pg.exists(c, "SELECT 1 FROM body_orphans WHERE hash = ?", hash)) continue;
            if (!Pg.one(c, "SELECT pg_try_advisory_xact_lock(?)", rs -> rs.getBoolean(1), lockKey(hash)).orElse(false)) continue;
            // Under the lock: a writer that referenced it meanwhile has committed.
            if (Pg.exists(c, "SELECT 1 FROM blobs WHERE hash = ?", hash)) continue;
            call("delete body " + hash, () -> s3.deleteObject(r -> r.bucket(settings.bucket()).key(o.key())));
            deleted++;
        }
        return deleted;
    }

    /** The advisory lock of a body: the hash's first 64 bits (a collision only makes a sweep skip or a writer wait). */
    private static long lockKey(String hash) {
        return Long.parseUnsignedLong(hash.substring(0, 16), 16);
    }

    @Override
    public void close() {
        s3.close();
    }

    private interface Call<T> {
        T run();
    }

    /** Runs a request, turning the service's failures into {@code UNAVAILABLE} that say what failed. */
    private <T> T call(String doing, Call<T> call) {
        try {
            return call.run();
        } catch (S3Exception e) {
            String code = e.awsErrorDetails() == null ? null : e.awsErrorDetails().errorCode();
            String sse = settings.sse().map(s -> e.statusCode() == 501 ? " (server-side encryption " + s
                    + " was asked for; the service may not offer it)" : "").orElse("");
            throw StoreException.unavailable("cannot " + doing + ": the object store at " + where() + " answered "
                    + e.statusCode() + (code == null ? "" : " " + code) + sse, e);
        } catch (SdkException e) {
            throw StoreException.unavailable("cannot " + doing + ": the object store at " + where()
                    + " cannot be reached (" + e.getMessage() + ")", e);
        }
    }

    private String where() {
        return settings.endpoint().map(Object::toString).orElse("S3 " + settings.region()) + ", bucket "
                + settings.bucket();
    }

    private static String md5(byte[] bytes) {
        try {
            return Base64.getEncoder().encodeToString(MessageDigest.getInstance("MD5").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java runtime has MD5", e);
        }
    }
}
