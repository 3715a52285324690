-- QRESYNC asks for the UIDs expunged from a mailbox since a MODSEQ (RFC 7162 §3.2.5, §3.2.6):
-- this index answers it without reading every expunged UID of the mailbox.
CREATE INDEX expunged_by_modseq ON expunged (mailbox_id, modseq);
