-- A number that changes whenever something a recipient's route depends on changes: domains,
-- accounts (address, domain, quota), aliases, mailboxes (created, deleted, renamed). The server
-- keeps routes in memory and reads this number to notice changes made by another process, such
-- as the command line writing to the same database. Deliveries (used_bytes, uid_next) leave it alone.
CREATE TABLE directory_version (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL
) STRICT;
INSERT INTO directory_version (id, version) VALUES (1, 0);

CREATE TRIGGER domains_insert_version AFTER INSERT ON domains
    BEGIN UPDATE directory_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER domains_delete_version AFTER DELETE ON domains
    BEGIN UPDATE directory_version SET version = version + 1 WHERE id = 1; END;

CREATE TRIGGER accounts_insert_version AFTER INSERT ON accounts
    BEGIN UPDATE directory_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER accounts_delete_version AFTER DELETE ON accounts
    BEGIN UPDATE directory_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER accounts_update_version AFTER UPDATE OF address_key, local_part, domain, quota_bytes ON accounts
    BEGIN UPDATE directory_version SET version = version + 1 WHERE id = 1; END;

CREATE TRIGGER aliases_insert_version AFTER INSERT ON aliases
    BEGIN UPDATE directory_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER aliases_delete_version AFTER DELETE ON aliases
    BEGIN UPDATE directory_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER aliases_update_version AFTER UPDATE ON aliases
    BEGIN UPDATE directory_version SET version = version + 1 WHERE id = 1; END;

CREATE TRIGGER mailboxes_insert_version AFTER INSERT ON mailboxes
    BEGIN UPDATE directory_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER mailboxes_delete_version AFTER DELETE ON mailboxes
    BEGIN UPDATE directory_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER mailboxes_update_version AFTER UPDATE OF account_id, name ON mailboxes
    BEGIN UPDATE directory_version SET version = version + 1 WHERE id = 1; END;
