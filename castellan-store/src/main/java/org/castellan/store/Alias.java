package org.castellan.store;

import java.time.Instant;
import org.castellan.protocol.mail.EmailAddress;

/**
 * Mail for {@code address} goes to {@code target}, which may be a local account, another alias
 * or an address elsewhere.
 */
public record Alias(EmailAddress address, EmailAddress target, Instant createdAt) {}
