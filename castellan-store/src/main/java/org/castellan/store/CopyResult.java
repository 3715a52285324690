package org.castellan.store;

import java.util.Collections;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * The UID mapping of a COPY or MOVE (RFC 4315 COPYUID): source UID to destination UID, in
 * ascending source order. UIDs that did not exist in the source are absent.
 */
public record CopyResult(long targetMailboxId, long targetUidValidity, SortedMap<Long, Long> uids) {

    public CopyResult {
        uids = Collections.unmodifiableSortedMap(new TreeMap<>(uids));
    }
}
