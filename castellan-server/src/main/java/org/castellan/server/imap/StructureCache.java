package org.castellan.server.imap;

import java.util.LinkedHashMap;
import java.util.Map;
import org.castellan.protocol.imap.MessageStructure;
import org.castellan.store.Mailboxes;
import org.castellan.store.MessageMeta;

/**
 * MIME structures by stored body id, in front of the structure the store keeps with each
 * message (computed once at delivery): a message's ENVELOPE, BODYSTRUCTURE and sections need
 * neither a parse nor a read of its body, after a restart too. Only messages stored without a
 * structure are parsed, once. Bodies are immutable, so an entry never goes stale.
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

    /** The structure of a message whose bytes the caller holds: cached, stored, or parsed from them. */
    MessageStructure get(Mailboxes store, long mailbox, MessageMeta m, byte[] message) {
        MessageStructure s = stored(store, mailbox, m);
        if (s != null) return s;
        s = MessageStructure.parse(message);
        put(m.blobId(), s);
        return s;
    }

    /** The cached or stored structure, or null when the message has to be read and parsed. */
    MessageStructure stored(Mailboxes store, long mailbox, MessageMeta m) {
        MessageStructure s = peek(m.blobId());
        if (s != null) return s;
        s = store.structure(mailbox, m.uid()).orElse(null);
        if (s != null) put(m.blobId(), s);
        return s;
    }

    private synchronized MessageStructure peek(String blobId) {
        return map.get(blobId);
    }

    private synchronized void put(String blobId, MessageStructure s) {
        map.put(blobId, s);
    }
}
