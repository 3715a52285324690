-- castellan store migrate (docs/administration.md, "Moving an embedded store to PostgreSQL"): the
-- steps of a copy that committed, each in the transaction that did it, so that a run interrupted
-- (even by kill -9) is continued by the next without copying a step twice. Mailboxes need no row:
-- a mailbox continues after the highest UID it holds.
CREATE TABLE migration_progress (
    step    TEXT PRIMARY KEY,   -- directory, queue, auth-log
    done_at TIMESTAMPTZ NOT NULL
);
