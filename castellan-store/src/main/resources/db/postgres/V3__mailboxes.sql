-- The mailboxes and their messages (docs/store.md, "Scale-out"): the embedded store's tables of
-- the same names, in PostgreSQL types. Every write locks the mailbox's row (FOR UPDATE) before it
-- reads uid_next and highest_modseq, so two nodes never hand out one UID twice (RFC 9051 §2.3.1.1)
-- and a mailbox's MODSEQ only grows (RFC 7162 §3.1).

ALTER TABLE accounts
    ADD COLUMN used_bytes    BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN used_messages BIGINT NOT NULL DEFAULT 0;

ALTER TABLE mailboxes
    ADD COLUMN uid_next         BIGINT NOT NULL DEFAULT 1,
    ADD COLUMN highest_modseq   BIGINT NOT NULL DEFAULT 1,
    ADD COLUMN first_recent_uid BIGINT NOT NULL DEFAULT 1;  -- RFC 3501 §2.3.2: from it on, unclaimed

-- One row per distinct body (SHA-256, hex), counting the messages that use it; the row and the
-- bytes go when the count reaches 0. header_text and body_text are the folded search text
-- (MessageStructure.searchText), NULL when it cannot be stored: such messages are scanned.
CREATE TABLE blobs (
    hash        TEXT PRIMARY KEY,
    size        BIGINT NOT NULL,
    refcount    BIGINT NOT NULL CHECK (refcount > 0),
    header_text TEXT,
    body_text   TEXT
);

-- The bodies' bytes, behind the BodyStore seam (PgBodies); an object store takes its place later.
CREATE TABLE blob_data (
    hash TEXT PRIMARY KEY,
    data BYTEA NOT NULL
);

CREATE TABLE messages (
    mailbox_id     BIGINT NOT NULL REFERENCES mailboxes (id) ON DELETE CASCADE,
    uid            BIGINT NOT NULL,
    modseq         BIGINT NOT NULL,
    flags          TEXT NOT NULL DEFAULT '',  -- space-separated, sorted
    seen           BOOLEAN NOT NULL,          -- flags hold \Seen: counts unseen cheaply
    internal_date  TIMESTAMPTZ NOT NULL,
    size           BIGINT NOT NULL,
    blob_hash      TEXT NOT NULL REFERENCES blobs (hash),
    mime_structure BYTEA,                     -- MessageStructure.encode()
    PRIMARY KEY (mailbox_id, uid)
);
CREATE INDEX messages_by_modseq ON messages (mailbox_id, modseq);
CREATE INDEX messages_by_blob ON messages (blob_hash);

-- Expunged UIDs with the MODSEQ of their removal, for QRESYNC VANISHED (RFC 7162 §3.2.10).
CREATE TABLE expunged (
    mailbox_id BIGINT NOT NULL REFERENCES mailboxes (id) ON DELETE CASCADE,
    uid        BIGINT NOT NULL,
    modseq     BIGINT NOT NULL,
    PRIMARY KEY (mailbox_id, uid)
);

-- URLAUTH mailbox access keys (RFC 4467 §2.2): secrets, never logged.
CREATE TABLE mailbox_access_keys (
    mailbox_id BIGINT PRIMARY KEY REFERENCES mailboxes (id) ON DELETE CASCADE,
    access_key BYTEA NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);

-- SEARCH TEXT and BODY are LIKE '%needle%' over the folded text. With the contrib module
-- pg_trgm (Debian's postgresql-contrib) a trigram index answers them; without it the same query
-- scans the mailbox's texts: the same answers, slower.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm') THEN
        CREATE EXTENSION IF NOT EXISTS pg_trgm;
        CREATE INDEX blobs_header_trgm ON blobs USING gin (header_text gin_trgm_ops);
        CREATE INDEX blobs_body_trgm ON blobs USING gin (body_text gin_trgm_ops);
    END IF;
END
$$;

-- Events of one write too long for a NOTIFY payload (PgNotifications): the notification names
-- the row; rows older than an hour are removed by the next overflowing write.
CREATE TABLE event_overflow (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    payload    TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
