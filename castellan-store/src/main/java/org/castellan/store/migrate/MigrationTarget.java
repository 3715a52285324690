package org.castellan.store.migrate;

import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * The store the data moves into. Every write is one transaction, and each is safe to repeat
 * after an interruption: a step of rows is recorded as done in its transaction, a mailbox is made
 * once, and a message is copied once per mailbox and UID. Every method throws
 * {@code StoreException} when the store cannot be read or written.
 */
public interface MigrationTarget extends AutoCloseable {

    /** The table's rows, as {@link MigrationSource#rows}; ids are the target's. */
    List<Object[]> rows(Table table);

    /** Whether the step of that name committed. */
    boolean done(String step);

    /**
     * Copies the tables' rows in one transaction that also records {@code step} as done;
     * {@code BODY} values are copied from {@code source}.
     */
    void copyRows(String step, List<Table> tables, MigrationSource source);

    /** Raises the target's UIDVALIDITY counter to at least {@code last}. */
    void reserveUidValidity(long last);

    /** The mailbox in the target with its access key, empty when it was not made yet ({@link MailboxRecord#messages} counts its messages). */
    Optional<MailboxRecord> mailbox(String account, String name);

    /** Makes the mailbox with its counters, access key and expunged UIDs (its account must exist). */
    void createMailbox(MailboxRecord mailbox, List<MailboxRecord.Expunged> expunged);

    /** The UIDs expunged from the mailbox, ascending. */
    List<MailboxRecord.Expunged> expunged(MailboxRecord mailbox);

    /** The highest UID copied into the mailbox so far, 0 for none. */
    long lastUid(MailboxRecord mailbox);

    /**
     * Copies messages into the mailbox in one transaction, bodies from {@code source} one at a time
     * (a body already in the target is referenced, not copied again); a UID already there is left alone.
     *
     * @return the bytes of the bodies copied
     */
    long copyMessages(MailboxRecord mailbox, List<MessageRecord> messages, MigrationSource source);

    /** The mailbox's messages in UID order, read as the stream is; close it. */
    Stream<MessageRecord> messages(MailboxRecord mailbox, long afterUid);

    /** The SHA-256 (hex) of the body stored under {@code hash}, read back whole; empty when it is missing. */
    Optional<String> rehash(String hash);

    @Override
    void close();
}
