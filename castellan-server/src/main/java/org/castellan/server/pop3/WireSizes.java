package org.castellan.server.pop3;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.LinkedHashMap;
import java.util.Map;
import org.castellan.protocol.pop3.MessageEncoder;
import org.castellan.store.Mailboxes;
import org.castellan.store.MessageMeta;

/**
 * The size of each message as RETR sends it, line ends as CRLF (RFC 1939 §11): a message stored
 * with bare LFs is larger on the wire than in the store. Computing it means reading the message,
 * so results are kept per body: bodies are content-addressed and never change.
 */
final class WireSizes {

    /** About 8 MB of entries: every message of many active mailboxes, bounded whatever the store holds. */
    static final int MAX_CACHED = 100_000;
    /** Read buffer for counting; counting needs no more than a disk block or two at a time. */
    private static final int CHUNK = 16 * 1024;

    private final Map<String, Long> cache = new LinkedHashMap<>(1024, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Long> eldest) {
            return size() > MAX_CACHED;
        }
    };

    /** Blocking: may read the message from the store. */
    long size(Mailboxes store, long mailboxId, MessageMeta meta) {
        synchronized (cache) {
            Long known = cache.get(meta.blobId());
            if (known != null) return known;
        }
        long size = count(store, mailboxId, meta.uid());
        synchronized (cache) {
            cache.put(meta.blobId(), size);
        }
        return size;
    }

    private static long count(Mailboxes store, long mailboxId, long uid) {
        MessageEncoder encoder = MessageEncoder.whole();
        byte[] in = new byte[CHUNK];
        byte[] out = new byte[MessageEncoder.maxOutput(CHUNK)];
        try (InputStream body = store.openMessage(mailboxId, uid)) {
            for (int n; (n = body.read(in)) > 0; ) encoder.encode(in, 0, n, out, 0);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read message " + uid + " of mailbox " + mailboxId, e);
        }
        return encoder.contentOctets();
    }
}
