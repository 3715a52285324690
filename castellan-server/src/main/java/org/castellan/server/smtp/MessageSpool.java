package org.castellan.server.smtp;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.SequenceInputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Arrays;

/**
 * One incoming message: the first octets in memory, the rest in a temporary file created
 * owner-only (0600) from the start, since it holds someone's mail. The file is deleted on
 * {@link #close()}, which the session calls on every path (delivered, refused, disconnected).
 *
 * <p>Failure: a temporary file that cannot be created or written throws
 * {@link UncheckedIOException}; the session answers 451 and delivers nothing.
 */
final class MessageSpool implements AutoCloseable {

    private final int memoryLimit;
    private byte[] memory = new byte[4096];
    private int memoryLength;
    private Path file;
    private OutputStream fileOut;
    private long size;

    MessageSpool(int memoryLimit) {
        this.memoryLimit = memoryLimit;
    }

    void write(byte[] b, int off, int len) {
        size += len;
        int toMemory = Math.min(len, memoryLimit - memoryLength);
        if (toMemory > 0) {
            if (memoryLength + toMemory > memory.length) {
                memory = Arrays.copyOf(memory, Math.min(memoryLimit, Math.max(memory.length * 2, memoryLength + toMemory)));
            }
            System.arraycopy(b, off, memory, memoryLength, toMemory);
            memoryLength += toMemory;
        }
        if (toMemory < len) {
            try {
                if (fileOut == null) {
                    file = Files.createTempFile("castellan-smtp-", ".eml",
                            PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
                    fileOut = Files.newOutputStream(file, StandardOpenOption.WRITE);
                }
                fileOut.write(b, off + toMemory, len - toMemory);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot spool a message to a temporary file in "
                        + System.getProperty("java.io.tmpdir") + ": " + e.getMessage(), e);
            }
        }
    }

    long size() {
        return size;
    }

    /** The first octets of the message (all of it, when it fits in memory). */
    byte[] head() {
        return memory;
    }

    int headLength() {
        return memoryLength;
    }

    /** The whole message; call after the last write. */
    InputStream open() throws IOException {
        InputStream head = new ByteArrayInputStream(memory, 0, memoryLength);
        if (fileOut == null) return head;
        fileOut.close();
        return new SequenceInputStream(head, Files.newInputStream(file));
    }

    @Override
    public void close() {
        memory = new byte[0];
        memoryLength = 0;
        try {
            if (fileOut != null) fileOut.close();
            if (file != null) Files.deleteIfExists(file);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot delete temporary message file " + file + ": " + e.getMessage(), e);
        } finally {
            file = null;
            fileOut = null;
        }
    }
}
