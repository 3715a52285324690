package org.castellan.server.imap;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.util.Arrays;
import org.castellan.protocol.imap.Literal;
import org.castellan.server.transport.MessageSpool;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Where one IMAP session's parser puts APPEND messages as they arrive: in memory up to
 * {@link #MEMORY_PER_COMMAND} for the command's messages together, the rest of each in a
 * temporary {@link MessageSpool} file (0600). A literal that fits in memory comes out as a plain
 * in-memory {@link Literal}; a spooled one deletes its file when closed. The session resets the
 * budget between commands; the parser and the commands close every literal they were handed.
 *
 * <p>Failure: a temporary file that cannot be written (a full disk) is not thrown at the parser;
 * the rest of the literal is dropped and {@link Literal#open} of it fails, so the APPEND answers
 * NO and stores nothing.
 */
final class LiteralSpool implements Literal.Sink {

    private static final Logger log = LoggerFactory.getLogger(LiteralSpool.class);

    /**
     * Octets of one command's literals held in memory together: a small message never touches
     * the disk, and a session holds at most this much however large or many its messages are.
     */
    static final int MEMORY_PER_COMMAND = 256 * 1024;

    private final java.nio.file.Path directory;
    private long memoryLeft = MEMORY_PER_COMMAND;
    /** Octets of literals received so far, for the session's idle timer: a long upload is not idleness. */
    private long received;

    long received() {
        return received;
    }

    /** @param directory where spooled literals' files go */
    LiteralSpool(java.nio.file.Path directory) {
        this.directory = directory;
    }

    /** A command has ended; the next one has the whole memory budget again. */
    void commandEnded() {
        memoryLeft = MEMORY_PER_COMMAND;
    }

    @Override
    public Literal.Receiver receive(long size) {
        int memory = (int) Math.min(size, memoryLeft);
        memoryLeft -= memory;
        return new Spooling(new MessageSpool(directory, memory, size), size);
    }

    /** One literal on its way into a spool. */
    private final class Spooling implements Literal.Receiver {
        private final MessageSpool spool;
        private final long size;
        private IOException failure;

        Spooling(MessageSpool spool, long size) {
            this.spool = spool;
            this.size = size;
        }

        @Override
        public void write(ByteBuffer octets) {
            received += octets.remaining();
            if (failure != null) {
                octets.position(octets.limit());
                return;
            }
            try {
                spool.write(octets);
            } catch (UncheckedIOException e) {
                failure = e.getCause();
                octets.position(octets.limit());
                spool.close();
            }
        }

        @Override
        public Literal finish() {
            if (failure == null && spool.file().isEmpty()) {
                byte[] octets = spool.headLength() == spool.head().length ? spool.head()
                        : Arrays.copyOf(spool.head(), spool.headLength());
                return Literal.of(octets);
            }
            if (failure == null) {
                try {
                    spool.finish();
                } catch (IOException e) {
                    failure = e;
                    spool.close();
                }
            }
            return new Spooled(spool, size, failure);
        }

        @Override
        public void abort() {
            spool.close();
        }
    }

    /** A literal in a spool with a temporary file. */
    private record Spooled(MessageSpool spool, long size, IOException failure) implements Literal {
        @Override
        public InputStream open() throws IOException {
            if (failure != null) throw new IOException("the literal could not be spooled: " + failure.getMessage(), failure);
            return spool.open();
        }

        @Override
        public void close() {
            try {
                spool.close();
            } catch (UncheckedIOException e) {
                // Nothing waits for it; the file is private, and the log says where it is.
                log.warn("cannot remove a spooled APPEND literal: {}", e.getMessage());
            }
        }

        @Override
        public String toString() {
            return "Literal[" + size + " octets, spooled]";
        }
    }
}
