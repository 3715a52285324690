-- Enrollment requests waiting for the operator ([enroll] approve = true; castellan enroll
-- pending|approve|deny). The client repeats the same request (RFC 7030 §4.2.3) and is matched by
-- account, kind, device name and a hash of its public key; the certificate is issued at the
-- repeat after approval, and the request is then marked issued.
CREATE TABLE enroll_pending (
    id           TEXT    PRIMARY KEY,  -- "er-" and 8 random hex digits, what the operator types
    account_id   INTEGER NOT NULL REFERENCES accounts (id),
    kind         TEXT    NOT NULL,     -- "device" or "user"
    device       TEXT    NOT NULL,     -- the device name (the owner's address for a user certificate)
    key_type     TEXT    NOT NULL,     -- the public key's algorithm, as the operator sees it
    key_hash     TEXT    NOT NULL,     -- lower-case hex SHA-256 of the SubjectPublicKeyInfo
    csr          BLOB    NOT NULL,     -- the request as sent (base64 of the PKCS#10 DER)
    requested_at INTEGER NOT NULL,
    state        TEXT    NOT NULL,     -- "pending", "approved", "denied" or "issued"
    reason       TEXT,                 -- why it was denied, for the client
    decided_at   INTEGER
) STRICT;
CREATE INDEX enroll_pending_by_key ON enroll_pending (account_id, key_hash);
