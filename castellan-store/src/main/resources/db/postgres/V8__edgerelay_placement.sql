-- The mailbox node that holds each account's mail, read by edges after a login (docs/roles.md §4).
-- NULL: the edge's default node.
ALTER TABLE accounts ADD COLUMN mailbox_node TEXT;
