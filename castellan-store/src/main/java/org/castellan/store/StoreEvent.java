package org.castellan.store;

import java.util.Collections;
import java.util.Set;
import java.util.SortedSet;
import java.util.TreeSet;

/**
 * A committed change to one mailbox, delivered to the listeners of {@link MailStore#subscribe}
 * in commit order. The changes of a mailbox's messages carry the MODSEQ they gave the mailbox,
 * which only grows, so a listener can tell how far it has heard ({@link #modSeqOf}) and compare
 * that with {@link MailStore#publishedModSeq}.
 */
public sealed interface StoreEvent {

    long mailboxId();

    /**
     * Messages were appended, delivered, copied or moved into the mailbox (one or more UIDs).
     *
     * @param keywords the keywords (flags other than the system flags) the new messages carry,
     *     so that a session can announce new ones (RFC 9051 §7.3.5 FLAGS) without reading them
     */
    record MessageAdded(long mailboxId, SortedSet<Long> uids, long modSeq, Set<String> keywords) implements StoreEvent {
        public MessageAdded {
            uids = Collections.unmodifiableSortedSet(new TreeSet<>(uids));
            keywords = Set.copyOf(keywords);
        }

        /** Messages that carry no keyword. */
        public MessageAdded(long mailboxId, SortedSet<Long> uids, long modSeq) {
            this(mailboxId, uids, modSeq, Set.of());
        }
    }

    /** Flags of these messages changed; each now has {@code modSeq}. */
    record FlagsChanged(long mailboxId, SortedSet<Long> uids, long modSeq) implements StoreEvent {
        public FlagsChanged {
            uids = Collections.unmodifiableSortedSet(new TreeSet<>(uids));
        }
    }

    /** Messages were expunged (or moved out); the mailbox's MODSEQ became {@code modSeq}. */
    record MessagesExpunged(long mailboxId, SortedSet<Long> uids, long modSeq) implements StoreEvent {
        public MessagesExpunged {
            uids = Collections.unmodifiableSortedSet(new TreeSet<>(uids));
        }
    }

    /** The mailbox (or one of its parents) was renamed. */
    record MailboxRenamed(long mailboxId, String oldName, String newName) implements StoreEvent {}

    /** The mailbox was deleted, alone or with its account; no further events follow. */
    record MailboxDeleted(long mailboxId, String name) implements StoreEvent {}

    /** The MODSEQ the change gave the mailbox; 0 for a rename or a deletion, which change no message. */
    static long modSeqOf(StoreEvent e) {
        return switch (e) {
            case MessageAdded a -> a.modSeq();
            case FlagsChanged f -> f.modSeq();
            case MessagesExpunged x -> x.modSeq();
            case MailboxRenamed r -> 0;
            case MailboxDeleted d -> 0;
        };
    }
}
