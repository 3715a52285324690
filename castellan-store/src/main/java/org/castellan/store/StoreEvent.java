package org.castellan.store;

import java.util.Collections;
import java.util.SortedSet;
import java.util.TreeSet;

/**
 * A committed change to one mailbox, delivered to the listeners of {@link MailStore#subscribe}
 * in commit order.
 */
public sealed interface StoreEvent {

    long mailboxId();

    /** Messages were appended, delivered, copied or moved into the mailbox (one or more UIDs). */
    record MessageAdded(long mailboxId, SortedSet<Long> uids, long modSeq) implements StoreEvent {
        public MessageAdded {
            uids = Collections.unmodifiableSortedSet(new TreeSet<>(uids));
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
}
