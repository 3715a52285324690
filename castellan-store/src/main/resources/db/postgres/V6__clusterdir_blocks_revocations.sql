-- What every node keeps in memory and must hear of within a second (docs/store.md, "What the
-- nodes share"): the login limiter's blocks and the revocations of client certificates. A write
-- NOTIFYs castellan_directory in its transaction; the other nodes read the table again.

-- One block per source and account ('' for a block of the whole source).
CREATE TABLE login_blocks (
    source        TEXT        NOT NULL,  -- CIDR host or network, or "certificate sha256:<hex>"
    account       TEXT        NOT NULL,  -- lower-case account, or ''
    failures      INTEGER     NOT NULL,
    blocked_until TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (source, account)
);

CREATE TABLE certificate_revocations (
    issuer     TEXT        NOT NULL,  -- the issuing CA's subject, RFC 2253
    serial     TEXT        NOT NULL,  -- lower-case hex
    revoked_at TIMESTAMPTZ NOT NULL,
    reason     TEXT        NOT NULL,
    PRIMARY KEY (issuer, serial)
);
