-- The outbound queue (docs/outbound.md §2): messages accepted for recipients in other domains,
-- one row per message with its envelope, and one row per recipient with its delivery state.
-- The content is a blobs row like a mailbox message's body: the queued message holds one
-- reference, so a body shared with mailbox copies stays until the last of them all is gone.

CREATE TABLE queue_messages (
    id            INTEGER PRIMARY KEY,
    sender        TEXT    NOT NULL,               -- '' for the null reverse-path <>
    envid         TEXT,                           -- RFC 3461 §4.4
    ret           TEXT    NOT NULL CHECK (ret IN ('FULL', 'HDRS', 'UNSPECIFIED')),
    body          TEXT    NOT NULL CHECK (body IN ('SEVEN_BIT', 'EIGHT_BIT_MIME')),
    smtp_utf8     INTEGER NOT NULL,
    require_tls   INTEGER NOT NULL,
    submitter     TEXT,
    received_from TEXT    NOT NULL,
    arrival       INTEGER NOT NULL,
    size          INTEGER NOT NULL,
    blob_hash     TEXT    NOT NULL REFERENCES blobs (hash),
    held          INTEGER NOT NULL DEFAULT 0
) STRICT;
-- The operator's listing, oldest first.
CREATE INDEX queue_messages_by_arrival ON queue_messages (arrival);
-- Deleting a blobs row checks this foreign key too: one lookup, as messages_by_blob (V7) does.
CREATE INDEX queue_messages_by_blob ON queue_messages (blob_hash);

CREATE TABLE queue_recipients (
    id             INTEGER PRIMARY KEY,
    message_id     INTEGER NOT NULL REFERENCES queue_messages (id),
    address        TEXT    NOT NULL,
    domain         TEXT    NOT NULL,              -- lower case, as routing uses it
    notify         TEXT    NOT NULL,              -- RFC 3461 §4.1, names joined by ','; '' for NEVER
    orcpt          TEXT,                          -- RFC 3461 §4.2
    state          TEXT    NOT NULL CHECK (state IN ('QUEUED', 'DELIVERED', 'FAILED')),
    attempts       INTEGER NOT NULL DEFAULT 0,
    next_attempt   INTEGER NOT NULL,
    lease_until    INTEGER,                       -- an engine is attempting it until then
    last_attempt   INTEGER,
    last_reply     TEXT,
    last_host      TEXT,
    final_reported INTEGER NOT NULL DEFAULT 0,
    delay_reported INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX queue_recipients_by_message ON queue_recipients (message_id);
-- Due recipients in the order lease hands them out (next_attempt, then id: the rowid closes
-- every index). Only queued ones: delivered and failed rows waiting for their purge cost nothing.
-- Queries must say state = 'QUEUED' literally for SQLite to use it.
CREATE INDEX queue_recipients_due ON queue_recipients (next_attempt) WHERE state = 'QUEUED';
