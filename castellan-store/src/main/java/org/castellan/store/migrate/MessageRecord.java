package org.castellan.store.migrate;

import java.time.Instant;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.Spliterator;
import java.util.Spliterators;
import java.util.function.LongFunction;
import java.util.stream.Stream;
import java.util.stream.StreamSupport;

/**
 * A message as it travels: what a client sees of it (UID, MODSEQ, flags as stored, internal date,
 * size) and its body by content address. The body itself is read from the source one message at
 * a time ({@link MigrationSource#openBody}), never a mailbox's bodies at once.
 *
 * @param flags the stored form: system flags and keywords, space-separated, sorted
 * @param structure the encoded MIME structure, null when the source has not parsed it yet (the
 *     target parses the body then)
 */
public record MessageRecord(long uid, long modSeq, String flags, Instant internalDate, long size, String blobHash,
                            byte[] structure) {

    /** What the checksum covers, in one line: equal lines mean a client sees the same message. */
    String line() {
        return uid + " " + modSeq + " " + flags + " " + internalDate.toEpochMilli() + " " + size + " " + blobHash;
    }

    /** Messages read per query: a page of metadata, never bodies, so memory stays small whatever the mailbox. */
    public static final int PAGE = 500;

    /**
     * The messages above {@code afterUid} in UID order, read a page at a time as the stream is
     * consumed: {@code page} returns up to {@link #PAGE} messages above the UID it is given, in UID
     * order. No query stays open between pages, so a long copy holds no read transaction.
     */
    public static Stream<MessageRecord> pages(long afterUid, LongFunction<List<MessageRecord>> page) {
        Iterator<MessageRecord> it = new Iterator<>() {
            long after = afterUid;
            Iterator<MessageRecord> current = List.<MessageRecord>of().iterator();
            boolean last;

            @Override
            public boolean hasNext() {
                if (current.hasNext()) return true;
                if (last) return false;
                List<MessageRecord> next = page.apply(after);
                last = next.size() < PAGE; // a short page is the mailbox's end
                current = next.iterator();
                return current.hasNext();
            }

            @Override
            public MessageRecord next() {
                if (!hasNext()) throw new NoSuchElementException();
                MessageRecord r = current.next();
                after = r.uid();
                return r;
            }
        };
        return StreamSupport.stream(Spliterators.spliteratorUnknownSize(it, Spliterator.ORDERED | Spliterator.NONNULL), false);
    }
}
