package org.castellan.store;

import java.util.Collections;
import java.util.SortedSet;
import java.util.TreeSet;

/**
 * The UIDs actually removed (those that existed) and the mailbox's new MODSEQ; {@code modSeq} is
 * unchanged when nothing was removed.
 */
public record ExpungeResult(SortedSet<Long> uids, long modSeq) {

    public ExpungeResult {
        uids = Collections.unmodifiableSortedSet(new TreeSet<>(uids));
    }
}
