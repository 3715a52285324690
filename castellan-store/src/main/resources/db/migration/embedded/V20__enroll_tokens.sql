-- One-time enrollment tokens (castellan enroll token): each lets its holder enroll one
-- certificate of one kind for one device of one account, once, before it expires. Only a
-- SHA-256 of the token's secret is kept; the token itself is shown once to the operator.
CREATE TABLE enroll_tokens (
    id          TEXT    PRIMARY KEY,  -- "et-" and random hex, the token's public half
    account_id  INTEGER NOT NULL REFERENCES accounts (id),
    secret_hash TEXT    NOT NULL,     -- lower-case hex SHA-256 of the secret half
    device      TEXT    NOT NULL,     -- the device name the certificate will carry
    kind        TEXT    NOT NULL,     -- "device" or "user"
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    used_at     INTEGER               -- null until a certificate was issued with it
) STRICT;
CREATE INDEX enroll_tokens_by_account ON enroll_tokens (account_id);
