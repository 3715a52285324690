package org.castellan.store.internal;

import java.util.Arrays;
import java.util.HashSet;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import org.castellan.store.FlagOperation;
import org.castellan.store.Flags;
import org.castellan.store.MailboxNames;
import org.castellan.store.Mailboxes;
import org.castellan.store.StoreException;

/**
 * What every {@link Mailboxes} implementation decides the same way whichever database holds the
 * messages: how flags change and are stored, the limits of UIDs and names, and the operator
 * messages of their failures.
 */
public final class MailboxRules {

    /** UIDs are 32-bit numbers (RFC 9051 §2.3.1.1). */
    public static final long MAX_UID = 0xFFFF_FFFFL;

    /** Flags columns seen, with their sets ({@link #storedFlags}); bounded, as keywords are the clients' to choose. */
    private static final Map<String, Set<String>> SHARED_FLAGS = new ConcurrentHashMap<>();
    static final int SHARED_FLAGS_MAX = 4096;
    static final int SHARED_FLAGS_MAX_LENGTH = 256;

    private MailboxRules() {}

    /**
     * A message's flags after a STORE (RFC 9051 §6.4.6), or empty when they do not change (and
     * the message keeps its MODSEQ).
     *
     * @throws StoreException {@code INVALID} when the message would carry more than
     *     {@link Flags#MAX_FLAGS_PER_MESSAGE} flags
     */
    public static Optional<TreeSet<String>> changedFlags(long uid, Set<String> current, FlagOperation operation,
            Set<String> given) {
        TreeSet<String> next = new TreeSet<>(current);
        switch (operation) {
            case ADD -> next.addAll(given);
            case REMOVE -> next.removeAll(given);
            case REPLACE -> {
                next.clear();
                next.addAll(given);
            }
        }
        if (next.equals(new TreeSet<>(current))) return Optional.empty();
        if (next.size() > Flags.MAX_FLAGS_PER_MESSAGE) {
            throw StoreException.invalid("message " + uid + " would carry more than " + Flags.MAX_FLAGS_PER_MESSAGE + " flags");
        }
        return Optional.of(next);
    }

    /**
     * The flags column: space-separated, empty for none. A server's messages carry few distinct
     * combinations (\Seen, \Seen \Answered, ...), so every row read with the same text gets the
     * same immutable set rather than a new one; texts past {@link #SHARED_FLAGS_MAX_LENGTH}, and
     * any once {@link #SHARED_FLAGS_MAX} are known, get a set of their own.
     */
    public static Set<String> storedFlags(String flags) {
        if (flags.isEmpty()) return Set.of();
        Set<String> shared = SHARED_FLAGS.get(flags);
        if (shared != null) return shared;
        Set<String> set = Set.copyOf(Arrays.asList(flags.split(" ")));
        if (flags.length() <= SHARED_FLAGS_MAX_LENGTH && SHARED_FLAGS.size() < SHARED_FLAGS_MAX) {
            SHARED_FLAGS.putIfAbsent(flags, set);
        }
        return set;
    }

    /** The keywords among {@code flags}: what a MessageAdded event tells sessions to announce. */
    public static Set<String> keywords(Set<String> flags) {
        Set<String> out = new HashSet<>(flags);
        out.removeAll(Flags.SYSTEM);
        return out;
    }

    /** Refuses {@code count} new messages in a mailbox whose next UID is {@code uidNext} when they would pass {@link #MAX_UID}. */
    public static void requireUids(String mailbox, long uidNext, int count) {
        if (uidNext + count - 1 > MAX_UID) {
            throw StoreException.invalid("mailbox " + mailbox + " has too few UIDs left (RFC 9051 §2.3.1.1);"
                    + " move its messages to a new mailbox");
        }
    }

    /** The quota failure an operator can act on. */
    public static StoreException overQuota(String address, long used, long limit, long bytes) {
        return StoreException.quotaExceeded("account " + address + " is over quota: " + used + " of " + limit
                + " bytes used, " + bytes + " more needed; raise its quota or remove mail");
    }

    /**
     * The new name of {@code name}, the renamed mailbox {@code from} or one below it, when
     * {@code from} becomes {@code to} (RFC 9051 §6.3.6: its children move with it).
     */
    public static String renamed(String name, String from, String to) {
        String renamed = to + name.substring(from.length());
        if (renamed.length() > MailboxNames.MAX_NAME_LENGTH) {
            throw StoreException.invalid("renaming would make " + name + " longer than " + MailboxNames.MAX_NAME_LENGTH
                    + " characters");
        }
        return renamed;
    }

    public static StoreException noMailbox(long mailboxId) {
        return StoreException.notFound("mailbox " + mailboxId + " does not exist");
    }
}
