-- Full-text index for IMAP SEARCH TEXT and BODY (docs/store.md, "Text index").
-- One document per message, rowid = mailbox_id << 32 | uid (UIDs are 32-bit, RFC 9051 §2.3.1.1),
-- so a search finds a mailbox's matching UIDs by a rowid range, without a join. It holds the
-- folded text that MessageStructure.searchText gives: decoded header fields and text parts.
-- The trigram tokenizer matches any substring of 3 or more characters; the text is folded by
-- Castellan before it is stored and queries are folded the same way, so the tokenizer folds
-- nothing itself (case_sensitive 1) and the index answers exactly what a scan answers.
CREATE VIRTUAL TABLE text_index USING fts5(
    header, body, tokenize = 'trigram case_sensitive 1', content = '', contentless_delete = 1);

-- Every message of the mailbox with a UID up to this one is in text_index (or gone); the
-- background indexer raises it, searches scan the messages above it.
ALTER TABLE mailboxes ADD COLUMN text_indexed_uid INTEGER NOT NULL DEFAULT 0;
