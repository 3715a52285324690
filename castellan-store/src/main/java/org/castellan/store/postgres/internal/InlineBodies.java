package org.castellan.store.postgres.internal;

import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.Optional;

/**
 * Bodies as {@code bytea} rows of {@code blob_data}, in the transaction that references them: as
 * durable as the metadata, no second system to run. The cost is the database's size and its
 * backups, which is why an object store is to take this place (docs/store.md, "Scale-out").
 */
public final class InlineBodies implements BodyStore {

    @Override
    public void put(Connection c, String hash, byte[] bytes) throws SQLException {
        Pg.update(c, "INSERT INTO blob_data (hash, data) VALUES (?, ?) ON CONFLICT (hash) DO NOTHING", hash, bytes);
    }

    @Override
    public Optional<InputStream> open(Connection c, String hash) throws SQLException {
        return Pg.one(c, "SELECT data FROM blob_data WHERE hash = ?", rs -> new ByteArrayInputStream(rs.getBytes(1)), hash)
                .map(in -> (InputStream) in);
    }

    @Override
    public void delete(Connection c, String hash) throws SQLException {
        Pg.update(c, "DELETE FROM blob_data WHERE hash = ?", hash);
    }
}
