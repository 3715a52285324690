-- TLS-RPT (RFC 8460 §4, docs/outbound.md §5): the TLS result of every outbound MX session,
-- counted per UTC day, policy domain, policy and result until that day's report takes them, so
-- that a restart or a crash loses no session already counted. The engine describes the policy
-- and the result; the store only adds sessions up.
CREATE TABLE tlsrpt_counts (
    day           TEXT    NOT NULL,               -- the UTC date, yyyy-mm-dd
    policy_domain TEXT    NOT NULL,
    policy        TEXT    NOT NULL,               -- the policy as the report names it
    result        TEXT    NOT NULL,               -- '' for a success, else the failure's details
    sessions      INTEGER NOT NULL,
    PRIMARY KEY (day, policy_domain, policy, result)
) STRICT, WITHOUT ROWID;

-- RFC 8460 §3: report mail goes despite TLS failures, so the queue knows which mail it is.
ALTER TABLE queue_messages ADD COLUMN tls_report INTEGER NOT NULL DEFAULT 0;
