package org.castellan.store;

import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.SortedSet;
import java.util.TreeSet;

/**
 * The outcome of {@link MailStore#storeFlags}.
 *
 * @param changed the messages whose flags changed, with their new flags and MODSEQ
 * @param notModified UIDs left alone because their MODSEQ was above {@code unchangedSince}
 *     (RFC 7162 §3.1.3, the MODIFIED response code)
 */
public record FlagUpdate(List<Changed> changed, SortedSet<Long> notModified) {

    public FlagUpdate {
        changed = List.copyOf(changed);
        notModified = Collections.unmodifiableSortedSet(new TreeSet<>(notModified));
    }

    /** One message's new state. */
    public record Changed(long uid, Set<String> flags, long modSeq) {
        public Changed {
            flags = Set.copyOf(flags);
        }
    }
}
