package org.castellan.store.objects;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import org.castellan.store.postgres.MigratedDatabases;
import org.castellan.store.postgres.PostgresStore;
import org.castellan.store.postgres.internal.BodyStore;
import org.castellan.testkit.ObjectStore;
import org.castellan.testkit.Postgres;

/**
 * A real PostgreSQL server and a real S3-compatible server (S3Proxy) for the tests of the
 * PostgreSQL store with its bodies in an object store: a new database per store, objects under a
 * directory the test owns.
 */
final class S3StoreFixture implements AutoCloseable {

    private static int databases;

    private final Postgres postgres;
    ObjectStore objects;
    String url;

    S3StoreFixture(Path objectDir) {
        postgres = Postgres.start();
        objects = ObjectStore.start(objectDir);
    }

    /** Path-style at the fixture's endpoint; every body goes to the object store unless {@code inlineMax} says otherwise. */
    ObjectStoreSettings settings(int inlineMax) {
        return ObjectStoreSettings.of(objects.endpoint(), ObjectStore.REGION, objects.bucket(), objects.accessKey(),
                objects.secretKey()).withInlineMax(inlineMax);
    }

    /** A new, empty database. */
    void newDatabase() throws SQLException {
        url = MigratedDatabases.create(postgres, "s3store_" + ++databases);
    }

    /** The store on the current database, its bodies kept by {@code bodies}. */
    PostgresStore open(BodyStore bodies) {
        return PostgresStore.open(url, postgres.user(), postgres.password(), 4, bodies);
    }

    Connection connect() throws SQLException {
        return DriverManager.getConnection(url, postgres.user(), postgres.password());
    }

    @Override
    public void close() {
        try {
            objects.close();
        } finally {
            postgres.close();
        }
    }
}
