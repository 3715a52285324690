-- SQLite gives a new row max(id) + 1, so deleting the newest account or mailbox handed its id to
-- the next one made, while sessions, caches and other processes still held the old one. From
-- here each id comes from a counter that only grows (docs/store.md, "Ids").
INSERT INTO counters (name, value) SELECT 'account_id', coalesce(max(id), 0) FROM accounts;
INSERT INTO counters (name, value) SELECT 'mailbox_id', coalesce(max(id), 0) FROM mailboxes;
