-- Castellan embedded mail store, first schema.
-- Times are milliseconds since the epoch (UTC). Addresses are stored under EmailAddress.key().

-- Store-wide counters; 'uid_validity' hands out UIDVALIDITY values (RFC 9051 §2.3.1.1), unique
-- across every mailbox ever created, so a recreated mailbox never reuses one.
CREATE TABLE counters (
    name  TEXT PRIMARY KEY,
    value INTEGER NOT NULL
) STRICT;
INSERT INTO counters (name, value) VALUES ('uid_validity', 0);

CREATE TABLE domains (
    name       TEXT PRIMARY KEY,
    created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE accounts (
    id            INTEGER PRIMARY KEY,
    address_key   TEXT    NOT NULL UNIQUE,
    local_part    TEXT    NOT NULL,
    domain        TEXT    NOT NULL REFERENCES domains (name),
    credential    TEXT    NOT NULL,
    quota_bytes   INTEGER,
    used_bytes    INTEGER NOT NULL DEFAULT 0,
    used_messages INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL
) STRICT;
CREATE INDEX accounts_by_domain ON accounts (domain);

CREATE TABLE aliases (
    address_key TEXT PRIMARY KEY,
    local_part  TEXT    NOT NULL,
    domain      TEXT    NOT NULL REFERENCES domains (name),
    target      TEXT    NOT NULL,
    created_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX aliases_by_domain ON aliases (domain);

CREATE TABLE mailboxes (
    id             INTEGER PRIMARY KEY,
    account_id     INTEGER NOT NULL REFERENCES accounts (id),
    name           TEXT    NOT NULL,
    uid_validity   INTEGER NOT NULL,
    uid_next       INTEGER NOT NULL DEFAULT 1,
    highest_modseq INTEGER NOT NULL DEFAULT 1,
    special_use    TEXT,
    created_at     INTEGER NOT NULL,
    UNIQUE (account_id, name)
) STRICT;

-- Subscriptions are names, not mailboxes: they outlive a deleted mailbox (RFC 9051 §6.3.9).
CREATE TABLE subscriptions (
    account_id INTEGER NOT NULL REFERENCES accounts (id),
    name       TEXT    NOT NULL,
    PRIMARY KEY (account_id, name)
) STRICT, WITHOUT ROWID;

-- One row per stored body file (blobs/<hh>/<hash>); the row is deleted when refcount reaches 0.
CREATE TABLE blobs (
    hash     TEXT PRIMARY KEY,
    size     INTEGER NOT NULL,
    refcount INTEGER NOT NULL CHECK (refcount > 0)
) STRICT, WITHOUT ROWID;

CREATE TABLE messages (
    mailbox_id     INTEGER NOT NULL REFERENCES mailboxes (id),
    uid            INTEGER NOT NULL,
    modseq         INTEGER NOT NULL,
    flags          TEXT    NOT NULL DEFAULT '',  -- space-separated, sorted
    seen           INTEGER NOT NULL DEFAULT 0,   -- 1 when flags hold \Seen: counts unseen cheaply
    internal_date  INTEGER NOT NULL,
    size           INTEGER NOT NULL,
    blob_hash      TEXT    NOT NULL REFERENCES blobs (hash),
    mime_structure BLOB,                         -- parsed MIME structure, filled in later
    PRIMARY KEY (mailbox_id, uid)
) STRICT, WITHOUT ROWID;
CREATE INDEX messages_by_modseq ON messages (mailbox_id, modseq);

-- Expunged UIDs with the MODSEQ of their removal, for QRESYNC VANISHED (RFC 7162 §3.2.10).
CREATE TABLE expunged (
    mailbox_id INTEGER NOT NULL REFERENCES mailboxes (id),
    uid        INTEGER NOT NULL,
    modseq     INTEGER NOT NULL,
    PRIMARY KEY (mailbox_id, uid)
) STRICT, WITHOUT ROWID;
