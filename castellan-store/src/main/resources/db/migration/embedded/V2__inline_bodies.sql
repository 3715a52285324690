-- Bodies up to EmbeddedMailStore.INLINE_MAX are kept here, inside the database, so that a whole
-- batch of deliveries shares one WAL fsync; larger bodies stay files under blobs/. A body is in
-- exactly one place: a row here, or a file named by its hash. The blobs table counts references
-- either way. A rowid table: large rows do not suit WITHOUT ROWID tables.
CREATE TABLE blob_data (
    hash TEXT NOT NULL PRIMARY KEY,
    data BLOB NOT NULL
) STRICT;
