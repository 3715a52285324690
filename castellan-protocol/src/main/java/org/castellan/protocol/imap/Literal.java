package org.castellan.protocol.imap;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * The content of one literal a command carried (RFC 9051 §4.3, RFC 3516 literal8): held in
 * memory, or spooled by the session to a temporary file while it arrived. A message given to
 * APPEND is one; so would be any other large piece of a command that must not sit in the
 * command buffer.
 *
 * <p>Whoever ends up holding a literal {@link #close closes} it once done with it (a spooled one
 * deletes its file then); the parser closes those of a command it refuses. Closing twice is
 * harmless.
 */
public interface Literal extends AutoCloseable {

    /** The octets the literal announced and delivered. */
    long size();

    /**
     * A fresh stream over the content, from its first octet; the caller closes it. Each call
     * starts again, so a literal can be read more than once (to parse, then to store).
     *
     * @throws IOException when a spooled literal cannot be read back, or could not be written
     *     while it arrived (a full disk): the command using it must fail, never store a part
     */
    InputStream open() throws IOException;

    /** Releases what holds the content (memory, a temporary file). */
    @Override
    void close();

    /** A literal held in memory; equal to another in-memory literal with the same octets. */
    static Literal of(byte[] octets) {
        return new InMemory(octets);
    }

    /**
     * Where the parser hands the octets of literals it does not keep in the command buffer (the
     * messages of APPEND), as they arrive. The session supplies it; it decides whether a literal
     * stays in memory or goes to a file.
     */
    interface Sink {
        /** A literal of {@code size} octets starts; its octets follow, in order, through the receiver. */
        Receiver receive(long size);
    }

    /**
     * Takes one literal's octets as they arrive. Never throws: a write that fails (a full disk)
     * is remembered, and {@link Literal#open} of the finished literal reports it.
     */
    interface Receiver {
        /** Takes every remaining octet of {@code octets}. */
        void write(ByteBuffer octets);

        /** All announced octets have arrived: the literal, now owned by whoever receives the command. */
        Literal finish();

        /** The command was refused or the connection ended before the literal was used: release it. */
        void abort();
    }

    /** A sink that keeps every literal in memory: for tests, and for commands whose literals are small. */
    Sink IN_MEMORY = size -> new Receiver() {
        private final byte[] octets = new byte[Math.toIntExact(size)];
        private int filled;

        @Override
        public void write(ByteBuffer in) {
            int n = in.remaining();
            in.get(octets, filled, n);
            filled += n;
        }

        @Override
        public Literal finish() {
            return new InMemory(octets);
        }

        @Override
        public void abort() {}
    };

    /** A literal in memory. */
    final class InMemory implements Literal {
        private final byte[] octets;

        InMemory(byte[] octets) {
            this.octets = octets;
        }

        @Override
        public long size() {
            return octets.length;
        }

        /** The octets themselves, for the parser's strings; not a copy. */
        byte[] octets() {
            return octets;
        }

        @Override
        public InputStream open() {
            return new ByteArrayInputStream(octets);
        }

        @Override
        public void close() {}

        @Override
        public boolean equals(Object o) {
            return o instanceof InMemory m && Arrays.equals(m.octets, octets);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(octets);
        }

        @Override
        public String toString() {
            return "Literal[" + octets.length + " octets]";
        }
    }
}
