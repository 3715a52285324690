package org.castellan.server.setup;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.castellan.server.config.CastellanConfig;
import org.castellan.server.config.ObjectStorage;
import org.castellan.server.config.Store;
import org.castellan.store.MailStore;
import org.castellan.store.StoreException;
import org.castellan.store.embedded.EmbeddedMailStore;
import org.castellan.store.objects.ObjectStoreSettings;
import org.castellan.store.objects.S3Bodies;
import org.castellan.store.postgres.PostgresStore;

/**
 * Opens the mail store the configuration names ({@code [store] kind}): the one place that knows
 * the implementations, so that the server, the administration commands and {@code castellan
 * init} open the same store the same way (docs/store.md, "Scale-out: the seam"). Each store
 * creates and migrates its schema on opening.
 */
public final class Stores {

    private Stores() {
    }

    /** The store the configuration's {@code [store]} and {@code [store.object-store]} describe, open; the caller closes it. */
    public static MailStore open(CastellanConfig config) {
        return open(config.store(), config.objectStorage());
    }

    /**
     * The store {@code config} describes, open; the caller closes it. {@code objects}: where a
     * PostgreSQL store keeps large bodies; empty keeps them in PostgreSQL.
     */
    public static MailStore open(Store config, Optional<ObjectStorage> objects) {
        return switch (config.kind()) {
            case EMBEDDED -> EmbeddedMailStore.open(config.directory());
            case POSTGRES -> openPostgres(config.postgres().orElseThrow(), objects);
        };
    }

    /** The PostgreSQL store {@code pg} names, with its large bodies in {@code objects} when present; the caller closes it. */
    public static PostgresStore openPostgres(Store.Postgres pg, Optional<ObjectStorage> objects) {
        String password = pg.passwordFile().map(Stores::password).orElse(null);
        if (objects.isEmpty()) return PostgresStore.open(pg.jdbcUrl(), pg.user(), password, pg.poolSize());
        return PostgresStore.open(pg.jdbcUrl(), pg.user(), password, pg.poolSize(), S3Bodies.open(settings(objects.get())));
    }

    /** The object store's settings with its keys read now (checked when the configuration was read). */
    private static ObjectStoreSettings settings(ObjectStorage objects) {
        try {
            return objects.settings();
        } catch (IOException e) {
            throw StoreException.unavailable("cannot read the [store.object-store] keys: " + e.getMessage(), e);
        }
    }

    /** The first line of the password file (checked when the configuration was read; read only now, never kept). */
    private static String password(Path file) {
        try (var lines = Files.lines(file, StandardCharsets.UTF_8)) {
            return lines.findFirst().orElse("");
        } catch (IOException | java.io.UncheckedIOException e) {
            throw StoreException.unavailable("cannot read [store] password-file " + file + ": " + e.getMessage(), e);
        }
    }
}
