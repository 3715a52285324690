-- The outbound queue (docs/outbound.md §2) and the TLS-RPT counts (RFC 8460 §4): the embedded
-- store's tables of the same names (V18, V19), in PostgreSQL types. The content is a blobs row
-- like a mailbox message's body: the queued message holds one reference, so a body shared with
-- mailbox copies stays until the last of them all is gone. Several nodes' engines lease from
-- the same rows: lease takes due recipients with SELECT ... FOR UPDATE SKIP LOCKED, so a row one
-- engine is leasing is skipped by the other, never handed out twice.

CREATE TABLE queue_messages (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    sender        TEXT NOT NULL,                  -- '' for the null reverse-path <>
    envid         TEXT,                           -- RFC 3461 §4.4
    ret           TEXT NOT NULL CHECK (ret IN ('FULL', 'HDRS', 'UNSPECIFIED')),
    body          TEXT NOT NULL CHECK (body IN ('SEVEN_BIT', 'EIGHT_BIT_MIME')),
    smtp_utf8     BOOLEAN NOT NULL,
    require_tls   BOOLEAN NOT NULL,
    submitter     TEXT,
    received_from TEXT NOT NULL,
    arrival       TIMESTAMPTZ NOT NULL,
    size          BIGINT NOT NULL,
    blob_hash     TEXT NOT NULL REFERENCES blobs (hash),
    held          BOOLEAN NOT NULL DEFAULT FALSE,
    tls_report    BOOLEAN NOT NULL DEFAULT FALSE  -- RFC 8460 §3: report mail goes despite TLS failures
);
-- The operator's listing, oldest first.
CREATE INDEX queue_messages_by_arrival ON queue_messages (arrival, id);
-- Deleting a blobs row checks this foreign key too: one lookup, as messages_by_blob does.
CREATE INDEX queue_messages_by_blob ON queue_messages (blob_hash);

CREATE TABLE queue_recipients (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    message_id     BIGINT NOT NULL REFERENCES queue_messages (id) ON DELETE CASCADE,
    address        TEXT NOT NULL,
    domain         TEXT NOT NULL,                 -- lower case, as routing uses it
    notify         TEXT NOT NULL,                 -- RFC 3461 §4.1, names joined by ','; '' for NEVER
    orcpt          TEXT,                          -- RFC 3461 §4.2
    state          TEXT NOT NULL CHECK (state IN ('QUEUED', 'DELIVERED', 'FAILED')),
    attempts       INTEGER NOT NULL DEFAULT 0,
    next_attempt   TIMESTAMPTZ NOT NULL,
    lease_until    TIMESTAMPTZ,                   -- an engine is attempting it until then
    lease_owner    TEXT,                          -- which open store leased it: releaseLeases ends only its own
    last_attempt   TIMESTAMPTZ,
    last_reply     TEXT,
    last_host      TEXT,
    final_reported BOOLEAN NOT NULL DEFAULT FALSE,
    delay_reported BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX queue_recipients_by_message ON queue_recipients (message_id);
-- Due recipients in the order lease hands them out; only queued ones, so delivered and failed
-- rows waiting for their purge cost nothing.
CREATE INDEX queue_recipients_due ON queue_recipients (next_attempt, id) WHERE state = 'QUEUED';

CREATE TABLE tlsrpt_counts (
    day           DATE NOT NULL,                  -- the UTC date
    policy_domain TEXT NOT NULL,
    policy        TEXT NOT NULL,                  -- the policy as the report names it
    result        TEXT NOT NULL,                  -- '' for a success, else the failure's details
    sessions      BIGINT NOT NULL,
    PRIMARY KEY (day, policy_domain, policy, result)
);
