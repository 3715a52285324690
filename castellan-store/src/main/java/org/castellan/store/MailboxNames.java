package org.castellan.store;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Mailbox name rules shared by every store: the hierarchy separator, the case-insensitive INBOX
 * and what a name may contain. Names are Unicode (IMAP4rev2 uses UTF-8, RFC 9051 §5.1); turning
 * modified UTF-7 into Unicode is the protocol's job.
 */
public final class MailboxNames {

    /** The hierarchy separator. */
    public static final char SEPARATOR = '/';
    /** The name every account's inbox has; matched case-insensitively (RFC 9051 §5.1). */
    public static final String INBOX = "INBOX";
    /** No RFC limit; bounds what one client can store per name and keeps LIST responses sane. */
    public static final int MAX_NAME_LENGTH = 1000;
    /** No RFC limit; bounds hierarchy walks in LIST and RENAME. */
    public static final int MAX_DEPTH = 40;

    private MailboxNames() {}

    /**
     * The canonical form of a name: a first level equal to INBOX in any case becomes
     * {@code INBOX}.
     *
     * @throws StoreException {@link StoreException.Kind#INVALID} naming what is wrong
     */
    public static String normalize(String name) {
        if (name == null || name.isEmpty()) throw StoreException.invalid("a mailbox name is empty");
        if (name.length() > MAX_NAME_LENGTH) {
            throw StoreException.invalid("a mailbox name is longer than " + MAX_NAME_LENGTH + " characters");
        }
        List<String> parts = split(name);
        if (parts.size() > MAX_DEPTH) {
            throw StoreException.invalid("mailbox '" + name + "' is nested deeper than " + MAX_DEPTH + " levels");
        }
        for (String part : parts) {
            if (part.isEmpty()) {
                throw StoreException.invalid("mailbox '" + name + "' has an empty level (a leading, trailing or doubled '"
                        + SEPARATOR + "')");
            }
        }
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            // RFC 9051 §5.1: '%' and '*' are LIST wildcards, a name holding them could never be listed alone.
            if (c < 0x20 || c == 0x7f || c == '%' || c == '*') {
                throw StoreException.invalid("mailbox '" + name + "' contains a control character, '%' or '*'");
            }
        }
        if (parts.get(0).toUpperCase(Locale.ROOT).equals(INBOX) && !parts.get(0).equals(INBOX)) {
            return INBOX + name.substring(INBOX.length());
        }
        return name;
    }

    /** The names of the levels above {@code name}, outermost first ({@code a/b/c} gives a, a/b). */
    public static List<String> parents(String name) {
        List<String> out = new ArrayList<>();
        for (int i = name.indexOf(SEPARATOR); i >= 0; i = name.indexOf(SEPARATOR, i + 1)) {
            out.add(name.substring(0, i));
        }
        return out;
    }

    /** Whether {@code name} is {@code ancestor} itself or lies below it. */
    public static boolean isSelfOrChild(String name, String ancestor) {
        return name.equals(ancestor) || name.startsWith(ancestor + SEPARATOR);
    }

    private static List<String> split(String name) {
        List<String> parts = new ArrayList<>();
        int start = 0;
        for (int i = 0; i <= name.length(); i++) {
            if (i == name.length() || name.charAt(i) == SEPARATOR) {
                parts.add(name.substring(start, i));
                start = i + 1;
            }
        }
        return parts;
    }
}
