package org.castellan.store.embedded.internal;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.SequenceInputStream;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.HexFormat;
import java.util.Optional;
import org.castellan.store.StoreException;

/**
 * Bodies as rows refer to them: a {@code blobs} row per distinct body counts the mailbox messages
 * and queued messages that use it; the bytes are a {@code blob_data} row (small bodies) or a
 * file of the {@link BlobStore} (large ones). Every reference is added and removed in the
 * transaction that adds or removes its row, so a body goes exactly when its last user does.
 */
public final class BlobRefs {

    /**
     * Bodies up to this size live in the database: a batch of them shares one WAL fsync, where a
     * file each would cost a file and a directory fsync per message. Most mail without
     * attachments is below it; above it, the fsync is a small part of the cost of the write.
     */
    public static final int INLINE_MAX = 128 * 1024;

    /**
     * A body on its way in: a small one held in memory, to go into the database with the
     * transaction; a larger one already a durable file, pinned until that transaction has ended.
     *
     * @param inline the bytes, or null when the body is a file
     */
    public record Incoming(String id, long size, byte[] inline) {

        /** The pins the writer releases once the referencing transaction has ended. */
        public java.util.List<String> pins() {
            return inline == null ? java.util.List.of(id) : java.util.List.of();
        }
    }

    private BlobRefs() {}

    /** Reads {@code content} to its end: into memory up to {@link #INLINE_MAX}, else into a pinned file. */
    public static Incoming take(BlobStore blobs, InputStream content) throws IOException {
        byte[] head = content.readNBytes(INLINE_MAX + 1);
        if (head.length <= INLINE_MAX) {
            return new Incoming(HexFormat.of().formatHex(BlobStore.sha256().digest(head)), head.length, head);
        }
        BlobStore.BlobRef file = blobs.write(new SequenceInputStream(new ByteArrayInputStream(head), content));
        return new Incoming(file.id(), file.size(), null);
    }

    /**
     * Adds references to a body. The first reference of an inline body stores its bytes; the
     * first reference of a file requires the file (see BlobStore). A body already stored stays
     * where it is.
     */
    public static void reference(Connection c, BlobStore blobs, Incoming body, int references) throws SQLException {
        String blobId = body.id();
        Sql.update(c, "INSERT INTO blobs (hash, size, refcount) VALUES (?, ?, ?)"
                + " ON CONFLICT (hash) DO UPDATE SET refcount = refcount + excluded.refcount", blobId, body.size(), references);
        long count = Sql.count(c, "SELECT refcount FROM blobs WHERE hash = ?", blobId);
        if (count == references && body.inline() != null) {
            Sql.update(c, "INSERT INTO blob_data (hash, data) VALUES (?, ?)", blobId, body.inline());
        } else if (count == references && !blobs.exists(blobId)) {
            // Another process collected the file between our write and this transaction.
            throw StoreException.unavailable("the message body file " + blobId + " was removed by another process"
                    + " while being stored; retry", null);
        }
    }

    /** Removes references; the last one removes the row, and the bytes (a file after the commit). */
    public static void release(Tx tx, String blobId, int references) throws SQLException {
        Connection c = tx.connection();
        long count = Sql.count(c, "SELECT refcount FROM blobs WHERE hash = ?", blobId);
        if (count <= references) {
            Sql.update(c, "DELETE FROM blobs WHERE hash = ?", blobId);
            // An inline body goes with its row; a file is removed after the commit.
            if (Sql.update(c, "DELETE FROM blob_data WHERE hash = ?", blobId) == 0) tx.blobUnreferenced(blobId);
        } else {
            Sql.update(c, "UPDATE blobs SET refcount = refcount - ? WHERE hash = ?", references, blobId);
        }
    }

    /**
     * Opens a body a row referred to when it was read.
     *
     * @throws java.nio.file.NoSuchFileException when its last reference went (and the file with
     *     it) since that read
     */
    public static InputStream open(ReadPool readers, BlobStore blobs, String blobId, String doing) throws IOException {
        Optional<byte[]> inline = readers.read(doing,
                c -> Sql.one(c, "SELECT data FROM blob_data WHERE hash = ?", rs -> rs.getBytes(1), blobId));
        if (inline.isPresent()) return new ByteArrayInputStream(inline.get());
        return blobs.open(blobId);
    }
}
