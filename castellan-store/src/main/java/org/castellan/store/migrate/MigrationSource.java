package org.castellan.store.migrate;

import java.io.InputStream;
import java.util.List;
import java.util.stream.Stream;

/**
 * The store being moved, read-only. Every method throws {@code StoreException} when the store
 * cannot be read.
 */
public interface MigrationSource extends AutoCloseable {

    /** The table's rows in its order, values as {@link Table.Kind} says. */
    List<Object[]> rows(Table table);

    /** The last UIDVALIDITY handed out: the target never hands out one at or below it. */
    long lastUidValidity();

    /** Every mailbox, by account and name. */
    List<MailboxRecord> mailboxes();

    /** The UIDs expunged from the mailbox, ascending. */
    List<MailboxRecord.Expunged> expunged(MailboxRecord mailbox);

    /** The mailbox's messages above {@code afterUid}, in UID order, read as the stream is; close it. */
    Stream<MessageRecord> messages(MailboxRecord mailbox, long afterUid);

    /** A body by its SHA-256 (hex). */
    InputStream openBody(String hash);

    @Override
    void close();
}
