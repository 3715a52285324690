package org.castellan.server.cli;

import java.io.IOException;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.Callable;
import org.castellan.server.config.CastellanConfig;
import org.castellan.server.config.Store;
import org.castellan.server.config.StoreKind;
import org.castellan.server.setup.Stores;
import org.castellan.store.embedded.EmbeddedMailStore;
import org.castellan.store.embedded.StoreExport;
import org.castellan.store.migrate.Migration;
import org.castellan.store.postgres.PostgresStore;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code castellan store migrate}: copies the data directory's embedded store into PostgreSQL (and
 * the object store of {@code [store.object-store]}), then verifies the copy (docs/administration.md,
 * "Moving an embedded store to PostgreSQL").
 *
 * <p>SECURITY: the source is only read; credentials travel as the SCRAM secrets they are stored as.
 * The PostgreSQL password comes from a file, never the command line.
 */
@Command(name = "store", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "Move the mail store between kinds.", subcommands = StoreCommand.Migrate.class)
final class StoreCommand {

    /**
     * Connections the copy may hold: it uses one at a time, and the store's own background work
     * (directory recheck, body collection) may want one meanwhile; its notification listener has its own.
     */
    static final int POOL_SIZE = 3;

    @Command(name = "migrate", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
            description = {"Copy the embedded store of the data directory into PostgreSQL (bodies over the object store's",
                    "inline-max into it), keeping UIDVALIDITY, UIDs, MODSEQs, flags and passwords, then verify the copy.",
                    "Run it with the server stopped; run it again to continue after an interruption."})
    static final class Migrate implements Callable<Integer> {
        @Mixin DataOptions where;

        @Option(names = "--to", paramLabel = "URL",
                description = "The database, postgres://HOST[:PORT]/DB (default: [store] url when kind = \"postgres\").")
        String to;
        @Option(names = "--user", paramLabel = "ROLE", description = "The role to log in as (default: [store] user).")
        String user;
        @Option(names = "--password-file", paramLabel = "FILE",
                description = "A file whose first line is the role's password (default: [store] password-file).")
        Path passwordFile;
        @Option(names = "--verify", description = "Only compare the two stores; copy nothing.")
        boolean verifyOnly;
        @Option(names = "--with-auth-log", description = "Copy the auth log too (by default the target's starts empty).")
        boolean withAuthLog;

        @Override
        public Integer call() throws Exception {
            CastellanConfig config = where.load();
            Path source = config.store().directory();
            if (!StoreExport.exists(source)) {
                throw new Failures.BadInput("no embedded store at " + source + " ([store] directory); nothing to migrate");
            }
            Path socket = config.server().adminSocket();
            if (serverAnswers(socket)) {
                throw new Failures.BadInput("a Castellan server is running on " + where.dataDirectory() + " (its admin socket "
                        + socket + " answers); stop it first, so that nothing changes the store while it is copied");
            }
            Store.Postgres target = target(config);
            EmbeddedMailStore.open(source).close(); // brings the source's schema up to date, as a server start would
            try (PostgresStore store = Stores.openPostgres(target, config.objectStorage());
                    StoreExport export = StoreExport.open(source)) {
                Migration migration = new Migration(export, store.migrationTarget(), withAuthLog, System.out::println);
                migration.check();
                if (!verifyOnly) {
                    Migration.Summary s = migration.copy();
                    double seconds = Math.max(s.took().toMillis(), 1) / 1000.0;
                    System.out.printf(Locale.ROOT, "copied %d account(s), %d mailbox(es), %d message(s), %.1f MiB in %.1f s"
                            + " (%.0f messages/s, %.1f MiB/s)%n", s.accounts(), s.mailboxes(), s.messages(),
                            s.bytes() / 1048576.0, seconds, s.messages() / seconds, s.bytes() / 1048576.0 / seconds);
                }
                Migration.Verification v = migration.verify();
                if (!v.ok()) {
                    v.mismatches().forEach(m -> System.err.println("castellan: mismatch: " + m));
                    System.err.println("castellan: the target differs from the store in " + v.mismatches().size() + " place(s);"
                            + (verifyOnly ? " run castellan store migrate to copy what is missing" : " do not switch to it"));
                    return Main.FAILURE;
                }
                System.out.println("verified: " + v.mailboxes() + " mailbox(es), " + v.messages() + " message(s), " + v.bodies()
                        + " bod" + (v.bodies() == 1 ? "y" : "ies") + " read back from the target: the same as the store");
            }
            if (config.store().kind() != StoreKind.POSTGRES) {
                System.out.println("next: set [store] kind = \"postgres\" with url, user and password-file for this database"
                        + " in " + where.configFile() + ", then start the server");
            }
            return Main.OK;
        }

        /** The database: the options, else the configuration's {@code [store]} keys. */
        private Store.Postgres target(CastellanConfig config) {
            Optional<Store.Postgres> configured = config.store().postgres();
            String url = to != null ? Store.Postgres.jdbcUrl(to).orElseThrow(() -> new Failures.BadInput("--to expects"
                    + " postgres://HOST[:PORT]/DATABASE, got \"" + to + "\""))
                    : configured.map(Store.Postgres::jdbcUrl).orElseThrow(() -> new Failures.BadInput("name the database with"
                    + " --to postgres://HOST[:PORT]/DATABASE"));
            String role = user != null ? user : configured.map(Store.Postgres::user)
                    .orElseThrow(() -> new Failures.BadInput("name the role to log in as with --user"));
            if (passwordFile != null && !Files.isReadable(passwordFile)) {
                throw new Failures.BadInput("--password-file " + passwordFile + " does not exist or is not readable by this user");
            }
            Optional<Path> password = passwordFile != null ? Optional.of(passwordFile)
                    : configured.flatMap(Store.Postgres::passwordFile);
            return new Store.Postgres(url, role, password, POOL_SIZE);
        }
    }

    /** Whether a server listens on the admin socket: it holds the store open and may be writing to it. */
    static boolean serverAnswers(Path socket) {
        if (!Files.exists(socket)) return false;
        try (SocketChannel probe = SocketChannel.open(UnixDomainSocketAddress.of(socket))) {
            return true;
        } catch (IOException refused) {
            return false; // left by a server that died
        }
    }
}
