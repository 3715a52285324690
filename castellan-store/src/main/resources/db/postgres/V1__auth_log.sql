-- The PostgreSQL store's auth log (docs/store.md): every authentication attempt, never a password
-- or SASL payload; trimmed to AuthLogStore.AUTH_LOG_MAX_ROWS rows and AUTH_LOG_MAX_AGE on every write.
CREATE TABLE auth_log (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at          TIMESTAMPTZ NOT NULL,
    remote      TEXT NOT NULL,
    listener    TEXT NOT NULL,
    protocol    TEXT NOT NULL,
    mechanism   TEXT NOT NULL,
    account     TEXT NOT NULL,  -- lower case, or '-' when none was named
    result      TEXT NOT NULL,
    tls_version TEXT,
    certificate TEXT,           -- SHA-256 of the client certificate
    reason      TEXT
);

CREATE INDEX auth_log_by_account ON auth_log (account, id);
CREATE INDEX auth_log_by_time ON auth_log (at);
