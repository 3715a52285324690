package org.castellan.server.config;

import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import org.castellan.store.objects.ObjectStoreSettings;

/**
 * The {@code [store.object-store]} table: message bodies of the PostgreSQL store in an
 * S3-compatible object store (docs/store.md, "Bodies in an object store").
 *
 * @param endpoint the service's URL; empty for AWS S3 (the endpoint follows from the region)
 * @param region the region requests are signed for
 * @param bucket the bucket holding the bodies
 * @param accessKeyFile the file whose first line is the access key id
 * @param secretKeyFile the file whose first line is the secret access key; 0600 or stricter
 * @param pathStyle path-style requests (MinIO, Ceph RGW) rather than virtual-host names
 * @param sse {@code AES256} or {@code aws:kms} asked for on every put, or empty
 * @param kmsKeyId the KMS key for {@code aws:kms}, or empty for the bucket's default
 * @param inlineMax bodies up to this many bytes stay in PostgreSQL
 */
public record ObjectStorage(Optional<URI> endpoint, String region, String bucket, Path accessKeyFile, Path secretKeyFile,
        boolean pathStyle, Optional<String> sse, Optional<String> kmsKeyId, int inlineMax) {

    /** Bodies larger than this are what the object store is for; keeping them in PostgreSQL rows would bloat its backups. */
    public static final int MAX_INLINE_MAX = 1 << 20;

    /** The values of {@code sse}: SSE-S3 and SSE-KMS, as S3 names them in x-amz-server-side-encryption. */
    public static final List<String> SSE_VALUES = List.of(ObjectStoreSettings.SSE_S3, ObjectStoreSettings.SSE_KMS);

    public ObjectStorage {
        Objects.requireNonNull(endpoint, "endpoint");
        Objects.requireNonNull(region, "region");
        Objects.requireNonNull(bucket, "bucket");
        Objects.requireNonNull(accessKeyFile, "accessKeyFile");
        Objects.requireNonNull(secretKeyFile, "secretKeyFile");
        Objects.requireNonNull(sse, "sse");
        Objects.requireNonNull(kmsKeyId, "kmsKeyId");
    }

    /**
     * Reads the key files (at start, where the other secrets are read) into the store's settings.
     *
     * @throws IOException if a file cannot be read, is empty, or the secret key's file is open to
     *     group or others (the message names the file and what to do)
     */
    public ObjectStoreSettings settings() throws IOException {
        String accessKey = firstLine(accessKeyFile);
        String why = ConfigReader.secretFileProblem(secretKeyFile, "a secret key");
        if (why != null) throw new IOException(why);
        String secretKey = firstLine(secretKeyFile);
        return new ObjectStoreSettings(endpoint, region, bucket, accessKey, secretKey, pathStyle, sse, kmsKeyId, inlineMax);
    }

    private static String firstLine(Path file) throws IOException {
        String line = Files.readString(file, StandardCharsets.UTF_8).lines().findFirst().orElse("").strip();
        if (line.isEmpty()) throw new IOException(file + " is empty; its first line must be the key");
        return line;
    }
}
