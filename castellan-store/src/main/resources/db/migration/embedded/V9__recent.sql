-- RFC 3501 §2.3.2 \Recent: a message is recent for exactly one session, the first to claim it.
-- Messages from first_recent_uid on are unclaimed. Existing mailboxes start with nothing
-- recent (their messages were seen by clients before); a new mailbox's first message is.
ALTER TABLE mailboxes ADD COLUMN first_recent_uid INTEGER NOT NULL DEFAULT 1;
UPDATE mailboxes SET first_recent_uid = uid_next;
