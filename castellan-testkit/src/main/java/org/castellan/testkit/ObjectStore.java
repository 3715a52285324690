package org.castellan.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;
import org.gaul.s3proxy.AuthenticationType;
import org.gaul.s3proxy.S3Proxy;
import org.jclouds.ContextBuilder;
import org.jclouds.blobstore.BlobStoreContext;

/**
 * A real S3-compatible server for tests: S3Proxy (org.gaul:s3proxy) in this JVM over its
 * {@code filesystem-nio2} backend, objects as files under a directory the test owns, listening on
 * 127.0.0.1 on a port the system picks, path-style, SigV4 (and V2) with credentials made for this
 * instance; requests signed with other credentials are refused. One bucket, {@link #bucket()},
 * exists from the start. docs/decisions/s3-test-server.md says why S3Proxy and what it cannot show.
 *
 * <p>S3Proxy is an optional dependency of the testkit: a module whose tests use this class declares
 * {@code org.gaul:s3proxy} itself, in test scope.
 *
 * <p>Trusts: only the test that started it; it serves plain HTTP on loopback.
 */
public final class ObjectStore implements AutoCloseable {

    /** The region the clients sign for; S3Proxy accepts any, AWS's default keeps SDK defaults quiet. */
    public static final String REGION = "us-east-1";
    /** The bucket that exists from the start (a valid DNS-style name, as AWS requires). */
    public static final String BUCKET = "castellan-test";

    private final Path dir;
    private final BlobStoreContext context;
    private final S3Proxy proxy;
    private final int port;
    private final String accessKey;
    private final String secretKey;

    private ObjectStore(Path dir, BlobStoreContext context, S3Proxy proxy, String accessKey, String secretKey) {
        this.dir = dir;
        this.context = context;
        this.proxy = proxy;
        this.port = proxy.getPort();
        this.accessKey = accessKey;
        this.secretKey = secretKey;
    }

    /**
     * Starts a server keeping its objects under {@code dir} (created if missing), and returns once it
     * accepts connections: S3Proxy's start returns once its Jetty listener is bound and started,
     * and throws if it cannot be.
     *
     * @throws IllegalStateException if the server does not start; the cause says why
     */
    public static ObjectStore start(Path dir) {
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create the object directory " + dir, e);
        }
        return start(dir, 0, "castellan-" + RandomHex.of(6), RandomHex.of(20));
    }

    /**
     * After {@link #close()}: a new server on this one's directory, port and credentials, so a
     * client that saw the service go away sees the same service come back, with its objects.
     *
     * @throws IllegalStateException if it does not start (the port taken meanwhile, for one)
     */
    public ObjectStore startAgain() {
        return start(dir, port, accessKey, secretKey);
    }

    private static ObjectStore start(Path dir, int port, String accessKey, String secretKey) {
        Properties properties = new Properties();
        properties.setProperty("jclouds.filesystem.basedir", dir.toAbsolutePath().toString());
        BlobStoreContext context = ContextBuilder.newBuilder("filesystem-nio2")
                .credentials(accessKey, secretKey)
                .overrides(properties)
                .build(BlobStoreContext.class);
        if (!context.getBlobStore().containerExists(BUCKET)) context.getBlobStore().createContainerInLocation(null, BUCKET);
        S3Proxy proxy = S3Proxy.builder()
                .blobStore(context.getBlobStore())
                .endpoint(URI.create("http://127.0.0.1:" + port))
                .awsAuthentication(AuthenticationType.AWS_V2_OR_V4, accessKey, secretKey)
                .build();
        try {
            proxy.start();
        } catch (Exception e) {
            context.close();
            throw new IllegalStateException("S3Proxy did not start", e);
        }
        return new ObjectStore(dir, context, proxy, accessKey, secretKey);
    }

    /** {@code http://127.0.0.1:<port>}: give it to the client as its endpoint, with path-style access. */
    public URI endpoint() {
        return URI.create("http://127.0.0.1:" + port);
    }

    public String accessKey() {
        return accessKey;
    }

    public String secretKey() {
        return secretKey;
    }

    public String bucket() {
        return BUCKET;
    }

    /** Stops the listener and releases the backend; the objects stay in the directory, which the test owns. */
    @Override
    public void close() {
        try {
            proxy.stop();
        } catch (Exception e) {
            throw new IllegalStateException("S3Proxy did not stop", e);
        } finally {
            context.close();
        }
    }
}
