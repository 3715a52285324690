-- Client certificates an operator has bound to an account by their SHA-256 fingerprint, for
-- certificates that carry no address of the account (a device, a smart card, another CA).
-- One certificate belongs to one account at most.
CREATE TABLE certificate_bindings (
    fingerprint TEXT    PRIMARY KEY,  -- lower-case hex SHA-256 of the certificate's DER encoding
    account_id  INTEGER NOT NULL REFERENCES accounts (id),
    label       TEXT    NOT NULL,
    created_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX certificate_bindings_by_account ON certificate_bindings (account_id);
