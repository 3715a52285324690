package org.castellan.protocol.mail;

import java.util.Locale;
import java.util.Optional;

/**
 * A mailbox address {@code local@domain} as Castellan's accounts and aliases use it.
 *
 * <p>The domain is always lower case (RFC 5321 §2.4: domains are case-insensitive). The local
 * part is kept as given but compared case-insensitively by {@link #key()}: RFC 5321 lets the
 * receiving host decide, and every serious server folds case for its own users.
 */
public record EmailAddress(String localPart, String domain) {

    /** RFC 5321 §4.5.3.1.1. */
    public static final int MAX_LOCAL_PART = 64;
    /** RFC 5321 §4.5.3.1.2. */
    public static final int MAX_DOMAIN = 255;

    public EmailAddress {
        String problem = localPartProblem(localPart);
        if (problem == null) problem = domainProblem(domain);
        if (problem != null) throw new IllegalArgumentException(problem);
        domain = domain.toLowerCase(Locale.ROOT);
    }

    /**
     * Parses {@code local@domain}; the empty value names what is wrong, for an operator message.
     */
    public static Parsed parse(String text) {
        if (text == null || text.isEmpty()) return Parsed.error("an address is empty");
        int at = text.lastIndexOf('@');
        if (at <= 0 || at == text.length() - 1) {
            return Parsed.error("'" + text + "' is not an address of the form local@domain");
        }
        String local = text.substring(0, at);
        String domain = text.substring(at + 1);
        String problem = localPartProblem(local);
        if (problem == null) problem = domainProblem(domain);
        if (problem != null) return Parsed.error("'" + text + "': " + problem);
        return new Parsed(Optional.of(new EmailAddress(local, domain)), null);
    }

    /** Parses or throws {@link IllegalArgumentException} with the reason. */
    public static EmailAddress of(String text) {
        Parsed p = parse(text);
        return p.address().orElseThrow(() -> new IllegalArgumentException(p.error()));
    }

    /** The case-folded form under which accounts and aliases are stored and looked up. */
    public String key() {
        return localPart.toLowerCase(Locale.ROOT) + "@" + domain;
    }

    @Override
    public String toString() {
        return localPart + "@" + domain;
    }

    /** Either an address or a one-line reason. */
    public record Parsed(Optional<EmailAddress> address, String error) {
        static Parsed error(String reason) {
            return new Parsed(Optional.empty(), reason);
        }

        public boolean ok() {
            return address.isPresent();
        }
    }

    /** RFC 5321 §4.1.2 dot-string (atext and dots, no leading, trailing or double dot); UTF-8 allowed (RFC 6531). */
    static String localPartProblem(String local) {
        if (local == null || local.isEmpty()) return "the local part is empty";
        if (local.length() > MAX_LOCAL_PART) return "the local part is longer than " + MAX_LOCAL_PART + " characters";
        if (local.startsWith(".") || local.endsWith(".") || local.contains("..")) {
            return "the local part has a leading, trailing or double dot";
        }
        for (int i = 0; i < local.length(); i++) {
            char c = local.charAt(i);
            if (c >= 0x80) continue; // RFC 6531 §3.3 UTF-8 local parts
            if (Character.isLetterOrDigit(c) || c == '.' || "!#$%&'*+-/=?^_`{|}~".indexOf(c) >= 0) continue;
            return "the local part contains '" + printable(c) + "'";
        }
        return null;
    }

    /** RFC 5321 §4.1.2 Domain: dot-separated labels of letters, digits and hyphens (or U-labels). */
    static String domainProblem(String domain) {
        if (domain == null || domain.isEmpty()) return "the domain is empty";
        if (domain.length() > MAX_DOMAIN) return "the domain is longer than " + MAX_DOMAIN + " characters";
        for (String label : domain.split("\\.", -1)) {
            if (label.isEmpty()) return "the domain has an empty label";
            if (label.length() > 63) return "a domain label is longer than 63 characters";
            if (label.startsWith("-") || label.endsWith("-")) return "a domain label starts or ends with '-'";
            for (int i = 0; i < label.length(); i++) {
                char c = label.charAt(i);
                if (c >= 0x80 || Character.isLetterOrDigit(c) || c == '-') continue;
                return "the domain contains '" + printable(c) + "'";
            }
        }
        return null;
    }

    /** Whether {@code name} is a syntactically valid domain name. */
    public static boolean isValidDomain(String name) {
        return domainProblem(name) == null;
    }

    private static String printable(char c) {
        return c < 0x20 || c == 0x7f ? String.format("\\x%02x", (int) c) : String.valueOf(c);
    }
}
