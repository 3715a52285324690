-- Full-text index for IMAP SEARCH TEXT and BODY (docs/store.md, "Text index").
-- One document per stored body (bodies are shared by content), holding the folded text that
-- MessageStructure.searchText gives: decoded header fields and decoded text parts.
-- The trigram tokenizer matches any substring of 3 or more characters; the text is folded by
-- Castellan before it is stored and queries are folded the same way, so the tokenizer folds
-- nothing itself (case_sensitive 1) and the index answers exactly what a scan answers.
CREATE VIRTUAL TABLE text_index USING fts5(
    header, body, tokenize = 'trigram case_sensitive 1', content = '', contentless_delete = 1);

-- The body's document in text_index; NULL until the background indexer has reached it.
-- The index finds both the bodies still to index and the bodies of matching documents.
ALTER TABLE blobs ADD COLUMN text_doc INTEGER;
CREATE INDEX blobs_by_text_doc ON blobs (text_doc);
