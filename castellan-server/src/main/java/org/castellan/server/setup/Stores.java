package org.castellan.server.setup;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.castellan.server.config.Store;
import org.castellan.store.MailStore;
import org.castellan.store.StoreException;
import org.castellan.store.embedded.EmbeddedMailStore;
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

    /** The store {@code config} describes, open; the caller closes it. */
    public static MailStore open(Store config) {
        return switch (config.kind()) {
            case EMBEDDED -> EmbeddedMailStore.open(config.directory());
            case POSTGRES -> {
                Store.Postgres pg = config.postgres().orElseThrow();
                String password = pg.passwordFile().map(Stores::password).orElse(null);
                yield PostgresStore.open(pg.jdbcUrl(), pg.user(), password, pg.poolSize());
            }
        };
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
