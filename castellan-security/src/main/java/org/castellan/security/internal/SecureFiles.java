package org.castellan.security.internal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;

/**
 * Writes files whole or not at all, with their final permissions from the moment they exist.
 *
 * <p>Every write goes to a temporary file in the target's directory, created with the target's
 * permissions, is forced to disk and then renamed over the target. A reader therefore sees the
 * old content or the new one, never half a key or half a CRL; and a secret is never, even for a
 * moment, in a file that others may read (as it would be with write-then-chmod).
 */
public final class SecureFiles {

    /** Private keys and anything else secret: owner read/write only. */
    public static final Set<PosixFilePermission> SECRET = PosixFilePermissions.fromString("rw-------");
    /** Certificates, CRLs, indexes: world-readable, they are public by nature. */
    public static final Set<PosixFilePermission> PUBLIC = PosixFilePermissions.fromString("rw-r--r--");
    /** Directories that hold secrets: only the owner may list or enter them. */
    public static final Set<PosixFilePermission> PRIVATE_DIRECTORY = PosixFilePermissions.fromString("rwx------");

    private SecureFiles() {}

    /**
     * Creates {@code directory} (and missing parents) with permissions 0700; an existing directory
     * open to group or others is narrowed to 0700.
     *
     * @return true if the permissions of an existing directory had to be narrowed
     */
    public static boolean privateDirectory(Path directory) throws IOException {
        if (!Files.exists(directory)) {
            Path parent = directory.toAbsolutePath().getParent();
            if (parent != null) Files.createDirectories(parent);
            try {
                Files.createDirectory(directory, attribute(PRIVATE_DIRECTORY));
                return false;
            } catch (FileAlreadyExistsException raced) {
                // Created by someone else in between: fall through and check it like any other.
            }
        }
        if (!Files.isDirectory(directory)) {
            throw new IOException(directory + " exists but is not a directory");
        }
        if (!Files.getPosixFilePermissions(directory).equals(PRIVATE_DIRECTORY)) {
            Files.setPosixFilePermissions(directory, PRIVATE_DIRECTORY);
            return true;
        }
        return false;
    }

    /**
     * Creates {@code directory} (and missing parents) with permissions 0700 if it does not exist;
     * an existing directory is left as it is, since the caller chose it.
     */
    public static void directoryIfAbsent(Path directory) throws IOException {
        if (Files.isDirectory(directory)) return;
        Path parent = directory.toAbsolutePath().getParent();
        if (parent != null) Files.createDirectories(parent);
        try {
            Files.createDirectory(directory, attribute(PRIVATE_DIRECTORY));
        } catch (FileAlreadyExistsException raced) {
            if (!Files.isDirectory(directory)) throw raced;
        }
    }

    /** Replaces {@code target} atomically with {@code content}, the new file having {@code permissions}. */
    public static void write(Path target, byte[] content, Set<PosixFilePermission> permissions)
            throws IOException {
        Path directory = target.toAbsolutePath().getParent();
        Path temporary = Files.createTempFile(directory, "." + target.getFileName(), ".tmp",
                attribute(permissions));
        try {
            try (FileChannel channel = FileChannel.open(temporary, StandardOpenOption.WRITE)) {
                ByteBuffer buffer = ByteBuffer.wrap(content);
                while (buffer.hasRemaining()) channel.write(buffer);
                channel.force(true);
            }
            // createTempFile applies the umask; the final file must carry exactly what was asked.
            Files.setPosixFilePermissions(temporary, permissions);
            try {
                Files.move(temporary, target, StandardCopyOption.ATOMIC_MOVE,
                        StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(temporary, target, StandardCopyOption.REPLACE_EXISTING);
            }
            forceDirectory(directory);
        } finally {
            Files.deleteIfExists(temporary);
        }
    }

    /** Makes the rename itself durable: without it a crash may bring the old file back. */
    private static void forceDirectory(Path directory) {
        try (FileChannel channel = FileChannel.open(directory, StandardOpenOption.READ)) {
            channel.force(true);
        } catch (IOException notSupported) {
            // Some file systems cannot sync a directory; the file content itself is already safe.
        }
    }

    private static FileAttribute<Set<PosixFilePermission>> attribute(Set<PosixFilePermission> permissions) {
        return PosixFilePermissions.asFileAttribute(permissions);
    }
}
