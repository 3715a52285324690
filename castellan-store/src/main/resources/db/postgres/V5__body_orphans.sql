-- Bodies in an object store whose last reference is gone, waiting for the collector
-- (S3Bodies.collectOrphans): recorded in the transaction that deletes the blobs row, so a crash
-- before the object is deleted leaves a collectable orphan, never a leak without record. A row is
-- deleted by a transaction that references the body again, and by the collector once it deleted
-- the object; each holds the row's lock while it works, so the two never overlap (docs/store.md,
-- "Bodies in an object store").
CREATE TABLE body_orphans (
    hash  TEXT PRIMARY KEY,
    since TIMESTAMPTZ NOT NULL
);

CREATE INDEX body_orphans_by_since ON body_orphans (since);
