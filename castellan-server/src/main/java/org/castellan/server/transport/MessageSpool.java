package org.castellan.server.transport;

import io.netty.buffer.ByteBuf;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.SequenceInputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Arrays;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One incoming message (SMTP DATA or BDAT content, an IMAP APPEND literal): the first octets in
 * memory, the rest in a temporary file created owner-only (0600) from the start, since it holds
 * someone's mail. The file is deleted on {@link #close()}, which the session calls on every path
 * (stored, refused, disconnected).
 *
 * <p>A process that is killed (kill -9, a power cut) deletes nothing, so the file names say whose
 * they are, {@code castellan-<pid>-<random>.eml}, and {@link #prepare} removes those of processes
 * that are gone when the server starts; the server keeps them in a directory of its own
 * ({@code DATA/spool}), never sweeping a shared one.
 *
 * <p>Failure: a temporary file that cannot be created or written throws
 * {@link UncheckedIOException}; the session answers with a temporary failure and stores nothing.
 */
public final class MessageSpool implements AutoCloseable {

    /** Most messages are small; a spool told nothing about the size starts here and doubles. */
    private static final int INITIAL_MEMORY = 4096;
    /**
     * An announced size is the client's word, not octets received: allocating more than this on
     * it alone would let connections that never send their content hold memory.
     */
    private static final int MAX_PREALLOCATION = 64 * 1024;

    /** Where spools without a directory of their own write: the JVM's temporary directory. */
    public static final Path SYSTEM_TEMP = Path.of(System.getProperty("java.io.tmpdir"));
    private static final String PREFIX = "castellan-";
    private static final String SUFFIX = ".eml";
    /** What {@link Files#createTempFile} makes of {@link #PREFIX}, the pid and {@link #SUFFIX}. */
    private static final Pattern OWN_FILE = Pattern.compile("castellan-(\\d{1,18})-\\d+\\.eml");
    private static final long PID = ProcessHandle.current().pid();

    private final Path directory;
    private final int memoryLimit;
    private byte[] memory;
    private int memoryLength;
    private Path file;
    private OutputStream fileOut;
    private long size;

    /**
     * @param expectedSize the size the client announced (SIZE, a BDAT chunk) plus the Received
     *     field, or 0: up to {@link #MAX_PREALLOCATION}, the memory part is allocated once at
     *     that size instead of grown by copies
     */
    public MessageSpool(int memoryLimit, long expectedSize) {
        this(SYSTEM_TEMP, memoryLimit, expectedSize);
    }

    /** @param directory where the temporary file goes, if one is needed */
    public MessageSpool(Path directory, int memoryLimit, long expectedSize) {
        this.directory = directory;
        this.memoryLimit = memoryLimit;
        this.memory = new byte[(int) Math.min(Math.min(memoryLimit, MAX_PREALLOCATION), Math.max(INITIAL_MEMORY, expectedSize))];
    }

    public void write(byte[] b, int off, int len) {
        int toMemory = reserve(len);
        System.arraycopy(b, off, memory, memoryLength - toMemory, toMemory);
        if (toMemory < len) {
            try {
                fileOut().write(b, off + toMemory, len - toMemory);
            } catch (IOException e) {
                throw spoolFailure(e);
            }
        }
    }

    /** Takes every remaining octet of {@code b}. */
    public void write(ByteBuffer b) {
        int len = b.remaining();
        int toMemory = reserve(len);
        b.get(memory, memoryLength - toMemory, toMemory);
        if (toMemory < len) {
            try {
                if (b.hasArray()) {
                    fileOut().write(b.array(), b.arrayOffset() + b.position(), b.remaining());
                    b.position(b.limit());
                } else {
                    byte[] chunk = new byte[Math.min(b.remaining(), 64 * 1024)];
                    while (b.hasRemaining()) {
                        int n = Math.min(chunk.length, b.remaining());
                        b.get(chunk, 0, n);
                        fileOut().write(chunk, 0, n);
                    }
                }
            } catch (IOException e) {
                throw spoolFailure(e);
            }
        }
    }

    /** Copies {@code len} octets of {@code b} from its reader index on, without moving it. */
    public void write(ByteBuf b, int len) {
        int toMemory = reserve(len);
        b.getBytes(b.readerIndex(), memory, memoryLength - toMemory, toMemory);
        if (toMemory < len) {
            try {
                b.getBytes(b.readerIndex() + toMemory, fileOut(), len - toMemory);
            } catch (IOException e) {
                throw spoolFailure(e);
            }
        }
    }

    /** Counts {@code len} more octets and makes room for the part that stays in memory; returns that part's length. */
    private int reserve(int len) {
        size += len;
        int toMemory = Math.max(0, Math.min(len, memoryLimit - memoryLength));
        if (memoryLength + toMemory > memory.length) {
            memory = Arrays.copyOf(memory, Math.min(memoryLimit, Math.max(memory.length * 2, memoryLength + toMemory)));
        }
        memoryLength += toMemory;
        return toMemory;
    }

    private OutputStream fileOut() throws IOException {
        if (fileOut == null) {
            file = Files.createTempFile(directory, PREFIX + PID + "-", SUFFIX,
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            fileOut = Files.newOutputStream(file, StandardOpenOption.WRITE);
        }
        return fileOut;
    }

    private UncheckedIOException spoolFailure(IOException e) {
        return new UncheckedIOException("cannot spool a message to a temporary file in " + directory + ": " + e.getMessage(), e);
    }

    /**
     * Makes {@code directory} ready for spools at start: creates it owner-only (0700) when it is
     * missing, and removes the files spools of other, ended processes left in it. Only files named
     * as spools name them, of a pid that is neither this process nor a live one, are touched; a
     * pid reused since is taken for alive and its files wait for a later start.
     *
     * @return how many files were removed
     * @throws UncheckedIOException when the directory cannot be created or read
     */
    public static int prepare(Path directory) {
        int removed = 0;
        try {
            if (!Files.isDirectory(directory)) {
                Files.createDirectories(directory, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
            }
            try (DirectoryStream<Path> files = Files.newDirectoryStream(directory)) {
                for (Path f : files) {
                    Matcher m = OWN_FILE.matcher(f.getFileName().toString());
                    if (!m.matches() || !Files.isRegularFile(f, LinkOption.NOFOLLOW_LINKS)) continue;
                    long pid = Long.parseLong(m.group(1));
                    if (pid == PID || ProcessHandle.of(pid).isPresent()) continue;
                    if (Files.deleteIfExists(f)) removed++;
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot prepare the spool directory " + directory + ": " + e.getMessage(), e);
        }
        return removed;
    }

    public long size() {
        return size;
    }

    /** The temporary file holding what did not fit in memory, if any. */
    public Optional<Path> file() {
        return Optional.ofNullable(file);
    }

    /** The first octets of the message (all of it, when it fits in memory). */
    public byte[] head() {
        return memory;
    }

    public int headLength() {
        return memoryLength;
    }

    /**
     * The last octet has been written: the temporary file, if any, is closed for writing, so a
     * finished spool holds no file descriptor until it is read.
     */
    public void finish() throws IOException {
        if (fileOut != null) fileOut.close();
    }

    /** The whole message, from its first octet, each call afresh; call after the last write. */
    public InputStream open() throws IOException {
        InputStream head = new ByteArrayInputStream(memory, 0, memoryLength);
        if (fileOut == null) return head;
        fileOut.close();
        return new SequenceInputStream(head, Files.newInputStream(file));
    }

    /** Deletes the temporary file and drops the memory; harmless when called again. */
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
