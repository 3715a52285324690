-- URLAUTH mailbox access keys (RFC 4467 §2.2): one random secret per mailbox, from which the
-- server computes the tokens of the URLs it authorizes. A new mailbox has none until a URL is
-- first authorized; RESETKEY deletes it, so every URL authorized with it stops working. Secrets:
-- never logged, never returned to a client.
CREATE TABLE mailbox_access_keys (
    mailbox_id INTEGER PRIMARY KEY REFERENCES mailboxes (id),
    access_key BLOB    NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;
