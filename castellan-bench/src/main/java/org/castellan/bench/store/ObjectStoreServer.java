package org.castellan.bench.store;

import java.nio.file.Path;
import org.castellan.testkit.ObjectStore;

/**
 * S3Proxy ({@link ObjectStore}) in a JVM of its own for {@link ScaleOutBench}, so that the object
 * store's CPU time can be read apart from the nodes' and the load generator's. Prints
 * {@code READY <endpoint> <bucket> <access key> <secret key>}, then serves until killed.
 */
public final class ObjectStoreServer {

    private ObjectStoreServer() {}

    public static void main(String[] args) throws Exception {
        ObjectStore store = ObjectStore.start(Path.of(args[0]));
        System.out.println("READY " + store.endpoint() + " " + store.bucket() + " " + store.accessKey() + " " + store.secretKey());
        System.out.flush();
        Thread.currentThread().join();
    }
}
