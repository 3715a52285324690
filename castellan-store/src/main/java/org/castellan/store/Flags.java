package org.castellan.store;

import java.util.Collection;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;

/**
 * Message flags: the IMAP system flags in canonical spelling, and keywords.
 *
 * <p>System flags are matched case-insensitively and stored as spelled here, so that a client
 * sending {@code \SEEN} and one sending {@code \Seen} agree. Keywords are kept as given.
 */
public final class Flags {

    public static final String SEEN = "\\Seen";
    public static final String ANSWERED = "\\Answered";
    public static final String FLAGGED = "\\Flagged";
    public static final String DELETED = "\\Deleted";
    public static final String DRAFT = "\\Draft";

    /** RFC 9051 §2.3.2: the system flags a client may set; {@code \Recent} is gone from IMAP4rev2. */
    public static final Set<String> SYSTEM = Set.of(SEEN, ANSWERED, FLAGGED, DELETED, DRAFT);

    /** No RFC limit; bounds what one client can attach to a message (Dovecot caps keywords likewise). */
    public static final int MAX_FLAG_LENGTH = 250;
    /** No RFC limit; bounds the stored flag list of one message. */
    public static final int MAX_FLAGS_PER_MESSAGE = 100;

    /** RFC 9051 §9 atom-specials that a keyword (an atom) cannot contain. */
    private static final String ATOM_SPECIALS = "(){ %*\"\\]";

    private Flags() {}

    /**
     * Validates and canonicalizes flags.
     *
     * @throws StoreException {@link StoreException.Kind#INVALID} naming the bad flag
     */
    public static Set<String> normalize(Collection<String> flags) {
        TreeSet<String> out = new TreeSet<>();
        for (String flag : flags) out.add(normalize(flag));
        if (out.size() > MAX_FLAGS_PER_MESSAGE) {
            throw StoreException.invalid("a message may carry at most " + MAX_FLAGS_PER_MESSAGE + " flags, got " + out.size());
        }
        return out;
    }

    static String normalize(String flag) {
        if (flag == null || flag.isEmpty()) throw StoreException.invalid("a flag is empty");
        if (flag.length() > MAX_FLAG_LENGTH) {
            throw StoreException.invalid("a flag is longer than " + MAX_FLAG_LENGTH + " characters");
        }
        if (flag.charAt(0) == '\\') {
            String lower = flag.toLowerCase(Locale.ROOT);
            for (String system : SYSTEM) {
                if (system.toLowerCase(Locale.ROOT).equals(lower)) return system;
            }
            throw StoreException.invalid("'" + flag + "' is not a system flag a client may set (RFC 9051 §2.3.2)");
        }
        for (int i = 0; i < flag.length(); i++) {
            char c = flag.charAt(i);
            if (c < 0x21 || c == 0x7f || ATOM_SPECIALS.indexOf(c) >= 0) {
                throw StoreException.invalid("the keyword '" + flag + "' contains a character not allowed in an IMAP atom");
            }
        }
        return flag;
    }
}
