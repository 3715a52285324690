package org.castellan.server.imap;

import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SortedSet;
import java.util.TreeSet;
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
        return parse(m, message);
    }

    /** The cached or stored structure, or null when the message has to be read and parsed. */
    MessageStructure stored(Mailboxes store, long mailbox, MessageMeta m) {
        MessageStructure s = peek(m.blobId());
        if (s != null) return s;
        s = store.structure(mailbox, m.uid()).orElse(null);
        if (s != null) put(m.blobId(), s);
        return s;
    }

    /**
     * The cached or stored structures of these messages, by UID, the stored ones read in one call
     * ({@link Mailboxes#structures}); a message left out has to be read and {@link #parse parsed}.
     */
    Map<Long, MessageStructure> stored(Mailboxes store, long mailbox, List<MessageMeta> messages) {
        Map<Long, MessageStructure> found = new HashMap<>();
        SortedSet<Long> missing = new TreeSet<>();
        for (MessageMeta m : messages) {
            MessageStructure s = peek(m.blobId());
            if (s != null) found.put(m.uid(), s);
            else missing.add(m.uid());
        }
        if (missing.isEmpty()) return found;
        Map<Long, MessageStructure> read = store.structures(mailbox, missing);
        for (MessageMeta m : messages) {
            MessageStructure s = read.get(m.uid());
            if (s == null) continue;
            put(m.blobId(), s);
            found.put(m.uid(), s);
        }
        return found;
    }

    /** Parses a message the store keeps no structure for, and remembers the result. */
    MessageStructure parse(MessageMeta m, byte[] message) {
        MessageStructure s = MessageStructure.parse(message);
        put(m.blobId(), s);
        return s;
    }

    private synchronized MessageStructure peek(String blobId) {
        return map.get(blobId);
    }

    private synchronized void put(String blobId, MessageStructure s) {
        map.put(blobId, s);
    }
}
