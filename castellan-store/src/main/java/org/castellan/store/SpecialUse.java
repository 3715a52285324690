package org.castellan.store;

import java.util.Locale;
import java.util.Optional;

/** Special-use mailbox attributes, RFC 6154 §2. */
public enum SpecialUse {
    ALL("\\All"),
    ARCHIVE("\\Archive"),
    DRAFTS("\\Drafts"),
    FLAGGED("\\Flagged"),
    JUNK("\\Junk"),
    SENT("\\Sent"),
    TRASH("\\Trash");

    private final String attribute;

    SpecialUse(String attribute) {
        this.attribute = attribute;
    }

    /** The attribute as IMAP LIST shows it, e.g. {@code \Sent}. */
    public String attribute() {
        return attribute;
    }

    /** The special use named by an attribute, case-insensitively (RFC 6154 §2); empty if unknown. */
    public static Optional<SpecialUse> fromAttribute(String attribute) {
        for (SpecialUse use : values()) {
            if (use.attribute.toLowerCase(Locale.ROOT).equals(attribute.toLowerCase(Locale.ROOT))) return Optional.of(use);
        }
        return Optional.empty();
    }
}
