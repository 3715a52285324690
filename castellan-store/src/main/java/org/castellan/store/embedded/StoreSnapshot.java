package org.castellan.store.embedded;

import java.io.IOException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.castellan.store.StoreException;
import org.castellan.store.embedded.internal.Sql;
import org.castellan.store.embedded.internal.SqlErrors;
import org.sqlite.SQLiteConfig;

/**
 * A consistent copy of an embedded store's directory, taken while a server may be writing to it,
 * and the check that a copy is whole.
 *
 * <p>Consistency: the copy holds the database's write lock ({@code BEGIN IMMEDIATE}) while SQLite's
 * online backup API copies the database and the body files are linked (or copied) beside it. A
 * body file is renamed into place before the transaction that references it commits, and the
 * collector deletes a file only under that same lock (docs/store.md), so every body the copied
 * database names is in the copy. Writers wait for the lock ({@link #LOCK_WAIT_MILLIS}); hard links
 * make the wait short when the target is on the store's file system.
 */
public final class StoreSnapshot {

    /** Writers wait this long for the lock; a delivery that waits longer is refused temporarily and retried. */
    static final int LOCK_WAIT_MILLIS = 60_000;

    private StoreSnapshot() {}

    /**
     * Copies the store in {@code source} into {@code target} (created 0700, must not exist):
     * {@code mail.db} and {@code blobs/HH/HASH}; nothing of {@code blobs/tmp}.
     *
     * @return how many body files the copy holds
     * @throws StoreException if the database cannot be read or a file cannot be written
     */
    public static long copy(Path source, Path target) {
        Path database = source.resolve(EmbeddedMailStore.DATABASE_FILE);
        if (!Files.isRegularFile(database)) throw StoreException.notFound("no mail store database at " + database);
        SQLiteConfig config = new SQLiteConfig();
        config.setBusyTimeout(LOCK_WAIT_MILLIS);
        try {
            Files.createDirectories(target.getParent());
            privateDirectory(target);
            try (Connection lock = config.createConnection("jdbc:sqlite:" + database);
                 Statement locking = lock.createStatement();
                 Connection reader = config.createConnection("jdbc:sqlite:" + database);
                 Statement copying = reader.createStatement()) {
                // One connection holds the write lock, which keeps the body collector and every
                // commit away until the files are linked; SQLite's backup refuses a source
                // connection that writes, so a second one reads (WAL readers pass a held lock).
                locking.execute("BEGIN IMMEDIATE");
                try {
                    copying.executeUpdate("backup to " + target.resolve(EmbeddedMailStore.DATABASE_FILE));
                    return linkBodies(source.resolve(EmbeddedMailStore.BLOB_DIRECTORY),
                            target.resolve(EmbeddedMailStore.BLOB_DIRECTORY));
                } finally {
                    locking.execute("ROLLBACK");
                }
            }
        } catch (SQLException e) {
            throw SqlErrors.map(e, "copy the mail store database " + database);
        } catch (IOException e) {
            throw SqlErrors.map(e, "copy the mail store " + source + " to " + target);
        }
    }

    /**
     * The body files that the database in {@code directory} names and that are missing, as
     * hashes; empty for a whole store. Bodies kept inside the database need no file.
     *
     * @throws StoreException if the database cannot be read
     */
    public static List<String> missingBodies(Path directory) {
        Path database = directory.resolve(EmbeddedMailStore.DATABASE_FILE);
        if (!Files.isRegularFile(database)) throw StoreException.notFound("no mail store database at " + database);
        SQLiteConfig config = new SQLiteConfig();
        config.setReadOnly(true);
        try (Connection c = config.createConnection("jdbc:sqlite:" + database)) {
            List<String> hashes = Sql.list(c, "SELECT hash FROM blobs b WHERE NOT EXISTS"
                    + " (SELECT 1 FROM blob_data d WHERE d.hash = b.hash) ORDER BY hash", rs -> rs.getString(1));
            Path blobs = directory.resolve(EmbeddedMailStore.BLOB_DIRECTORY);
            return hashes.stream().filter(h -> !Files.isRegularFile(blobs.resolve(h.substring(0, 2)).resolve(h))).toList();
        } catch (SQLException e) {
            throw SqlErrors.map(e, "check the mail store database " + database);
        }
    }

    private static long linkBodies(Path from, Path to) throws IOException {
        privateDirectory(to);
        if (!Files.isDirectory(from)) return 0;
        long count = 0;
        List<Path> fanOut = new ArrayList<>();
        try (Stream<Path> dirs = Files.list(from)) {
            dirs.filter(d -> Files.isDirectory(d) && d.getFileName().toString().length() == 2).forEach(fanOut::add);
        }
        for (Path dir : fanOut) {
            Path copyDir = to.resolve(dir.getFileName().toString());
            privateDirectory(copyDir);
            List<Path> files;
            try (Stream<Path> list = Files.list(dir)) {
                files = list.filter(Files::isRegularFile).toList();
            }
            for (Path file : files) {
                Path copy = copyDir.resolve(file.getFileName().toString());
                try {
                    // Body files never change once written, so a link is as good as a copy.
                    Files.createLink(copy, file);
                } catch (NoSuchFileException gone) {
                    continue; // unreferenced and collected before the lock was taken
                } catch (UnsupportedOperationException | FileSystemException otherFileSystem) {
                    Files.copy(file, copy, StandardCopyOption.COPY_ATTRIBUTES);
                }
                count++;
            }
        }
        return count;
    }

    private static void privateDirectory(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            Files.createDirectory(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        }
    }
}
