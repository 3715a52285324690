package org.castellan.server.imap;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.castellan.protocol.imap.FetchAttribute;
import org.castellan.protocol.imap.MessageStructure;
import org.castellan.store.Mailboxes;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One FETCH response under construction: text and literals built in memory, and sections that
 * are runs of the stored message, sent from the store when the response goes out
 * ({@link Sender}). Keeps a response's memory at its text, whatever the size of the message.
 */
final class FetchOutput {

    private static final Logger log = LoggerFactory.getLogger(FetchOutput.class);

    /** A stored run leaves in pieces of this size, each once the connection takes output. */
    static final int STREAM_CHUNK = 64 * 1024;

    private final List<Object> pieces = new ArrayList<>();
    private ByteArrayOutputStream text = new ByteArrayOutputStream();

    void text(String s) {
        text.writeBytes(s.getBytes(StandardCharsets.UTF_8));
    }

    void literal(byte[] data) {
        text("{" + data.length + "}\r\n");
        text.writeBytes(data);
    }

    /** RFC 3516 §4.2: {@code ~{n}} only when the data holds NUL, which a literal may not. */
    void literal8(byte[] data) {
        boolean nul = false;
        for (byte x : data) nul |= x == 0;
        text((nul ? "~{" : "{") + data.length + "}\r\n");
        text.writeBytes(data);
    }

    /**
     * {@code BODY[section]<partial>} of the stored message {@code uid}, sent from the store: NIL for
     * a part that does not exist (RFC 9051 §6.4.5).
     */
    void stored(long uid, FetchAttribute.Body body, MessageStructure structure, long messageSize) {
        var range = structure.sectionRange(body.section(), messageSize);
        if (range.isEmpty()) {
            text("NIL");
            return;
        }
        MessageStructure.Range r = range.get();
        if (body.partialOffset().isPresent()) {
            long from = Math.min(r.to(), r.from() + body.partialOffset().getAsLong());
            r = new MessageStructure.Range(from, Math.min(r.to(), from + body.partialLength().getAsLong()));
        }
        stored(uid, r);
    }

    /** A literal of octets {@code range} of the stored message {@code uid}, read when it is sent. */
    void stored(long uid, MessageStructure.Range range) {
        text("{" + range.length() + "}\r\n");
        pieces.add(text.toByteArray());
        pieces.add(new Stored(uid, range));
        text = new ByteArrayOutputStream();
    }

    /** Text pieces as byte[], stored runs as {@link Stored}, in order. */
    private List<Object> pieces() {
        if (text.size() > 0) {
            pieces.add(text.toByteArray());
            text = new ByteArrayOutputStream();
        }
        return pieces;
    }

    private record Stored(long uid, MessageStructure.Range range) {}

    /** The connection closed, or failed, in the middle of a response: nothing more can be said. */
    static final class Broken extends RuntimeException {
        Broken(String message) {
            super(message, null, false, false);
        }
    }

    /**
     * Hands responses to the connection from the blocking executor: text in batches of
     * {@link Fetch#WRITE_BATCH_BYTES}, stored runs in chunks of {@link #STREAM_CHUNK}, each only
     * once the connection takes output again ({@link ImapSession#awaitWritable}). Each hand-over
     * is flushed, and so costs a TLS record and a system call (through an edge, a frame, a record
     * and a system call more each way), so text waiting before a stored run goes with the run's
     * first chunk, and the last batch ({@link #finish}) goes unflushed for the tagged reply to take.
     *
     * <p>Failure: a stored message that cannot be read once its literal's length is out closes
     * the connection (the response can be neither finished nor taken back) and throws
     * {@link Broken}; so does a connection that closes meanwhile.
     */
    static final class Sender {
        private final ImapSession s;
        private final Mailboxes store;
        private final long mailbox;
        private final List<byte[]> batch = new ArrayList<>();
        private long batched;

        Sender(ImapSession s, Mailboxes store, long mailbox) {
            this.s = s;
            this.store = store;
            this.mailbox = mailbox;
        }

        /**
         * Sends one response. Its stored runs are opened before any of it is handed over, so a
         * message expunged meanwhile fails here with the store's {@code NOT_FOUND} and nothing of
         * the response has left (the caller leaves it out, RFC 2180 §4.1.2); once open, a run stays
         * readable until it is sent.
         */
        void send(FetchOutput response) {
            List<Object> pieces = response.pieces();
            List<InputStream> opened = new ArrayList<>();
            try {
                for (Object piece : pieces) {
                    if (piece instanceof Stored run) opened.add(store.openMessage(mailbox, run.uid()));
                }
                int next = 0;
                for (Object piece : pieces) {
                    if (piece instanceof byte[] bytes) {
                        batch.add(bytes);
                        batched += bytes.length;
                        if (batched >= Fetch.WRITE_BATCH_BYTES) flush();
                    } else {
                        // The text before the run goes with its first chunk.
                        stream((Stored) piece, opened.get(next++));
                    }
                }
            } finally {
                for (InputStream in : opened) {
                    try {
                        in.close();
                    } catch (IOException e) {
                        log.debug("{} imap closing a stored message: {}", s.connection().logId(), e.toString());
                    }
                }
            }
        }

        void flush() {
            if (batch.isEmpty()) return;
            awaitWritable();
            s.write(taken());
        }

        /**
         * Hands over the last batch without a flush: the command's completion, on the event loop
         * after it, writes the tagged reply and flushes both ({@link ImapSession#writeBeforeCompletion}).
         * Nothing waits for writability after it, so the unflushed octets cannot hold the sender.
         */
        void finish() {
            if (batch.isEmpty()) return;
            awaitWritable();
            s.writeBeforeCompletion(taken());
        }

        /** The batch so far as one buffer; the batch is empty after. */
        private ByteBuf taken() {
            ByteBuf out = Unpooled.wrappedBuffer(batch.toArray(byte[][]::new));
            batch.clear();
            batched = 0;
            return out;
        }

        private void stream(Stored run, InputStream in) {
            long left = run.range().length();
            try {
                in.skipNBytes(run.range().from());
                while (left > 0) {
                    byte[] chunk = in.readNBytes((int) Math.min(STREAM_CHUNK, left));
                    if (chunk.length == 0) throw new EOFException("the stored message ends early");
                    left -= chunk.length;
                    awaitWritable();
                    batch.add(chunk);
                    s.write(taken());
                }
            } catch (Broken b) {
                throw b;
            } catch (IOException | RuntimeException e) {
                log.warn("{} imap cannot send message uid {}: {}", s.connection().logId(), run.uid(), e.toString());
                s.connection().close();
                throw new Broken("cannot send message " + run.uid() + ": " + e);
            }
        }

        private void awaitWritable() {
            try {
                if (!s.awaitWritable()) throw new Broken("the connection closed");
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new Broken("interrupted");
            }
        }
    }
}
