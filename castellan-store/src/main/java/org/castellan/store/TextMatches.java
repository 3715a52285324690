package org.castellan.store;

import java.util.Collections;
import java.util.SortedSet;
import java.util.TreeSet;

/**
 * What the full-text index says about one SEARCH TEXT or BODY key in one mailbox.
 *
 * @param matching UIDs of indexed messages whose text contains the string
 * @param unindexed UIDs of messages the index cannot answer for (not indexed yet, or a string
 *     shorter than {@link #MIN_INDEXED_LENGTH}): the caller scans these itself
 */
public record TextMatches(SortedSet<Long> matching, SortedSet<Long> unindexed) {

    /** The trigram index finds substrings of at least 3 characters; shorter ones are scanned. */
    public static final int MIN_INDEXED_LENGTH = 3;

    public TextMatches {
        matching = Collections.unmodifiableSortedSet(new TreeSet<>(matching));
        unindexed = Collections.unmodifiableSortedSet(new TreeSet<>(unindexed));
    }
}
