-- Cluster operations (docs/roles.md §4). Each node names itself here when it starts, so that a
-- cluster-wide request knows whom to wait for and can name a node that did not answer.
CREATE TABLE cluster_nodes (
    name    TEXT PRIMARY KEY,
    role    TEXT NOT NULL,
    seen_at TIMESTAMPTZ NOT NULL
);

-- The answers of the nodes to one request heard on the directory channel: short-lived, read by
-- the command that asked and then deleted (what a command that died left is deleted by the next).
CREATE TABLE cluster_answers (
    request_id TEXT NOT NULL,
    node       TEXT NOT NULL,
    answer     TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (request_id, node)
);

-- While set and in the future, the account is being moved between mailbox nodes: edges refuse its
-- logins for a moment (IMAP NO [UNAVAILABLE], POP3 -ERR [SYS/TEMP]). A time, not a flag, so that a
-- move that dies holding it blocks the account no longer than that.
ALTER TABLE accounts ADD COLUMN move_locked_until TIMESTAMPTZ;
