package org.castellan.store.embedded.internal;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.Instant;
import java.util.EnumSet;
import java.util.HexFormat;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Message bodies stored by content: {@code root/<first two hex digits>/<sha-256 hex>}.
 *
 * <p>A body is written to {@code root/tmp}, fsynced, renamed into place atomically and its
 * directory fsynced, so that a file under its final name is always complete and durable.
 * Identical bodies are stored once; the metadata database counts references.
 *
 * <p>A writer <em>pins</em> a blob from the moment it finds or creates the file until its
 * transaction has committed or failed, so that the collector never removes a file a pending
 * transaction is about to reference. Files are private mail: 0600 in 0700 directories.
 *
 * <p>A temporary file is named {@code <pid>-<uuid>.tmp}: a writer that was killed leaves it
 * behind, and the next open removes those of processes that are gone (and any older than
 * {@link #STALE_TEMP_AGE}), while the files of a live server, which an administration command
 * opening the same store must not touch, stay.
 */
public final class BlobStore {

    /** A stored body: its identity (SHA-256, hex) and length. */
    public record BlobRef(String id, long size) {}

    /** Temp files older than this belong to a writer that crashed, not a slow one. */
    static final Duration STALE_TEMP_AGE = Duration.ofDays(1);
    private static final String TMP = "tmp";
    private static final long PID = ProcessHandle.current().pid();
    /** A temporary file's name: the writer's pid, a UUID. */
    private static final Pattern TEMP_NAME = Pattern.compile("(\\d{1,18})-[0-9a-f-]{36}\\.tmp");
    private static final Logger log = LoggerFactory.getLogger(BlobStore.class);
    private static final int COPY_BUFFER = 64 * 1024;
    private static final FileAttribute<Set<PosixFilePermission>> PRIVATE_FILE =
            PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------"));
    private static final FileAttribute<Set<PosixFilePermission>> PRIVATE_DIR =
            PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------"));

    private final Path root;
    private final Path tmp;
    private final ConcurrentHashMap<String, Integer> pins = new ConcurrentHashMap<>();

    public BlobStore(Path root) throws IOException {
        this.root = root;
        this.tmp = root.resolve(TMP);
        createPrivateDirectory(root);
        createPrivateDirectory(tmp);
        removeStaleTemps();
    }

    public Path root() {
        return root;
    }

    /**
     * Stores {@code content} durably and pins it; the caller must {@link #unpin} it once the
     * referencing transaction has ended. On failure nothing is left behind and nothing is pinned.
     */
    public BlobRef write(InputStream content) throws IOException {
        Path temp = tmp.resolve(PID + "-" + UUID.randomUUID() + ".tmp");
        MessageDigest sha = sha256();
        long size = 0;
        try {
            try (FileChannel ch = FileChannel.open(temp, EnumSet.of(StandardOpenOption.CREATE_NEW,
                    StandardOpenOption.WRITE), PRIVATE_FILE)) {
                OutputStream out = Channels.newOutputStream(ch);
                byte[] buf = new byte[COPY_BUFFER];
                for (int n; (n = content.read(buf)) > 0; ) {
                    sha.update(buf, 0, n);
                    out.write(buf, 0, n);
                    size += n;
                }
                ch.force(true);
            }
            String id = HexFormat.of().formatHex(sha.digest());
            pin(id);
            try {
                Path dir = root.resolve(id.substring(0, 2));
                if (!Files.isDirectory(dir)) {
                    try {
                        Files.createDirectory(dir, PRIVATE_DIR);
                    } catch (FileAlreadyExistsException raced) {
                        if (!Files.isDirectory(dir)) throw raced;
                    }
                    fsyncDirectory(root);
                }
                // rename(2) replaces an existing file atomically; an existing one has the same bytes.
                Files.move(temp, dir.resolve(id), StandardCopyOption.ATOMIC_MOVE);
                // Even when the file existed, its directory entry may not be durable yet.
                fsyncDirectory(dir);
            } catch (IOException | RuntimeException e) {
                unpin(id);
                throw e;
            }
            return new BlobRef(id, size);
        } finally {
            Files.deleteIfExists(temp);
        }
    }

    /**
     * A stored body mapped into memory, read-only: it is read from the page cache without a copy
     * on the heap, so parsing a large body costs no heap of its size. The mapping goes when the
     * buffer is collected; the file may be removed meanwhile.
     */
    public ByteBuffer map(String id) throws IOException {
        try (FileChannel ch = FileChannel.open(path(id), StandardOpenOption.READ)) {
            return ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size());
        }
    }

    /** Opens a stored body. */
    public InputStream open(String id) throws IOException {
        return Files.newInputStream(path(id));
    }

    public boolean exists(String id) {
        return Files.isRegularFile(path(id));
    }

    public Path path(String id) {
        if (id.length() != 64) throw new IllegalArgumentException("not a blob id: " + id);
        return root.resolve(id.substring(0, 2)).resolve(id);
    }

    public void unpin(String id) {
        pins.computeIfPresent(id, (k, n) -> n == 1 ? null : n - 1);
    }

    /**
     * Deletes the file unless a writer has pinned it. The caller has established that no
     * committed row references it and holds the database's write lock, so no other process can
     * start referencing it meanwhile.
     */
    public void deleteUnlessPinned(String id) {
        pins.compute(id, (k, n) -> {
            if (n == null) {
                try {
                    Files.deleteIfExists(path(id));
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }
            return n;
        });
    }

    private void pin(String id) {
        pins.merge(id, 1, Integer::sum);
    }

    private void removeStaleTemps() throws IOException {
        Instant cutoff = Instant.now().minus(STALE_TEMP_AGE);
        int removed = 0;
        try (DirectoryStream<Path> temps = Files.newDirectoryStream(tmp)) {
            for (Path temp : temps) {
                try {
                    FileTime modified = Files.getLastModifiedTime(temp);
                    if ((modified.toInstant().isBefore(cutoff) || writerGone(temp)) && Files.deleteIfExists(temp)) removed++;
                } catch (NoSuchFileException gone) {
                    // another process cleaned up first
                }
            }
        }
        if (removed > 0) log.info("removed {} temporary file(s) that a stopped writer left in {}", removed, tmp);
    }

    /** Whether {@code temp} is named for a process that is neither this one nor alive. */
    private static boolean writerGone(Path temp) {
        Matcher m = TEMP_NAME.matcher(temp.getFileName().toString());
        if (!m.matches()) return false;
        long pid = Long.parseLong(m.group(1));
        return pid != PID && ProcessHandle.of(pid).isEmpty();
    }

    static void createPrivateDirectory(Path dir) throws IOException {
        if (Files.isDirectory(dir)) return;
        try {
            Files.createDirectory(dir, PRIVATE_DIR);
        } catch (FileAlreadyExistsException raced) {
            if (!Files.isDirectory(dir)) throw raced;
        }
    }

    /** Makes a directory's entries (a created or renamed file) durable. */
    public static void fsyncDirectory(Path dir) throws IOException {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        }
    }

    public static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK lacks SHA-256", e);
        }
    }
}
