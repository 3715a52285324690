-- messages.blob_hash references blobs (hash), and foreign keys are enforced: deleting a blobs
-- row (the last message using a body was expunged) makes SQLite look for messages still
-- referencing it. Without this index that is a scan of every message in the store, on the one
-- writer thread, for every EXPUNGE; with it, one index lookup.
CREATE INDEX messages_by_blob ON messages (blob_hash);
