package org.castellan.store.postgres.internal;

import java.io.InputStream;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Instant;
import java.util.Optional;

/**
 * Where the PostgreSQL store keeps message bodies, by SHA-256 (hex): the seam an object store
 * (S3) slots into (docs/store.md, "Scale-out"). The {@code blobs} table counts the references; a
 * body store only holds bytes. {@link #put} runs before the metadata that references the body
 * commits (inside that transaction for {@link InlineBodies}, before it for an object store), and
 * {@link #delete} runs once the last reference is gone.
 */
public interface BodyStore extends AutoCloseable {

    /** Stores {@code bytes} under {@code hash}; harmless when they are stored already. */
    void put(Connection c, String hash, byte[] bytes) throws SQLException;

    /**
     * Sends the bytes ahead, before the transaction that will {@link #put} them takes any row, so
     * that writers of one mailbox do not wait for each other's uploads; {@code put} still runs in
     * that transaction, under its rules, and finds them there. Nothing to do where {@code put}
     * writes inside the transaction. Bytes sent ahead for a transaction that never commits are
     * left to {@link #sweep}, as those of one that rolls back after {@code put}.
     */
    default void sendAhead(String hash, byte[] bytes) {}

    /** The body's bytes, empty when it is not stored (removed meanwhile). */
    Optional<InputStream> open(Connection c, String hash) throws SQLException;

    void delete(Connection c, String hash) throws SQLException;

    /**
     * Removes bodies released before {@code now} minus the store's grace period that no row
     * references, inside the caller's transaction; returns how many. Nothing to do where
     * {@link #delete} removes the bytes at once.
     */
    default int collectOrphans(Connection c, Instant now) throws SQLException {
        return 0;
    }

    /**
     * Removes stored bodies nothing records (left by transactions that rolled back after
     * {@link #put}) that are older than the grace period before {@code now}; returns how many.
     */
    default int sweep(Connection c, Instant now) throws SQLException {
        return 0;
    }

    /** Releases what the body store holds open (an object store's HTTP connections). */
    @Override
    default void close() {}
}
