package org.castellan.store;

import java.util.OptionalLong;
import org.castellan.protocol.mail.EmailAddress;

/**
 * Where mail for one local address goes: the account it reaches after aliases, that account's
 * INBOX, and the account's quota limit (usage is not part of a route: it changes with every
 * delivery).
 *
 * @param accountId the account mail is delivered to
 * @param account that account's own address
 * @param inboxId the account's INBOX
 * @param quotaBytes the account's storage limit; empty when it has none
 */
public record Route(long accountId, EmailAddress account, long inboxId, OptionalLong quotaBytes) {
}
