-- The directory (docs/store.md): the embedded store's tables of the same names, in PostgreSQL
-- types. Rows that belong to an account go with it (ON DELETE CASCADE).

-- uid_validity: the last UIDVALIDITY handed out, max(last + 1, now in seconds) (RFC 9051 §2.3.1.1).
CREATE TABLE counters (
    name  TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);
INSERT INTO counters (name, value) VALUES ('uid_validity', 0);

CREATE TABLE domains (
    name       TEXT PRIMARY KEY,  -- lower case
    created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE accounts (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    address_key TEXT NOT NULL UNIQUE,  -- EmailAddress.key()
    local_part  TEXT NOT NULL,
    domain      TEXT NOT NULL REFERENCES domains (name),
    credential  TEXT NOT NULL,         -- a SCRAM-SHA-256 secret
    quota_bytes BIGINT,                -- NULL: unlimited
    created_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX accounts_by_domain ON accounts (domain, address_key);

CREATE TABLE aliases (
    address_key TEXT PRIMARY KEY,
    local_part  TEXT NOT NULL,
    domain      TEXT NOT NULL REFERENCES domains (name),
    target      TEXT NOT NULL,  -- any address
    created_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX aliases_by_domain ON aliases (domain);

-- The mailboxes every account is created with, and the INBOX a route names; their messages and
-- counters come with the PostgreSQL Mailboxes.
CREATE TABLE mailboxes (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id   BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    uid_validity BIGINT NOT NULL,
    special_use  TEXT,
    created_at   TIMESTAMPTZ NOT NULL,
    UNIQUE (account_id, name)
);

CREATE TABLE subscriptions (
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    PRIMARY KEY (account_id, name)
);

CREATE TABLE app_passwords (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    label      TEXT NOT NULL,
    credential TEXT NOT NULL,  -- a SCRAM-SHA-256 secret
    scope      TEXT NOT NULL,  -- protocol names, sorted, space-separated
    selector   TEXT,           -- the password's first characters, in the clear; NULL for none
    created_at TIMESTAMPTZ NOT NULL,
    UNIQUE (account_id, selector)
);

CREATE TABLE certificate_bindings (
    fingerprint TEXT PRIMARY KEY,  -- lower-case hex SHA-256: one account per certificate
    account_id  BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    label       TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX certificate_bindings_by_account ON certificate_bindings (account_id);

CREATE TABLE enroll_tokens (
    id          TEXT PRIMARY KEY,  -- et- and hex
    account_id  BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    secret_hash TEXT NOT NULL,     -- SHA-256 of the token's secret; the token itself is never kept
    device      TEXT NOT NULL,
    kind        TEXT NOT NULL,     -- device or user
    created_at  TIMESTAMPTZ NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL,
    used_at     TIMESTAMPTZ        -- set by one conditional UPDATE, so a token is spent once
);

CREATE TABLE enroll_pending (
    seq          BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,  -- order among requests of the same instant
    id           TEXT PRIMARY KEY,  -- er- and 8 hex
    account_id   BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    kind         TEXT NOT NULL,
    device       TEXT NOT NULL,
    key_type     TEXT NOT NULL,
    key_hash     TEXT NOT NULL,     -- SHA-256 of the SubjectPublicKeyInfo
    csr          BYTEA NOT NULL,
    requested_at TIMESTAMPTZ NOT NULL,
    state        TEXT NOT NULL,     -- pending, approved, denied, issued; moved by one conditional UPDATE
    reason       TEXT,
    decided_at   TIMESTAMPTZ
);
CREATE INDEX enroll_pending_by_key ON enroll_pending (account_id, kind, device, key_hash);
CREATE INDEX enroll_pending_by_state ON enroll_pending (state, requested_at);

-- Moved by every change a remembered route depends on (docs/store.md, "Routes"): each node
-- rereads it to retire its routes; deliveries and credential changes leave it alone.
CREATE TABLE directory_version (
    version BIGINT NOT NULL
);
INSERT INTO directory_version (version) VALUES (0);

CREATE FUNCTION directory_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE directory_version SET version = version + 1;
    RETURN NULL;
END
$$;

CREATE TRIGGER domains_changed AFTER INSERT OR UPDATE OR DELETE ON domains
    FOR EACH STATEMENT EXECUTE FUNCTION directory_changed();
CREATE TRIGGER accounts_changed AFTER INSERT OR UPDATE OF address_key, domain, quota_bytes OR DELETE ON accounts
    FOR EACH STATEMENT EXECUTE FUNCTION directory_changed();
CREATE TRIGGER aliases_changed AFTER INSERT OR UPDATE OR DELETE ON aliases
    FOR EACH STATEMENT EXECUTE FUNCTION directory_changed();
CREATE TRIGGER mailboxes_changed AFTER INSERT OR UPDATE OF name OR DELETE ON mailboxes
    FOR EACH STATEMENT EXECUTE FUNCTION directory_changed();
