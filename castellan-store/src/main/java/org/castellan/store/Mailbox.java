package org.castellan.store;

import java.util.Optional;

/**
 * A mailbox of an account. {@code name} uses {@link MailboxNames#SEPARATOR} between hierarchy
 * levels; {@code uidValidity} changes only when a mailbox of that name is deleted and created
 * again (RFC 9051 §2.3.1.1).
 *
 * @param subscribed whether the account is subscribed to this name (RFC 9051 §6.3.7)
 */
public record Mailbox(long id, long accountId, String name, long uidValidity, Optional<SpecialUse> specialUse,
        boolean subscribed) {

    public boolean isInbox() {
        return MailboxNames.INBOX.equals(name);
    }
}
