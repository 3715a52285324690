package org.castellan.store;

import java.time.Instant;
import java.util.Set;

/**
 * A message's metadata in one mailbox.
 *
 * @param flags system flags in their canonical spelling (see {@link Flags}) and keywords
 * @param blobId the identity of the stored body; messages with identical bytes share it
 */
public record MessageMeta(long uid, Set<String> flags, Instant internalDate, long size, long modSeq, String blobId) {

    public MessageMeta {
        flags = Set.copyOf(flags);
    }
}
