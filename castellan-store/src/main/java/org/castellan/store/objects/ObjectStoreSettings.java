package org.castellan.store.objects;

import java.net.URI;
import java.util.Objects;
import java.util.Optional;

/**
 * Where and how {@link S3Bodies} keeps message bodies: an S3-compatible service (AWS S3, MinIO,
 * Ceph RGW), the bucket, the credentials and what stays in PostgreSQL (docs/store.md, "Bodies in
 * an object store"). The secret key never appears in {@link #toString()}.
 *
 * @param endpoint the service's URL; empty for AWS S3, whose endpoint follows from the region
 * @param region the region requests are signed for
 * @param bucket an existing bucket the store's credentials may read, write and delete in
 * @param accessKey the access key id
 * @param secretKey the secret access key
 * @param pathStyle {@code http://host/bucket/key} instead of {@code http://bucket.host/key}: what
 *     MinIO and Ceph RGW expect unless DNS names every bucket
 * @param sse server-side encryption asked for on every put: {@code AES256} (SSE-S3) or
 *     {@code aws:kms}; empty for none
 * @param kmsKeyId the KMS key for {@code aws:kms}; empty for the bucket's default key
 * @param inlineMax bodies up to this many bytes stay in PostgreSQL
 */
public record ObjectStoreSettings(Optional<URI> endpoint, String region, String bucket, String accessKey, String secretKey,
        boolean pathStyle, Optional<String> sse, Optional<String> kmsKeyId, int inlineMax) {

    /** The server-side encryption values S3 defines (x-amz-server-side-encryption). */
    public static final String SSE_S3 = "AES256";
    public static final String SSE_KMS = "aws:kms";

    /**
     * Bodies up to 128 KiB stay in PostgreSQL by default, as the embedded store keeps them in
     * SQLite (docs/store.md, "Data directory"): most mail is smaller, and one round trip to the
     * object store per message would cost more than the bytes in the database.
     */
    public static final int DEFAULT_INLINE_MAX = 128 * 1024;

    public ObjectStoreSettings {
        Objects.requireNonNull(endpoint, "endpoint");
        Objects.requireNonNull(region, "region");
        Objects.requireNonNull(bucket, "bucket");
        Objects.requireNonNull(accessKey, "accessKey");
        Objects.requireNonNull(secretKey, "secretKey");
        Objects.requireNonNull(sse, "sse");
        Objects.requireNonNull(kmsKeyId, "kmsKeyId");
        sse.filter(s -> !s.equals(SSE_S3) && !s.equals(SSE_KMS)).ifPresent(s -> {
            throw new IllegalArgumentException("sse must be " + SSE_S3 + " or " + SSE_KMS + ", not " + s);
        });
        if (kmsKeyId.isPresent() && !sse.equals(Optional.of(SSE_KMS))) {
            throw new IllegalArgumentException("a KMS key id needs sse = " + SSE_KMS);
        }
        if (inlineMax < 0) throw new IllegalArgumentException("inlineMax must not be negative: " + inlineMax);
    }

    /** Path-style, no encryption, the default inline threshold: what a MinIO or Ceph RGW needs at least. */
    public static ObjectStoreSettings of(URI endpoint, String region, String bucket, String accessKey, String secretKey) {
        return new ObjectStoreSettings(Optional.of(endpoint), region, bucket, accessKey, secretKey, true, Optional.empty(),
                Optional.empty(), DEFAULT_INLINE_MAX);
    }

    public ObjectStoreSettings withSse(String sse, Optional<String> kmsKeyId) {
        return new ObjectStoreSettings(endpoint, region, bucket, accessKey, secretKey, pathStyle, Optional.of(sse), kmsKeyId,
                inlineMax);
    }

    public ObjectStoreSettings withInlineMax(int inlineMax) {
        return new ObjectStoreSettings(endpoint, region, bucket, accessKey, secretKey, pathStyle, sse, kmsKeyId, inlineMax);
    }

    @Override
    public String toString() {
        return "ObjectStoreSettings[endpoint=" + endpoint.map(URI::toString).orElse("(AWS)") + ", region=" + region
                + ", bucket=" + bucket + ", accessKey=" + accessKey + ", pathStyle=" + pathStyle + ", sse="
                + sse.orElse("none") + ", inlineMax=" + inlineMax + "]";
    }
}
