package org.castellan.server.imap;

import java.util.LinkedHashMap;
import java.util.Map;
import org.castellan.protocol.imap.MessageStructure;

/**
 * MIME structures by stored body id, so that a message is parsed once for ENVELOPE,
 * BODYSTRUCTURE and sections however often it is fetched. In memory only: the store has no API
 * for its mime_structure column yet. Bodies are immutable, so an entry never goes stale.
 */
final class StructureCache {

    /** Structures hold header fields only; a few thousand fit in a few megabytes. */
    static final int MAX_ENTRIES = 4096;

    private final Map<String, MessageStructure> map = new LinkedHashMap<>(256, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, MessageStructure> eldest) {
            return size() > MAX_ENTRIES;
        }
    };

    synchronized MessageStructure get(String blobId, byte[] message) {
        return map.computeIfAbsent(blobId, k -> MessageStructure.parse(message));
    }

    synchronized MessageStructure peek(String blobId) {
        return map.get(blobId);
    }
}
