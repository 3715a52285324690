package org.castellan.store;

/** Where a stored message landed: the UID and MODSEQ it got (RFC 4315 APPENDUID, RFC 7162). */
public record AppendResult(long mailboxId, long uidValidity, long uid, long modSeq, long size, String blobId) {}
