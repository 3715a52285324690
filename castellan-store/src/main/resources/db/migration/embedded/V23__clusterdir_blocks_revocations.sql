-- The login limiter's blocks and the revocations of client certificates (docs/store.md, "What the
-- nodes share"). One process alone uses the embedded store: here they outlive a restart, and
-- the tables match the PostgreSQL store's. Times are milliseconds since the epoch.

-- One block per source and account ('' for a block of the whole source).
CREATE TABLE login_blocks (
    source        TEXT        NOT NULL,  -- CIDR host or network, or "certificate sha256:<hex>"
    account       TEXT        NOT NULL,  -- lower-case account, or ''
    failures      INTEGER     NOT NULL,
    blocked_until INTEGER     NOT NULL,
    PRIMARY KEY (source, account)
) STRICT;

CREATE TABLE certificate_revocations (
    issuer     TEXT        NOT NULL,  -- the issuing CA's subject, RFC 2253
    serial     TEXT        NOT NULL,  -- lower-case hex
    revoked_at INTEGER     NOT NULL,
    reason     TEXT        NOT NULL,
    PRIMARY KEY (issuer, serial)
) STRICT;
