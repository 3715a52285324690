package org.castellan.server.cli;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Comparator;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import java.util.zip.Deflater;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.castellan.server.config.CastellanConfig;
import org.castellan.store.embedded.StoreSnapshot;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code castellan backup}: a consistent copy of a data directory, also while its server runs and
 * accepts mail: the store through SQLite's online backup and its body files (StoreSnapshot), and
 * every other regular file of the data directory (configuration, CA, server certificate, issued
 * certificates). The admin socket and other special files are left out.
 *
 * <p>SECURITY: a backup holds private keys, password secrets and mail; it is created 0600 (a
 * directory 0700) and never inside the data directory it copies.
 */
@Command(name = "backup", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = {"Copy a data directory consistently, also while the server runs: the mail store (SQLite",
                "online backup and body files), configuration, CA, certificates. TARGET ending in .zip is a ZIP",
                "file, anything else a new directory. 'castellan restore' brings it back."})
final class BackupCommand implements Callable<Integer> {

    /** Where the store goes inside a backup, whatever store.directory says. */
    static final String STORE = "mail";
    static final String ZIP_SUFFIX = ".zip";
    /** Staging directories inside the data directory (same file system, so body files are linked). */
    static final String STAGING_PREFIX = ".backup-";

    @Mixin DataOptions where;
    @Option(names = "--to", paramLabel = "TARGET", required = true,
            description = "A new .zip file, or a new directory.") Path to;

    @Override
    public Integer call() throws Exception {
        CastellanConfig config = where.load();
        if (config.store().kind() != org.castellan.server.config.StoreKind.EMBEDDED) {
            throw new Failures.BadInput("store.kind is \"postgres\": this command copies the embedded store only; back up"
                    + " the PostgreSQL database with its own tools (pg_dump, or a base backup with WAL archiving)");
        }
        Path data = config.server().dataDir().toAbsolutePath().normalize();
        Path store = config.store().directory().toAbsolutePath().normalize();
        Path target = to.toAbsolutePath().normalize();
        if (target.startsWith(data)) {
            throw new Failures.BadInput("--to " + to + " is inside the data directory " + data + "; put the backup elsewhere");
        }
        if (Files.exists(target)) throw new Failures.BadInput(to + " exists already; name a new file or directory");
        if (!store.startsWith(data)) {
            throw new Failures.BadInput("store.directory " + store + " is outside the data directory " + data
                    + "; this command backs up a data directory that holds its store");
        }
        // Before the snapshot: a directory the user cannot write in fails at once, naming it.
        createPrivateDirectories(target.getParent());
        boolean zip = target.getFileName().toString().endsWith(ZIP_SUFFIX);
        Path staged = zip ? data.resolve(STAGING_PREFIX + UUID.randomUUID()) : target;
        long bodies;
        List<Path> others;
        try {
            bodies = StoreSnapshot.copy(store, staged.resolve(STORE));
            others = otherFiles(data, store);
            if (zip) {
                writeZip(target, staged, data, others);
            } else {
                for (Path file : others) copyPrivately(file, target.resolve(data.relativize(file).toString()));
            }
        } finally {
            if (zip) deleteTree(staged);
        }
        System.out.println("backed up " + data + " to " + target + ": the store with " + bodies + " body file(s), "
                + others.size() + " other file(s)");
        return Main.OK;
    }

    /**
     * Regular files of the data directory outside the store, the spool (messages still arriving,
     * not yet mail) and earlier staging directories.
     */
    private static List<Path> otherFiles(Path data, Path store) throws IOException {
        Path spool = data.resolve(org.castellan.server.Castellan.SPOOL_DIRECTORY);
        try (Stream<Path> walk = Files.walk(data)) {
            return walk.filter(p -> !p.startsWith(store) && !p.startsWith(spool))
                    .filter(p -> data.relativize(p).getNameCount() == 0
                            || !data.relativize(p).getName(0).toString().startsWith(STAGING_PREFIX))
                    .filter(p -> Files.isRegularFile(p, java.nio.file.LinkOption.NOFOLLOW_LINKS))
                    .sorted()
                    .toList();
        }
    }

    private static void writeZip(Path target, Path staged, Path data, List<Path> others) throws IOException {
        try (OutputStream file = Files.newOutputStream(
                Files.createFile(target, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------"))),
                StandardOpenOption.WRITE);
             ZipOutputStream zip = new ZipOutputStream(file)) {
            // Speed over size: mail compresses well even at the fastest level.
            zip.setLevel(Deflater.BEST_SPEED);
            List<Path> storeFiles;
            try (Stream<Path> walk = Files.walk(staged)) {
                storeFiles = walk.filter(Files::isRegularFile).sorted().toList();
            }
            for (Path f : storeFiles) add(zip, staged.relativize(f).toString(), f);
            for (Path f : others) add(zip, data.relativize(f).toString(), f);
        } catch (FileAlreadyExistsException e) {
            throw new Failures.BadInput(target + " appeared meanwhile; name a new file");
        }
    }

    private static void add(ZipOutputStream zip, String name, Path file) throws IOException {
        zip.putNextEntry(new ZipEntry(name));
        Files.copy(file, zip);
        zip.closeEntry();
    }

    static void copyPrivately(Path from, Path to) throws IOException {
        createPrivateDirectories(to.getParent());
        Files.createFile(to, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        try (OutputStream out = Files.newOutputStream(to, StandardOpenOption.WRITE)) {
            Files.copy(from, out);
        }
    }

    static void createPrivateDirectories(Path dir) throws IOException {
        if (dir == null || Files.isDirectory(dir)) return;
        createPrivateDirectories(dir.getParent());
        Files.createDirectory(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
    }

    private static void deleteTree(Path dir) {
        if (!Files.exists(dir)) return;
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) Files.delete(p);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot remove the staging directory " + dir + "; remove it by hand", e);
        }
    }
}
