package org.castellan.protocol.smtp;

import java.util.Locale;
import java.util.Optional;
import org.castellan.protocol.mail.EmailAddress;

/**
 * An envelope mailbox {@code local@domain} (RFC 5321 §4.1.2) as the client wrote it.
 *
 * @param localPart a dot-string, or a quoted string with its quotes
 * @param domain a domain name or an address literal in brackets
 */
public record Mailbox(String localPart, String domain) {

    /** The address as an account or alias key would spell it; empty for quoted local parts and literals. */
    public Optional<EmailAddress> address() {
        if (localPart.startsWith("\"") || domain.startsWith("[")) return Optional.empty();
        return EmailAddress.parse(localPart + "@" + domain).address();
    }

    /** Whether any character is outside US-ASCII (needs SMTPUTF8, RFC 6531 §3.2). */
    public boolean isAscii() {
        return localPart.chars().allMatch(c -> c < 0x80) && domain.chars().allMatch(c -> c < 0x80);
    }

    public String domainLowerCase() {
        return domain.toLowerCase(Locale.ROOT);
    }

    @Override
    public String toString() {
        return localPart + "@" + domain;
    }
}
