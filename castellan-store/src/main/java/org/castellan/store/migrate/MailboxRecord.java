package org.castellan.store.migrate;

import java.time.Instant;
import java.util.Optional;

/**
 * A mailbox as it travels: everything a client can see of it besides its messages, named by its
 * account's address key and its name (ids differ between the stores). {@link #uidValidity},
 * {@link #uidNext}, {@link #highestModSeq} and the expunged UIDs are what keep IMAP clients from
 * resynchronising: UIDVALIDITY and UIDNEXT unchanged (RFC 9051 §2.3.1.1), HIGHESTMODSEQ unchanged and
 * VANISHED still answerable (RFC 7162 §3.1.2.1, §3.2.10).
 *
 * @param messages how many messages the mailbox holds
 * @param accessKey the URLAUTH key (RFC 4467 §2.2), empty when none was made
 */
public record MailboxRecord(String account, String name, long uidValidity, long uidNext, long highestModSeq,
                            long firstRecentUid, Optional<String> specialUse, Instant createdAt, long messages,
                            Optional<AccessKey> accessKey) {

    public record AccessKey(byte[] key, Instant createdAt) {}

    /** A UID removed, with the MODSEQ of its removal. */
    public record Expunged(long uid, long modSeq) {}

    /** How the operator reads it: {@code alice@example.org/INBOX}. */
    public String label() {
        return account + "/" + name;
    }
}
