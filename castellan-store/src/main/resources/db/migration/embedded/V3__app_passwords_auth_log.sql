-- App passwords: extra SCRAM-SHA-256 secrets of an account, each for some protocols only.
-- The password itself is never stored; it is shown once when created.
CREATE TABLE app_passwords (
    id         INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts (id),
    label      TEXT    NOT NULL,
    credential TEXT    NOT NULL,
    scope      TEXT    NOT NULL,  -- space-separated, sorted protocol names
    created_at INTEGER NOT NULL
) STRICT;
CREATE INDEX app_passwords_by_account ON app_passwords (account_id);

-- Every authentication attempt, newest last; trimmed to a bounded number of rows and days.
-- Never a password or SASL payload.
CREATE TABLE auth_log (
    id          INTEGER PRIMARY KEY,
    at          INTEGER NOT NULL,
    remote      TEXT    NOT NULL,
    listener    TEXT    NOT NULL,
    protocol    TEXT    NOT NULL,
    mechanism   TEXT    NOT NULL,
    account     TEXT    NOT NULL,  -- '-' when no account was named
    result      TEXT    NOT NULL,
    tls_version TEXT,
    certificate TEXT               -- 'sha256:<hex>' of the verified client certificate
) STRICT;
CREATE INDEX auth_log_by_account ON auth_log (account, id);
CREATE INDEX auth_log_by_time ON auth_log (at);
