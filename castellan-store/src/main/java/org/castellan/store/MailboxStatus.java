package org.castellan.store;

/**
 * What IMAP STATUS and SELECT report (RFC 9051 §6.3.11, RFC 7162 §3.1.2.1).
 *
 * @param totalSize the sum of the message sizes in bytes (RFC 8438 STATUS=SIZE)
 */
public record MailboxStatus(long mailboxId, long messages, long unseen, long uidNext, long uidValidity,
        long highestModSeq, long totalSize) {}
