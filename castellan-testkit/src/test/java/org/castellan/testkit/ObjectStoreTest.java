package org.castellan.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.zip.CRC32;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.ResponseBytes;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.checksums.ResponseChecksumValidation;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.S3ClientBuilder;
import software.amazon.awssdk.services.s3.model.ChecksumAlgorithm;
import software.amazon.awssdk.services.s3.model.CompletedPart;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;
import software.amazon.awssdk.services.s3.model.HeadObjectResponse;
import software.amazon.awssdk.services.s3.model.ListObjectsV2Response;
import software.amazon.awssdk.services.s3.model.NoSuchKeyException;
import software.amazon.awssdk.services.s3.model.S3Exception;
import software.amazon.awssdk.services.s3.model.S3Object;
import software.amazon.awssdk.services.s3.model.ServerSideEncryption;

/**
 * {@link ObjectStore} driven by the AWS SDK v2 the way the PostgreSQL + S3 store will drive S3:
 * path-style, SigV4, the S3 operations it needs, and what the server refuses.
 * docs/decisions/s3-test-server.md lists what S3Proxy cannot show.
 */
class ObjectStoreTest {

    @TempDir
    Path dir;
    private ObjectStore store;
    private S3Client s3;

    @BeforeEach
    void start() {
        store = ObjectStore.start(dir.resolve("objects"));
        s3 = client(store.accessKey(), store.secretKey()).build();
    }

    @AfterEach
    void stop() {
        if (s3 != null) s3.close();
        if (store != null) store.close();
    }

    /** Checksums only where S3 requires them, as for S3-compatible servers other than AWS. */
    private S3ClientBuilder client(String accessKey, String secretKey) {
        return S3Client.builder()
                .endpointOverride(store.endpoint())
                .forcePathStyle(true)
                .region(Region.of(ObjectStore.REGION))
                .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create(accessKey, secretKey)))
                .requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
                .responseChecksumValidation(ResponseChecksumValidation.WHEN_REQUIRED);
    }

    private static String md5(byte[] data) {
        try {
            return Base64.getEncoder().encodeToString(MessageDigest.getInstance("MD5").digest(data));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String crc32(byte[] data) {
        CRC32 crc = new CRC32();
        crc.update(data);
        return Base64.getEncoder().encodeToString(ByteBuffer.allocate(4).putInt((int) crc.getValue()).array());
    }

    private static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }

    @Test
    void anObjectIsPutWithItsDigestReadByRangeListedAndDeleted() {
        String bucket = store.bucket();
        byte[] body = ascii("Subject: a body whose bytes the ranges pick\r\n\r\n0123456789\r\n");
        s3.putObject(r -> r.bucket(bucket).key("blobs/3f/3f9a").contentMD5(md5(body)), RequestBody.fromBytes(body));

        ResponseBytes<GetObjectResponse> range =
                s3.getObjectAsBytes(r -> r.bucket(bucket).key("blobs/3f/3f9a").range("bytes=9-12"));
        assertThat(range.asUtf8String()).isEqualTo("a bo");
        assertThat(range.response().contentRange()).isEqualTo("bytes 9-12/" + body.length);

        HeadObjectResponse head = s3.headObject(r -> r.bucket(bucket).key("blobs/3f/3f9a"));
        assertThat(head.contentLength()).isEqualTo(body.length);
        assertThat(head.eTag()).isEqualTo('"' + HexFormat.of().formatHex(Base64.getDecoder().decode(md5(body))) + '"');

        assertThat(s3.listObjectsV2(r -> r.bucket(bucket).prefix("blobs/")).contents())
                .extracting(S3Object::key).containsExactly("blobs/3f/3f9a");

        s3.deleteObject(r -> r.bucket(bucket).key("blobs/3f/3f9a"));
        assertThat(catchThrowableOfType(NoSuchKeyException.class,
                () -> s3.getObject(r -> r.bucket(bucket).key("blobs/3f/3f9a"))).statusCode()).isEqualTo(404);
        assertThat(s3.listObjectsV2(r -> r.bucket(bucket).prefix("blobs/")).contents()).isEmpty();
    }

    @Test
    void aPutIfNoneMatchStarCreatesButNeverReplaces() {
        String bucket = store.bucket();
        s3.putObject(r -> r.bucket(bucket).key("once").ifNoneMatch("*"), RequestBody.fromString("first"));
        S3Exception refused = catchThrowableOfType(S3Exception.class, () -> s3.putObject(
                r -> r.bucket(bucket).key("once").ifNoneMatch("*"), RequestBody.fromString("second")));
        assertThat(refused.statusCode()).isEqualTo(412);
        assertThat(refused.awsErrorDetails().errorCode()).isEqualTo("PreconditionFailed");
        assertThat(s3.getObjectAsBytes(r -> r.bucket(bucket).key("once")).asUtf8String()).isEqualTo("first");
    }

    @Test
    void aBodyThatDoesNotMatchItsContentMd5IsRefusedAndNotStored() {
        String bucket = store.bucket();
        S3Exception refused = catchThrowableOfType(S3Exception.class, () -> s3.putObject(
                r -> r.bucket(bucket).key("torn").contentMD5(md5(ascii("what was meant"))),
                RequestBody.fromBytes(ascii("what arrived"))));
        assertThat(refused.statusCode()).isEqualTo(400);
        assertThat(refused.awsErrorDetails().errorCode()).isEqualTo("BadDigest");
        assertThat(catchThrowableOfType(NoSuchKeyException.class,
                () -> s3.headObject(r -> r.bucket(bucket).key("torn")))).isNotNull();
    }

    /**
     * The SDK's default flexible checksums are refused, not ignored: a CRC32 as an aws-chunked
     * trailer fails the payload signature check, a CRC32 header is not implemented. A client for
     * this server says WHEN_REQUIRED and sends Content-MD5.
     */
    @Test
    void flexibleChecksumsAreRefusedAndNothingIsStored() {
        byte[] body = ascii("checked on the way in");
        try (S3Client defaults = client(store.accessKey(), store.secretKey())
                .requestChecksumCalculation(RequestChecksumCalculation.WHEN_SUPPORTED)
                .responseChecksumValidation(ResponseChecksumValidation.WHEN_SUPPORTED).build()) {
            S3Exception trailer = catchThrowableOfType(S3Exception.class, () -> defaults.putObject(
                    r -> r.bucket(store.bucket()).key("crc").checksumAlgorithm(ChecksumAlgorithm.CRC32), RequestBody.fromBytes(body)));
            assertThat(trailer.statusCode()).isEqualTo(400);
        }
        S3Exception header = catchThrowableOfType(S3Exception.class, () -> s3.putObject(
                r -> r.bucket(store.bucket()).key("crc").checksumCRC32(crc32(body)), RequestBody.fromBytes(body)));
        assertThat(header.statusCode()).isEqualTo(501);
        assertThat(header.awsErrorDetails().errorCode()).isEqualTo("NotImplemented");
        assertThat(s3.listObjectsV2(r -> r.bucket(store.bucket())).contents()).isEmpty();
    }

    @Test
    void aListingLongerThanOnePageIsFollowedByItsContinuationToken() {
        String bucket = store.bucket();
        for (int i = 0; i < 5; i++) {
            String key = "page/" + i;
            s3.putObject(r -> r.bucket(bucket).key(key), RequestBody.fromString(key));
        }
        s3.putObject(r -> r.bucket(bucket).key("other/0"), RequestBody.fromString("not listed"));
        List<String> keys = new ArrayList<>();
        List<Integer> pageSizes = new ArrayList<>();
        String token = null;
        do {
            String from = token;
            ListObjectsV2Response page = s3.listObjectsV2(r -> r.bucket(bucket).prefix("page/").maxKeys(2).continuationToken(from));
            page.contents().forEach(o -> keys.add(o.key()));
            pageSizes.add(page.contents().size());
            token = page.nextContinuationToken();
            assertThat(page.isTruncated()).isEqualTo(token != null);
        } while (token != null);
        assertThat(keys).containsExactly("page/0", "page/1", "page/2", "page/3", "page/4");
        assertThat(pageSizes).containsExactly(2, 2, 1);
    }

    @Test
    void aMultipartUploadIsOneObjectOfItsPartsInOrder() {
        String bucket = store.bucket();
        byte[] first = new byte[5 * 1024 * 1024]; // S3's smallest part but the last
        new Random(14).nextBytes(first);
        byte[] last = ascii("the last part may be short");
        String id = s3.createMultipartUpload(r -> r.bucket(bucket).key("large")).uploadId();
        String etag1 = s3.uploadPart(r -> r.bucket(bucket).key("large").uploadId(id).partNumber(1), RequestBody.fromBytes(first)).eTag();
        String etag2 = s3.uploadPart(r -> r.bucket(bucket).key("large").uploadId(id).partNumber(2), RequestBody.fromBytes(last)).eTag();
        s3.completeMultipartUpload(r -> r.bucket(bucket).key("large").uploadId(id).multipartUpload(m -> m.parts(
                CompletedPart.builder().partNumber(1).eTag(etag1).build(),
                CompletedPart.builder().partNumber(2).eTag(etag2).build())));

        byte[] whole = s3.getObjectAsBytes(r -> r.bucket(bucket).key("large")).asByteArray();
        assertThat(whole).hasSize(first.length + last.length);
        assertThat(Arrays.copyOfRange(whole, 0, first.length)).isEqualTo(first);
        assertThat(Arrays.copyOfRange(whole, first.length, whole.length)).isEqualTo(last);
    }

    @Test
    void aMultipartUploadWithAPartUnder5MibBeforeTheLastIsRefused() {
        String bucket = store.bucket();
        byte[] small = new byte[1024];
        String id = s3.createMultipartUpload(r -> r.bucket(bucket).key("small")).uploadId();
        String etag1 = s3.uploadPart(r -> r.bucket(bucket).key("small").uploadId(id).partNumber(1), RequestBody.fromBytes(small)).eTag();
        String etag2 = s3.uploadPart(r -> r.bucket(bucket).key("small").uploadId(id).partNumber(2), RequestBody.fromBytes(small)).eTag();
        S3Exception refused = catchThrowableOfType(S3Exception.class, () -> s3.completeMultipartUpload(
                r -> r.bucket(bucket).key("small").uploadId(id).multipartUpload(m -> m.parts(
                        CompletedPart.builder().partNumber(1).eTag(etag1).build(),
                        CompletedPart.builder().partNumber(2).eTag(etag2).build()))));
        assertThat(refused.statusCode()).isEqualTo(400);
        assertThat(refused.awsErrorDetails().errorCode()).isEqualTo("EntityTooSmall");
        assertThat(catchThrowableOfType(NoSuchKeyException.class,
                () -> s3.headObject(r -> r.bucket(bucket).key("small")))).isNotNull();
    }

    @Test
    void serverSideEncryptionIsRefusedAsNotImplemented() {
        String bucket = store.bucket();
        S3Exception sseS3 = catchThrowableOfType(S3Exception.class, () -> s3.putObject(
                r -> r.bucket(bucket).key("sse-s3").serverSideEncryption(ServerSideEncryption.AES256),
                RequestBody.fromString("x")));
        byte[] key = new byte[32];
        S3Exception sseC = catchThrowableOfType(S3Exception.class, () -> s3.putObject(
                r -> r.bucket(bucket).key("sse-c").sseCustomerAlgorithm("AES256")
                        .sseCustomerKey(Base64.getEncoder().encodeToString(key)).sseCustomerKeyMD5(md5(key)),
                RequestBody.fromString("x")));
        for (S3Exception e : List.of(sseS3, sseC)) {
            assertThat(e.statusCode()).isEqualTo(501);
            assertThat(e.awsErrorDetails().errorCode()).isEqualTo("NotImplemented");
        }
        assertThat(s3.listObjectsV2(r -> r.bucket(bucket)).contents()).isEmpty();
    }

    @Test
    void requestsSignedWithOtherCredentialsAreRefused() {
        s3.putObject(r -> r.bucket(store.bucket()).key("secret"), RequestBody.fromString("only for the owner"));
        try (S3Client wrongSecret = client(store.accessKey(), "not-the-secret").build();
                S3Client unknownKey = client("someone-else", store.secretKey()).build()) {
            S3Exception badSignature = catchThrowableOfType(S3Exception.class,
                    () -> wrongSecret.getObject(r -> r.bucket(store.bucket()).key("secret")));
            assertThat(badSignature.statusCode()).isEqualTo(403);
            assertThat(badSignature.awsErrorDetails().errorCode()).isEqualTo("SignatureDoesNotMatch");
            S3Exception badKey = catchThrowableOfType(S3Exception.class,
                    () -> unknownKey.putObject(r -> r.bucket(store.bucket()).key("secret"), RequestBody.fromString("overwritten")));
            assertThat(badKey.statusCode()).isEqualTo(403);
            assertThat(badKey.awsErrorDetails().errorCode()).isEqualTo("InvalidAccessKeyId");
        }
        assertThat(s3.getObjectAsBytes(r -> r.bucket(store.bucket()).key("secret")).asUtf8String()).isEqualTo("only for the owner");
    }

    @Test
    void theEndpointIsOnLoopbackOnAPortChosenAtRunTime() {
        URI endpoint = store.endpoint();
        assertThat(endpoint.getHost()).isEqualTo("127.0.0.1");
        assertThat(endpoint.getPort()).isPositive();
    }
}
