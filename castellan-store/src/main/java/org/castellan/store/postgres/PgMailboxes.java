package org.castellan.store.postgres;

import com.zaxxer.hikari.HikariDataSource;
import java.io.IOException;
import java.io.InputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.SortedMap;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import java.util.function.LongConsumer;
import org.castellan.protocol.imap.MessageStructure;
import org.castellan.protocol.imap.SearchText;
import org.castellan.store.AccountEvent;
import org.castellan.store.AppendResult;
import org.castellan.store.CopyResult;
import org.castellan.store.EventSubscription;
import org.castellan.store.ExpungeResult;
import org.castellan.store.FlagOperation;
import org.castellan.store.FlagUpdate;
import org.castellan.store.Flags;
import org.castellan.store.Mailbox;
import org.castellan.store.MailboxNames;
import org.castellan.store.MailboxStatus;
import org.castellan.store.Mailboxes;
import org.castellan.store.MessageMeta;
import org.castellan.store.NewMessage;
import org.castellan.store.Quota;
import org.castellan.store.SpecialUse;
import org.castellan.store.StoreEvent;
import org.castellan.store.StoreException;
import org.castellan.store.TextMatches;
import org.castellan.store.UidRange;
import org.castellan.store.embedded.internal.EventDispatcher;
import org.castellan.store.internal.DirectoryRules;
import org.castellan.store.internal.MailboxRules;
import org.castellan.store.postgres.internal.BodyStore;
import org.castellan.store.postgres.internal.Pg;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@link Mailboxes} of the {@link PostgresStore}, with the embedded store's behaviour
 * ({@code MailboxesContract}). Several nodes may write one mailbox at once: every write locks
 * the rows it counts on in one order (mailboxes by id, then accounts by id, then blobs by hash),
 * so UIDs are handed out once, MODSEQs only grow, quotas hold, and two writes never deadlock.
 * Events reach this node's listeners from the committing thread, in each mailbox's MODSEQ order
 * ({@link #publishInOrder}); other nodes hear them through {@link PgNotifications}.
 */
final class PgMailboxes implements Mailboxes, AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(PgMailboxes.class);

    /** UIDVALIDITY is a 32-bit number (RFC 9051 §2.3.1.1). */
    static final long MAX_UID_VALIDITY = 0xFFFF_FFFFL;

    private static final String MAILBOX_ROW = "id, account_id, name, uid_validity, uid_next, highest_modseq";
    private static final String MAILBOX_SELECT = "SELECT m.id, m.account_id, m.name, m.uid_validity, m.special_use,"
            + " s.name IS NOT NULL FROM mailboxes m LEFT JOIN subscriptions s ON s.account_id = m.account_id AND s.name = m.name";
    private static final String MESSAGE_COLUMNS = "uid, flags, internal_date, size, modseq, blob_hash";
    private static final String INSERT_MESSAGE = "INSERT INTO messages (mailbox_id, uid, modseq, flags, seen, internal_date,"
            + " size, blob_hash, mime_structure) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)";
    /**
     * A delivered message's mailbox's new counters, written in the statement of {@link #INSERT_MESSAGE}
     * ({@link #announcedWrite}), one round trip: a data-modifying WITH runs whether or not the
     * main statement reads it. Parameters: the mailbox's next UID and MODSEQ, its id.
     */
    private static final String APPEND_COUNTERS = "counters AS (UPDATE mailboxes SET uid_next = ?, highest_modseq = ?"
            + " WHERE id = ?)";
    private static final SecureRandom ACCESS_KEYS = new SecureRandom();

    private final HikariDataSource pool;
    private final BodyStore bodies;
    private final EventDispatcher events = new EventDispatcher("castellan-postgres-events");
    private final LongConsumer directoryVersionSeen;
    private final Object commitOrder = new Object();
    /**
     * The highest UID of each watched mailbox this node has told its listeners of (at subscribe,
     * the last one committed): what {@link #catchUp} counts as new is above it.
     */
    private final Map<Long, Long> toldUid = new ConcurrentHashMap<>();
    /** The listings of messages this node holds (docs/store.md, "Listings held by a node"). */
    private final PgListings listings = new PgListings();
    private volatile Notifier notifier = tx -> {};

    /** Tells other nodes of a transaction's events, inside it, before it commits. */
    interface Notifier {
        /** Sends the events no write of the transaction has announced. */
        void beforeCommit(PgTx tx) throws SQLException;

        /**
         * The payload of a {@code pg_notify} on {@link PgNotifications#CHANNEL} announcing
         * {@code events}, for a write to send with its statement; empty when they are to go by
         * {@link #beforeCommit}.
         */
        default Optional<String> payload(List<AccountEvent> events) {
            return Optional.empty();
        }
    }

    PgMailboxes(HikariDataSource pool, BodyStore bodies, LongConsumer directoryVersionSeen) {
        this.pool = pool;
        this.bodies = bodies;
        this.directoryVersionSeen = directoryVersionSeen;
    }

    void notifier(Notifier notifier) {
        this.notifier = notifier;
    }

    /** The LISTEN connection broke: until it is back and {@link #catchUp} ran, no listing is held. */
    void listenLost() {
        listings.deaf();
    }

    /** A notification of another node could not be read: which mailboxes it changed is not known. */
    void notificationUnread() {
        listings.forgetAll();
    }

    /** Another node's committed events, handed to this node's listeners. */
    void publishRemote(List<AccountEvent> remote) {
        publishInOrder(remote);
    }

    /**
     * How long a change waits for the change before it in its mailbox, made by another node and
     * not heard yet, to be published first. Every change raises the MODSEQ by one, so the gap is
     * known; the wait ends when the other node's notification arrives, or after this when it is
     * lost (the LISTEN connection broke), and the change is published anyway.
     */
    static final Duration ORDER_WAIT = Duration.ofSeconds(2);

    /**
     * Publishes a committed batch once every earlier change of its mailboxes has been published
     * on this node, so listeners hear one mailbox's changes in MODSEQ order whichever node made
     * them (RFC 7162 §3.1: a MODSEQ reported is never followed by a lower one). A mailbox this node
     * has heard nothing of yet, and has no listener of (whose subscription records what was
     * committed then), has nothing to wait for.
     */
    private void publishInOrder(List<AccountEvent> batch) {
        if (batch.isEmpty()) return;
        Map<Long, Long> first = new TreeMap<>();
        for (AccountEvent a : batch) {
            if (a instanceof AccountEvent.MailboxChanged m && StoreEvent.modSeqOf(m.change()) > 0) {
                first.merge(m.change().mailboxId(), StoreEvent.modSeqOf(m.change()), Math::min);
            }
        }
        long deadline = System.nanoTime() + ORDER_WAIT.toNanos();
        listings.changed(batch); // committed: no listing is answered from without it, even while the batch waits its turn
        noteAdded(batch);
        synchronized (commitOrder) {
            while (!follows(first)) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    log.debug("published {} without hearing the changes before it from another node", first);
                    break;
                }
                try {
                    commitOrder.wait(Math.max(1, left / 1_000_000));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    break;
                }
            }
            events.publish(batch);
            commitOrder.notifyAll();
        }
    }

    private void noteAdded(List<AccountEvent> batch) {
        for (AccountEvent a : batch) {
            if (!(a instanceof AccountEvent.MailboxChanged m)) continue;
            switch (m.change()) {
                case StoreEvent.MessageAdded added -> toldUid.merge(added.mailboxId(), added.uids().last(), Math::max);
                case StoreEvent.MailboxDeleted deleted -> toldUid.remove(deleted.mailboxId()); // nothing more to tell of it
                default -> { }
            }
        }
    }

    /**
     * Re-reads every mailbox this node has a listener of (directly or through its account) and
     * publishes what changed since the MODSEQ it last published: run when the LISTEN connection is
     * back ({@link PgNotifications}), as the notifications of the changes other nodes committed
     * while it was down are lost (docs/store.md, "Failure"). Once per mailbox, no polling. Each
     * mailbox gets at most three events, all with its highest MODSEQ: the messages above the
     * highest UID told ({@code MessageAdded}), the other changed messages ({@code FlagsChanged})
     * and the UIDs expunged meanwhile ({@code MessagesExpunged}). A change also heard by its
     * notification (committed between the LISTEN and this read) is then heard twice, which
     * listeners already allow: a MessageAdded of a UID known, a flag change fetched again, an
     * expunge of a UID gone. Mailboxes created, renamed or deleted meanwhile are not announced.
     *
     * @throws StoreException {@code UNAVAILABLE} when PostgreSQL fails again; nothing is published then
     */
    void catchUp() {
        listings.listening(); // before the re-read: a listing read from here on hears every later change
        Set<Long> watched = new TreeSet<>(events.watchedMailboxes());
        Set<Long> accounts = events.watchedAccounts();
        if (watched.isEmpty() && accounts.isEmpty()) return;
        Map<Long, Long> highest = new TreeMap<>();
        List<AccountEvent> missed = snapshot("read the watched mailboxes again", c -> {
            for (long account : accounts) {
                watched.addAll(Pg.list(c, "SELECT id FROM mailboxes WHERE account_id = ?", rs -> rs.getLong(1), account));
            }
            List<AccountEvent> out = new ArrayList<>();
            for (long id : watched) {
                Optional<MailboxRow> row = Pg.one(c, "SELECT " + MAILBOX_ROW + " FROM mailboxes WHERE id = ?",
                        PgMailboxes::mailboxRow, id);
                if (row.isPresent() && row.get().highestModSeq > events.publishedModSeq(id)) {
                    highest.put(id, row.get().highestModSeq);
                    missedChanges(c, row.get(), out);
                }
            }
            return out;
        });
        noteAdded(missed);
        synchronized (commitOrder) {
            // Not publishInOrder: these are the changes it would wait for. A mailbox whose MODSEQ
            // moved without a message changing is up to date too, so its next change is not held back.
            highest.forEach(events::committedBefore);
            events.publish(missed);
            commitOrder.notifyAll();
        }
        log.info("read {} watched mailbox(es) again after the LISTEN connection was back; {} had changed meanwhile",
                watched.size(), highest.size());
    }

    private void missedChanges(Connection c, MailboxRow m, List<AccountEvent> out) throws SQLException {
        long mailboxId = m.id;
        long since = events.publishedModSeq(mailboxId);
        long told = toldUid.getOrDefault(mailboxId, 0L);
        SortedSet<Long> added = new TreeSet<>();
        SortedSet<Long> changed = new TreeSet<>();
        Set<String> keywords = new HashSet<>();
        record Changed(long uid, String flags) {}
        for (Changed r : Pg.list(c, "SELECT uid, flags FROM messages WHERE mailbox_id = ? AND modseq > ?",
                rs -> new Changed(rs.getLong(1), rs.getString(2)), mailboxId, since)) {
            if (r.uid() > told) {
                added.add(r.uid());
                if (!r.flags().isEmpty()) keywords.addAll(MailboxRules.keywords(Set.of(r.flags().split(" "))));
            } else {
                changed.add(r.uid());
            }
        }
        SortedSet<Long> gone = new TreeSet<>(Pg.list(c, "SELECT uid FROM expunged WHERE mailbox_id = ? AND modseq > ?",
                rs -> rs.getLong(1), mailboxId, since));
        long modSeq = m.highestModSeq;
        if (!added.isEmpty()) out.add(changed(m, new StoreEvent.MessageAdded(mailboxId, added, modSeq, keywords)));
        if (!changed.isEmpty()) out.add(changed(m, new StoreEvent.FlagsChanged(mailboxId, changed, modSeq)));
        if (!gone.isEmpty()) out.add(changed(m, new StoreEvent.MessagesExpunged(mailboxId, gone, modSeq)));
    }

    private static AccountEvent changed(MailboxRow m, StoreEvent change) {
        return new AccountEvent.MailboxChanged(m.accountId, change);
    }

    /** Whether the change before each of these (mailbox, first MODSEQ of the batch) has been published, or none of it. */
    private boolean follows(Map<Long, Long> first) {
        for (Map.Entry<Long, Long> e : first.entrySet()) {
            long published = events.publishedModSeq(e.getKey());
            if (published != 0 && published < e.getValue() - 1) return false;
        }
        return true;
    }

    // ------------------------------------------------------------------ mailboxes

    @Override
    public Mailbox createMailbox(long accountId, String name, Optional<SpecialUse> specialUse) {
        String normalized = MailboxNames.normalize(name);
        Instant now = now();
        return namingWrite("create mailbox " + normalized, tx -> {
            Connection c = tx.connection();
            requireAccount(c, accountId);
            if (mailboxId(c, accountId, normalized).isPresent()) {
                throw StoreException.alreadyExists("mailbox " + normalized + " already exists");
            }
            createParents(tx, accountId, normalized, now);
            long id = createMailboxRow(tx, accountId, normalized, specialUse.orElse(null), now);
            return mailbox(c, id);
        });
    }

    @Override
    public Mailbox renameMailbox(long mailboxId, String newName) {
        String target = MailboxNames.normalize(newName);
        Instant now = now();
        return namingWrite("rename mailbox " + mailboxId + " to " + target, tx -> {
            Connection c = tx.connection();
            MailboxRow source = lockMailbox(c, mailboxId);
            if (mailboxId(c, source.accountId, target).isPresent()) {
                throw StoreException.alreadyExists("mailbox " + target + " already exists");
            }
            if (source.isInbox()) {
                // RFC 9051 §6.3.6: renaming INBOX moves its messages to a new mailbox; INBOX stays.
                createParents(tx, source.accountId, target, now);
                long id = createMailboxRow(tx, source.accountId, target, null, now);
                List<Long> uids = Pg.list(c, "SELECT uid FROM messages WHERE mailbox_id = ? ORDER BY uid",
                        rs -> rs.getLong(1), source.id);
                copyMessages(tx, source.id, uids, id, true);
                return mailbox(c, id);
            }
            if (MailboxNames.isSelfOrChild(target, source.name)) {
                throw StoreException.invalid("mailbox " + source.name + " cannot be moved below itself (" + target + ")");
            }
            List<MailboxRow> moving = Pg.list(c, "SELECT " + MAILBOX_ROW + " FROM mailboxes WHERE account_id = ?"
                    + " AND (name = ? OR left(name, ?) = ?) ORDER BY id FOR UPDATE", PgMailboxes::mailboxRow,
                    source.accountId, source.name, source.name.length() + 1, source.name + MailboxNames.SEPARATOR);
            Map<MailboxRow, String> renamed = new LinkedHashMap<>();
            for (MailboxRow m : moving) {
                String to = MailboxRules.renamed(m.name, source.name, target);
                if (mailboxId(c, source.accountId, to).isPresent()) {
                    throw StoreException.alreadyExists("cannot rename " + m.name + " to " + to + ": that mailbox exists");
                }
                renamed.put(m, to);
            }
            // Two steps, so that a child's new name may be another moving mailbox's old name.
            for (MailboxRow m : moving) {
                Pg.update(c, "UPDATE mailboxes SET name = ? WHERE id = ?", "\u0001renaming\u0001" + m.id, m.id);
            }
            for (Map.Entry<MailboxRow, String> e : renamed.entrySet()) {
                Pg.update(c, "UPDATE mailboxes SET name = ? WHERE id = ?", e.getValue(), e.getKey().id);
                tx.publish(source.accountId, new StoreEvent.MailboxRenamed(e.getKey().id, e.getKey().name, e.getValue()));
                renameSubscription(tx, source.accountId, e.getKey().name, e.getValue());
            }
            createParents(tx, source.accountId, target, now);
            return mailbox(c, source.id);
        });
    }

    @Override
    public void deleteMailbox(long mailboxId) {
        namingWrite("delete mailbox " + mailboxId, tx -> {
            MailboxRow m = lockMailbox(tx.connection(), mailboxId);
            if (m.isInbox()) throw StoreException.invalid("INBOX cannot be deleted (RFC 9051 §6.3.5)");
            deleteMailboxRows(tx, m);
            return null;
        });
    }

    /**
     * Deletes the account with its mailboxes, releasing their bodies and telling their listeners.
     *
     * @param deleteRows the directory's own deletion, in the same transaction
     */
    void deleteAccount(long accountId, SqlWork deleteRows) {
        namingWrite("delete account " + accountId, tx -> {
            Connection c = tx.connection();
            for (MailboxRow m : Pg.list(c, "SELECT " + MAILBOX_ROW + " FROM mailboxes WHERE account_id = ? ORDER BY id FOR UPDATE",
                    PgMailboxes::mailboxRow, accountId)) {
                deleteMailboxRows(tx, m);
            }
            deleteRows.run(c);
            return null;
        });
    }

    /** A statement or two of the directory's, run inside a mailbox transaction. */
    @FunctionalInterface
    interface SqlWork {
        void run(Connection c) throws SQLException;
    }

    @Override
    public List<Mailbox> listMailboxes(long accountId) {
        // An account's mailboxes go with it (ON DELETE CASCADE) and it always has its INBOX: the
        // account is looked for only when the one statement finds nothing.
        return read("list the mailboxes of account " + accountId, c -> {
            List<Mailbox> found = Pg.list(c, MAILBOX_SELECT + " WHERE m.account_id = ? ORDER BY m.name COLLATE \"C\"",
                    PgMailboxes::mailbox, accountId);
            if (found.isEmpty()) requireAccount(c, accountId);
            return found;
        });
    }

    @Override
    public Optional<Mailbox> getMailbox(long accountId, String name) {
        String normalized;
        try {
            normalized = MailboxNames.normalize(name);
        } catch (StoreException invalidName) {
            return Optional.empty(); // no mailbox can have an invalid name
        }
        return read("look up mailbox " + normalized, c -> Pg.one(c,
                MAILBOX_SELECT + " WHERE m.account_id = ? AND m.name = ?", PgMailboxes::mailbox, accountId, normalized));
    }

    @Override
    public Optional<Mailbox> getMailbox(long mailboxId) {
        return read("look up mailbox " + mailboxId,
                c -> Pg.one(c, MAILBOX_SELECT + " WHERE m.id = ?", PgMailboxes::mailbox, mailboxId));
    }

    @Override
    public void subscribeMailbox(long accountId, String name) {
        String normalized = MailboxNames.normalize(name);
        write("subscribe to " + normalized, tx -> {
            requireAccount(tx.connection(), accountId);
            if (Pg.update(tx.connection(), "INSERT INTO subscriptions (account_id, name) VALUES (?, ?) ON CONFLICT DO NOTHING",
                    accountId, normalized) > 0) {
                tx.publish(new AccountEvent.SubscriptionChanged(accountId, normalized, true));
            }
            return null;
        });
    }

    @Override
    public void unsubscribeMailbox(long accountId, String name) {
        String normalized = MailboxNames.normalize(name);
        write("unsubscribe from " + normalized, tx -> {
            requireAccount(tx.connection(), accountId);
            if (Pg.update(tx.connection(), "DELETE FROM subscriptions WHERE account_id = ? AND name = ?", accountId,
                    normalized) > 0) {
                tx.publish(new AccountEvent.SubscriptionChanged(accountId, normalized, false));
            }
            return null;
        });
    }

    @Override
    public List<String> listSubscriptions(long accountId) {
        return read("list the subscriptions of account " + accountId, c -> {
            requireAccount(c, accountId);
            return Pg.list(c, "SELECT name FROM subscriptions WHERE account_id = ? ORDER BY name COLLATE \"C\"",
                    rs -> rs.getString(1), accountId);
        });
    }

    @Override
    public MailboxStatus status(long mailboxId) {
        // One statement: the counters and the counts from one committed state, without a snapshot's transaction.
        MailboxStatus status = read("read the status of mailbox " + mailboxId, c -> Pg.one(c, "SELECT m.uid_next, m.uid_validity,"
                + " m.highest_modseq, count(x.uid), count(x.uid) FILTER (WHERE NOT x.seen), coalesce(sum(x.size), 0)"
                + " FROM mailboxes m LEFT JOIN messages x ON x.mailbox_id = m.id WHERE m.id = ? GROUP BY m.id",
                rs -> new MailboxStatus(mailboxId, rs.getLong(4), rs.getLong(5), rs.getLong(1), rs.getLong(2), rs.getLong(3),
                        rs.getLong(6)), mailboxId).orElseThrow(() -> MailboxRules.noMailbox(mailboxId)));
        // A listing answered after this shows at least what it counted (IMAP SELECT lists after its STATUS).
        listings.observed(mailboxId, status.highestModSeq());
        return status;
    }

    // ------------------------------------------------------------------ messages

    @Override
    public AppendResult append(long mailboxId, InputStream content, Set<String> flags, Instant internalDate) {
        return deliver(List.of(mailboxId), content, flags, internalDate).getFirst();
    }

    @Override
    public List<AppendResult> deliver(List<Long> mailboxIds, InputStream content, Set<String> flags, Instant internalDate) {
        if (mailboxIds.isEmpty()) throw StoreException.invalid("a message must be delivered to at least one mailbox");
        Set<String> normalized = Flags.normalize(flags);
        Instant date = internalDate == null ? now() : internalDate.truncatedTo(ChronoUnit.MILLIS);
        String doing = "store a message in mailbox(es) " + mailboxIds;
        Body body = body(content, doing);
        bodies.sendAhead(body.hash(), body.bytes()); // not under the mailboxes' locks: see BodyStore
        return write(doing, tx -> {
            Connection c = tx.connection();
            Map<Long, MailboxRow> locked = lockMailboxes(c, mailboxIds);
            Map<Long, long[]> charges = new TreeMap<>();
            for (long mailboxId : mailboxIds) {
                MailboxRow m = locked.get(mailboxId);
                MailboxRules.requireUids(m.name, m.uidNext, 1);
                charges.computeIfAbsent(m.accountId, a -> new long[2])[0] += body.size();
                charges.get(m.accountId)[1]++;
            }
            for (Map.Entry<Long, long[]> e : charges.entrySet()) {
                chargeQuota(c, e.getKey(), e.getValue()[0], e.getValue()[1], true);
            }
            referenceBody(c, body, mailboxIds.size()); // before the rows that reference it
            List<AppendResult> results = new ArrayList<>();
            for (int i = 0; i < mailboxIds.size(); i++) {
                long mailboxId = mailboxIds.get(i);
                // The row as this transaction left it (one delivery may name a mailbox twice): it holds the row's lock.
                MailboxRow m = locked.get(mailboxId);
                long modSeq = m.highestModSeq + 1;
                tx.publish(m.accountId, new StoreEvent.MessageAdded(mailboxId, new TreeSet<>(List.of(m.uidNext)), modSeq,
                        MailboxRules.keywords(normalized)));
                // The last write announces the delivery's events (published above) to the other nodes.
                announcedWrite(tx, i == mailboxIds.size() - 1, APPEND_COUNTERS, INSERT_MESSAGE, m.uidNext + 1, modSeq,
                        mailboxId, mailboxId, m.uidNext, modSeq, String.join(" ", normalized), normalized.contains(Flags.SEEN),
                        date, body.size(), body.hash(), body.structure());
                locked.put(mailboxId, m.afterAppend(modSeq));
                tx.wrote(new PgListings.Write(mailboxId, m.highestModSeq, modSeq,
                        List.of(new MessageMeta(m.uidNext, normalized, date, body.size(), modSeq, body.hash())), List.of()));
                results.add(new AppendResult(mailboxId, m.uidValidity, m.uidNext, modSeq, body.size(), body.hash()));
            }
            return results;
        });
    }

    @Override
    public List<AppendResult> appendAll(long mailboxId, List<NewMessage> messages) {
        if (messages.isEmpty()) throw StoreException.invalid("appendAll needs at least one message");
        record Prepared(Body body, Set<String> flags, Instant date) {}
        String doing = "store " + messages.size() + " messages in mailbox " + mailboxId;
        List<Prepared> prepared = new ArrayList<>();
        for (NewMessage m : messages) {
            Set<String> flags = Flags.normalize(m.flags());
            Instant date = m.internalDate() == null ? now() : m.internalDate().truncatedTo(ChronoUnit.MILLIS);
            try (InputStream content = m.content().open()) {
                prepared.add(new Prepared(body(content, doing), flags, date));
            } catch (IOException e) {
                throw unreadable(e, doing);
            }
        }
        for (Prepared p : prepared) bodies.sendAhead(p.body().hash(), p.body().bytes()); // see deliver
        return write(doing, tx -> {
            Connection c = tx.connection();
            MailboxRow m = lockMailbox(c, mailboxId);
            MailboxRules.requireUids(m.name, m.uidNext, prepared.size());
            long bytes = prepared.stream().mapToLong(p -> p.body().size()).sum();
            chargeQuota(c, m.accountId, bytes, prepared.size(), true); // all of them or none
            Map<String, Body> distinct = new TreeMap<>();
            Map<String, Integer> references = new TreeMap<>();
            for (Prepared p : prepared) {
                distinct.put(p.body().hash(), p.body());
                references.merge(p.body().hash(), 1, Integer::sum);
            }
            for (Body b : distinct.values()) referenceBody(c, b, references.get(b.hash()));
            long modSeq = m.highestModSeq + 1;
            long uid = m.uidNext;
            List<AppendResult> results = new ArrayList<>();
            List<MessageMeta> written = new ArrayList<>();
            for (Prepared p : prepared) {
                Pg.update(c, INSERT_MESSAGE, mailboxId, uid, modSeq, String.join(" ", p.flags()), p.flags().contains(Flags.SEEN),
                        p.date(), p.body().size(), p.body().hash(), p.body().structure());
                results.add(new AppendResult(mailboxId, m.uidValidity, uid, modSeq, p.body().size(), p.body().hash()));
                written.add(new MessageMeta(uid, p.flags(), p.date(), p.body().size(), modSeq, p.body().hash()));
                uid++;
            }
            tx.wrote(new PgListings.Write(mailboxId, m.highestModSeq, modSeq, written, List.of()));
            Pg.update(c, "UPDATE mailboxes SET uid_next = ?, highest_modseq = ? WHERE id = ?", uid, modSeq, mailboxId);
            TreeSet<Long> added = new TreeSet<>();
            for (AppendResult r : results) added.add(r.uid());
            Set<String> keywords = new HashSet<>();
            for (Prepared p : prepared) keywords.addAll(MailboxRules.keywords(p.flags()));
            tx.publish(m.accountId, new StoreEvent.MessageAdded(mailboxId, added, modSeq, keywords));
            return results;
        });
    }

    @Override
    public List<MessageMeta> listMessages(long mailboxId, UidRange range) {
        Optional<List<MessageMeta>> held = listings.fresh(mailboxId, range);
        if (held.isPresent()) return held.get();
        Optional<PgListings.Reading> reading = listings.reading(mailboxId, range);
        String doing = "list messages of mailbox " + mailboxId;
        if (reading.isEmpty()) {
            // One statement sees one committed state, and a mailbox's messages go with it (ON DELETE
            // CASCADE): only an empty answer needs the mailbox looked for, not every call a snapshot.
            return read(doing, c -> {
                List<MessageMeta> found = Pg.list(c, "SELECT " + MESSAGE_COLUMNS + " FROM messages WHERE mailbox_id = ?"
                        + " AND uid BETWEEN ? AND ? ORDER BY uid", PgMailboxes::message, mailboxId, range.first(), range.last());
                if (found.isEmpty()) requireMailbox(c, mailboxId);
                return found;
            });
        }
        PgListings.Reading r = reading.get();
        return read(doing, c -> r.since().isPresent()
                ? listings.read(r, changesSince(c, mailboxId, r.since().get()))
                : wholeListing(c, r));
    }

    /**
     * A mailbox's messages and its HIGHESTMODSEQ in one statement, so the listing holds every
     * change up to that MODSEQ ({@link PgListings}); no row when there is no such mailbox.
     */
    private List<MessageMeta> wholeListing(Connection c, PgListings.Reading r) throws SQLException {
        long[] highest = {-1};
        List<MessageMeta> all = new ArrayList<>();
        Pg.list(c, "SELECT m.highest_modseq, x.uid, x.flags, x.internal_date, x.size, x.modseq, x.blob_hash"
                + " FROM mailboxes m LEFT JOIN messages x ON x.mailbox_id = m.id WHERE m.id = ? ORDER BY x.uid", rs -> {
                    highest[0] = rs.getLong(1);
                    rs.getLong(2);
                    if (!rs.wasNull()) all.add(messageAfter(rs, 1));
                    return Boolean.TRUE;
                }, r.mailboxId());
        if (highest[0] < 0) throw MailboxRules.noMailbox(r.mailboxId());
        return listings.read(r, highest[0], all);
    }

    /**
     * What changed in a mailbox since {@code modSeq}, in one statement (one snapshot): its
     * HIGHESTMODSEQ, the messages written after it, and the UIDs expunged after it (the rows
     * with no HIGHESTMODSEQ).
     */
    private static PgListings.Changes changesSince(Connection c, long mailboxId, long modSeq) throws SQLException {
        long[] highest = {-1};
        List<MessageMeta> changed = new ArrayList<>();
        List<Long> expunged = new ArrayList<>();
        Pg.list(c, "SELECT m.highest_modseq, x.uid, x.flags, x.internal_date, x.size, x.modseq, x.blob_hash"
                + " FROM mailboxes m LEFT JOIN messages x ON x.mailbox_id = m.id AND x.modseq > ? WHERE m.id = ?"
                + " UNION ALL SELECT NULL, uid, NULL, NULL, NULL, NULL, NULL FROM expunged WHERE mailbox_id = ? AND modseq > ?",
                rs -> {
                    long h = rs.getLong(1);
                    boolean gone = rs.wasNull();
                    long uid = rs.getLong(2);
                    if (gone) {
                        expunged.add(uid);
                    } else {
                        highest[0] = h;
                        if (!rs.wasNull()) changed.add(messageAfter(rs, 1));
                    }
                    return Boolean.TRUE;
                }, modSeq, mailboxId, mailboxId, modSeq);
        if (highest[0] < 0) throw MailboxRules.noMailbox(mailboxId);
        return new PgListings.Changes(highest[0], changed, expunged);
    }

    @Override
    public InputStream openMessage(long mailboxId, long uid) {
        String doing = "open message " + uid + " of mailbox " + mailboxId;
        return snapshot(doing, c -> {
            // The mailbox and the message in one statement: no row without the mailbox, a null hash without the message.
            Optional<String> found = Pg.one(c, "SELECT x.blob_hash FROM mailboxes m LEFT JOIN messages x"
                    + " ON x.mailbox_id = m.id AND x.uid = ? WHERE m.id = ?", rs -> Optional.ofNullable(rs.getString(1)),
                    uid, mailboxId).orElseThrow(() -> MailboxRules.noMailbox(mailboxId));
            String hash = found.orElseThrow(() -> StoreException.notFound("mailbox " + mailboxId + " has no message "
                    + "with UID " + uid));
            return bodies.open(c, hash).orElseThrow(() -> StoreException.notFound("message " + uid + " of mailbox "
                    + mailboxId + " was removed"));
        });
    }

    @Override
    public Optional<MessageStructure> structure(long mailboxId, long uid) {
        Optional<byte[]> stored = read("read the structure of message " + uid + " of mailbox " + mailboxId,
                c -> Pg.one(c, "SELECT mime_structure FROM messages WHERE mailbox_id = ? AND uid = ?", rs -> rs.getBytes(1),
                        mailboxId, uid)).filter(b -> b != null);
        return stored.flatMap(MessageStructure::decode);
    }

    /**
     * One statement for the whole set: a header SEARCH over a large mailbox is not a round trip per
     * message. The UID range beside the list keeps the plan on the primary key's range even
     * before the table has statistics: over a mailbox of 100,000 messages filled in one transaction
     * and searched at once, the list alone took seconds per call.
     */
    @Override
    public Map<Long, MessageStructure> structures(long mailboxId, SortedSet<Long> uids) {
        Map<Long, MessageStructure> found = new java.util.HashMap<>();
        if (uids.isEmpty()) return found;
        read("read the structures of " + uids.size() + " messages of mailbox " + mailboxId, c -> {
            List<Map.Entry<Long, Optional<MessageStructure>>> rows = Pg.list(c, "SELECT uid, mime_structure FROM messages"
                    + " WHERE mailbox_id = ? AND uid BETWEEN ? AND ? AND uid = ANY(?)",
                    rs -> Map.entry(rs.getLong(1), MessageStructure.decode(rs.getBytes(2))),
                    mailboxId, uids.first(), uids.last(), c.createArrayOf("bigint", uids.toArray()));
            if (rows.isEmpty()) requireMailbox(c, mailboxId);
            for (var row : rows) row.getValue().ifPresent(s -> found.put(row.getKey(), s));
            return null;
        });
        return found;
    }

    /**
     * A LIKE over the folded text kept with each body (a trigram index answers it when pg_trgm is
     * installed): exact, so only messages without stored text are left for the caller to scan.
     */
    @Override
    public TextMatches searchText(long mailboxId, boolean bodyOnly, String needle) {
        String folded = SearchText.fold(needle);
        String pattern = "%" + folded.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%";
        return snapshot("search the text of mailbox " + mailboxId, c -> {
            requireMailbox(c, mailboxId);
            List<Long> unindexed = Pg.list(c, "SELECT m.uid FROM messages m JOIN blobs b ON b.hash = m.blob_hash"
                    + " WHERE m.mailbox_id = ? AND b.body_text IS NULL", rs -> rs.getLong(1), mailboxId);
            if (!storable(folded)) {
                return new TextMatches(new TreeSet<>(), new TreeSet<>(Pg.list(c, "SELECT uid FROM messages WHERE mailbox_id = ?",
                        rs -> rs.getLong(1), mailboxId)));
            }
            String where = bodyOnly ? "b.body_text LIKE ?" : "(b.header_text LIKE ? OR b.body_text LIKE ?)";
            Object[] args = bodyOnly ? new Object[] {mailboxId, pattern} : new Object[] {mailboxId, pattern, pattern};
            List<Long> matching = Pg.list(c, "SELECT m.uid FROM messages m JOIN blobs b ON b.hash = m.blob_hash"
                    + " WHERE m.mailbox_id = ? AND " + where, rs -> rs.getLong(1), args);
            return new TextMatches(new TreeSet<>(matching), new TreeSet<>(unindexed));
        });
    }

    @Override
    public FlagUpdate storeFlags(long mailboxId, Collection<Long> uids, FlagOperation operation, Set<String> flags,
            OptionalLong unchangedSince) {
        Set<String> given = Flags.normalize(flags);
        SortedSet<Long> sorted = new TreeSet<>(uids);
        return write("change flags in mailbox " + mailboxId, tx -> {
            Connection c = tx.connection();
            MailboxRow m = lockMailbox(c, mailboxId);
            long modSeq = m.highestModSeq + 1;
            List<FlagUpdate.Changed> changed = new ArrayList<>();
            List<MessageMeta> written = new ArrayList<>();
            SortedSet<Long> notModified = new TreeSet<>();
            for (long uid : sorted) {
                Optional<MessageMeta> found = Pg.one(c, "SELECT " + MESSAGE_COLUMNS + " FROM messages"
                        + " WHERE mailbox_id = ? AND uid = ?", PgMailboxes::message, mailboxId, uid);
                if (found.isEmpty()) continue;
                MessageMeta meta = found.get();
                if (unchangedSince.isPresent() && meta.modSeq() > unchangedSince.getAsLong()) {
                    notModified.add(uid); // RFC 7162 §3.1.3
                    continue;
                }
                Optional<TreeSet<String>> changes = MailboxRules.changedFlags(uid, meta.flags(), operation, given);
                if (changes.isEmpty()) continue;
                TreeSet<String> next = changes.get();
                Pg.update(c, "UPDATE messages SET flags = ?, seen = ?, modseq = ? WHERE mailbox_id = ? AND uid = ?",
                        String.join(" ", next), next.contains(Flags.SEEN), modSeq, mailboxId, uid);
                changed.add(new FlagUpdate.Changed(uid, next, modSeq));
                written.add(new MessageMeta(uid, next, meta.internalDate(), meta.size(), modSeq, meta.blobId()));
            }
            if (!changed.isEmpty()) {
                SortedSet<Long> changedUids = new TreeSet<>();
                changed.forEach(ch -> changedUids.add(ch.uid()));
                tx.publish(m.accountId, new StoreEvent.FlagsChanged(mailboxId, changedUids, modSeq));
                tx.wrote(new PgListings.Write(mailboxId, m.highestModSeq, modSeq, written, List.of()));
                announcedWrite(tx, true, "", "UPDATE mailboxes SET highest_modseq = ? WHERE id = ?", modSeq, mailboxId);
            }
            return new FlagUpdate(changed, notModified);
        });
    }

    @Override
    public ExpungeResult expunge(long mailboxId, Collection<Long> uids) {
        return expunge(mailboxId, uids, false);
    }

    @Override
    public ExpungeResult expungeDeleted(long mailboxId, Collection<Long> uids) {
        return expunge(mailboxId, uids, true);
    }

    private ExpungeResult expunge(long mailboxId, Collection<Long> uids, boolean onlyDeleted) {
        SortedSet<Long> sorted = new TreeSet<>(uids);
        return write("expunge " + (onlyDeleted ? "deleted " : "") + "messages of mailbox " + mailboxId,
                tx -> expungeMessages(tx, lockMailbox(tx.connection(), mailboxId), sorted, onlyDeleted));
    }

    @Override
    public SortedSet<Long> expungedSince(long mailboxId, long modSeq) {
        return read("list the UIDs expunged from mailbox " + mailboxId + " since MODSEQ " + modSeq, c -> {
            requireMailbox(c, mailboxId);
            return new TreeSet<>(Pg.list(c, "SELECT uid FROM expunged WHERE mailbox_id = ? AND modseq > ? ORDER BY uid",
                    rs -> rs.getLong(1), mailboxId, modSeq));
        });
    }

    @Override
    public CopyResult copy(long fromMailboxId, Collection<Long> uids, long toMailboxId) {
        List<Long> sorted = List.copyOf(new TreeSet<>(uids));
        return write("copy messages from mailbox " + fromMailboxId + " to " + toMailboxId,
                tx -> copyMessages(tx, fromMailboxId, sorted, toMailboxId, false));
    }

    @Override
    public CopyResult move(long fromMailboxId, Collection<Long> uids, long toMailboxId) {
        List<Long> sorted = List.copyOf(new TreeSet<>(uids));
        return write("move messages from mailbox " + fromMailboxId + " to " + toMailboxId,
                tx -> copyMessages(tx, fromMailboxId, sorted, toMailboxId, true));
    }

    // ------------------------------------------------------------------ \Recent, quota, access keys

    @Override
    public long claimRecent(long mailboxId, long upToUid) {
        // Most calls find nothing left to claim (another session was first): a read says so
        // without taking the mailbox's row.
        long first = firstRecentUid(mailboxId);
        if (first > upToUid) return first;
        // One statement, committed on its own: the sub-select takes the mailbox's row (as every
        // write of it does) and reads its latest committed value, which the update moves on and
        // returns. No row when another session claimed past upToUid since the read above.
        Optional<Long> claimed = read("claim the recent messages of mailbox " + mailboxId, c -> Pg.one(c,
                "UPDATE mailboxes m SET first_recent_uid = ? FROM (SELECT id, first_recent_uid FROM mailboxes"
                        + " WHERE id = ? FOR UPDATE) prev WHERE m.id = prev.id AND prev.first_recent_uid <= ?"
                        + " RETURNING prev.first_recent_uid", rs -> rs.getLong(1), upToUid + 1, mailboxId, upToUid));
        return claimed.isPresent() ? claimed.get() : firstRecentUid(mailboxId);
    }

    @Override
    public long firstRecentUid(long mailboxId) {
        return read("read the first recent UID of mailbox " + mailboxId, c -> Pg.one(c,
                "SELECT first_recent_uid FROM mailboxes WHERE id = ?", rs -> rs.getLong(1), mailboxId)
                .orElseThrow(() -> MailboxRules.noMailbox(mailboxId)));
    }

    @Override
    public Quota quota(long accountId) {
        return read("read the quota of account " + accountId, c -> Pg.one(c,
                "SELECT quota_bytes, used_bytes, used_messages FROM accounts WHERE id = ?", rs -> {
                    long limit = rs.getLong(1);
                    OptionalLong limitBytes = rs.wasNull() ? OptionalLong.empty() : OptionalLong.of(limit);
                    return new Quota(accountId, limitBytes, rs.getLong(2), rs.getLong(3));
                }, accountId).orElseThrow(() -> DirectoryRules.noAccount(accountId)));
    }

    @Override
    public Optional<byte[]> accessKey(long mailboxId) {
        return read("read the access key of mailbox " + mailboxId, c -> {
            requireMailbox(c, mailboxId);
            return Pg.one(c, "SELECT access_key FROM mailbox_access_keys WHERE mailbox_id = ?", rs -> rs.getBytes(1), mailboxId);
        });
    }

    @Override
    public byte[] ensureAccessKey(long mailboxId) {
        byte[] fresh = new byte[ACCESS_KEY_BYTES];
        ACCESS_KEYS.nextBytes(fresh);
        Instant now = now();
        return write("make sure mailbox " + mailboxId + " has an access key", tx -> {
            Connection c = tx.connection();
            lockMailbox(c, mailboxId);
            Pg.update(c, "INSERT INTO mailbox_access_keys (mailbox_id, access_key, created_at) VALUES (?, ?, ?)"
                    + " ON CONFLICT (mailbox_id) DO NOTHING", mailboxId, fresh, now);
            return Pg.one(c, "SELECT access_key FROM mailbox_access_keys WHERE mailbox_id = ?", rs -> rs.getBytes(1), mailboxId)
                    .orElseThrow();
        });
    }

    @Override
    public void resetAccessKey(long mailboxId) {
        write("reset the access key of mailbox " + mailboxId, tx -> {
            requireMailbox(tx.connection(), mailboxId);
            Pg.update(tx.connection(), "DELETE FROM mailbox_access_keys WHERE mailbox_id = ?", mailboxId);
            return null;
        });
    }

    @Override
    public void resetAccessKeys(long accountId) {
        write("reset the access keys of account " + accountId, tx -> {
            requireAccount(tx.connection(), accountId);
            Pg.update(tx.connection(), "DELETE FROM mailbox_access_keys WHERE mailbox_id IN"
                    + " (SELECT id FROM mailboxes WHERE account_id = ?)", accountId);
            return null;
        });
    }

    // ------------------------------------------------------------------ events

    @Override
    public EventSubscription subscribe(long mailboxId, Consumer<StoreEvent> listener) {
        MailboxRow row = read("watch mailbox " + mailboxId, c -> requireMailbox(c, mailboxId));
        listings.observed(mailboxId, row.highestModSeq);
        // From here on the changes other nodes make are published in MODSEQ order: the first one
        // heard waits for those before it down to what is committed now (publishInOrder).
        events.committedBefore(mailboxId, row.highestModSeq);
        toldUid.merge(mailboxId, row.uidNext - 1, Math::max);
        return events.subscribe(mailboxId, listener);
    }

    @Override
    public EventSubscription subscribeAccount(long accountId, Consumer<AccountEvent> listener) {
        read("watch account " + accountId, c -> {
            requireAccount(c, accountId);
            return null;
        });
        return events.subscribeAccount(accountId, listener);
    }

    @Override
    public long publishedModSeq(long mailboxId) {
        return events.publishedModSeq(mailboxId);
    }

    @Override
    public void close() {
        events.close();
    }

    // ------------------------------------------------------------------ transaction bodies

    private CopyResult copyMessages(PgTx tx, long fromMailboxId, List<Long> uids, long toMailboxId, boolean move)
            throws SQLException {
        Connection c = tx.connection();
        Map<Long, MailboxRow> locked = lockMailboxes(c, List.of(fromMailboxId, toMailboxId));
        MailboxRow from = locked.get(fromMailboxId);
        MailboxRow to = locked.get(toMailboxId);
        record Source(long uid, String flags, boolean seen, Instant internalDate, long size, String blob, byte[] mime) {}
        List<Source> sources = new ArrayList<>();
        for (long uid : uids) {
            Pg.one(c, "SELECT uid, flags, seen, internal_date, size, blob_hash, mime_structure FROM messages"
                    + " WHERE mailbox_id = ? AND uid = ?", rs -> new Source(rs.getLong(1), rs.getString(2), rs.getBoolean(3),
                    Pg.instant(rs, 4).orElseThrow(), rs.getLong(5), rs.getString(6), rs.getBytes(7)), from.id, uid)
                    .ifPresent(sources::add);
        }
        SortedMap<Long, Long> mapping = new TreeMap<>();
        if (sources.isEmpty()) return new CopyResult(to.id, to.uidValidity, mapping);
        MailboxRules.requireUids(to.name, to.uidNext, sources.size());
        long bytes = sources.stream().mapToLong(Source::size).sum();
        // A move within one account adds and removes the same bytes: it must work even at the limit.
        chargeQuota(c, to.accountId, bytes, sources.size(), !(move && from.accountId == to.accountId));
        long modSeq = to.highestModSeq + 1;
        long uid = to.uidNext;
        Map<String, Integer> references = new TreeMap<>();
        for (Source s : sources) references.merge(s.blob, 1, Integer::sum);
        // The bodies are stored already (the source rows reference them): only count the copies.
        for (Map.Entry<String, Integer> e : references.entrySet()) {
            Pg.update(c, "UPDATE blobs SET refcount = refcount + ? WHERE hash = ?", (long) e.getValue(), e.getKey());
        }
        List<MessageMeta> written = new ArrayList<>();
        for (Source s : sources) {
            Pg.update(c, INSERT_MESSAGE, to.id, uid, modSeq, s.flags, s.seen, s.internalDate, s.size, s.blob, s.mime);
            written.add(new MessageMeta(uid, MailboxRules.storedFlags(s.flags), s.internalDate, s.size, modSeq, s.blob));
            mapping.put(s.uid, uid);
            uid++;
        }
        tx.wrote(new PgListings.Write(to.id, to.highestModSeq, modSeq, written, List.of()));
        Pg.update(c, "UPDATE mailboxes SET uid_next = ?, highest_modseq = ? WHERE id = ?", uid, modSeq, to.id);
        Set<String> keywords = new HashSet<>();
        for (Source s : sources) keywords.addAll(MailboxRules.keywords(MailboxRules.storedFlags(s.flags)));
        tx.publish(to.accountId, new StoreEvent.MessageAdded(to.id, new TreeSet<>(mapping.values()), modSeq, keywords));
        // Re-read: a move within one mailbox just raised its MODSEQ.
        if (move) expungeMessages(tx, requireMailbox(tx.connection(), from.id), new TreeSet<>(mapping.keySet()), false);
        return new CopyResult(to.id, to.uidValidity, mapping);
    }

    /**
     * Removes messages of {@code m}, the mailbox's row as this transaction holds it locked.
     *
     * @param onlyDeleted whether a row must hold {@code \Deleted} (flags are stored space-separated)
     */
    private ExpungeResult expungeMessages(PgTx tx, MailboxRow m, SortedSet<Long> uids, boolean onlyDeleted) throws SQLException {
        Connection c = tx.connection();
        long mailboxId = m.id;
        long modSeq = m.highestModSeq + 1;
        record Gone(long uid, String blob) {}
        // One statement: the rows go, their UIDs are remembered with the new MODSEQ, and only when
        // one went the mailbox's MODSEQ rises and the account's usage falls.
        List<Gone> gone = Pg.list(c, "WITH gone AS (DELETE FROM messages WHERE mailbox_id = ? AND uid = ANY (?)"
                + (onlyDeleted ? " AND position(' " + Flags.DELETED + " ' in ' ' || flags || ' ') > 0" : "")
                + " RETURNING uid, size, blob_hash), remembered AS (INSERT INTO expunged (mailbox_id, uid, modseq)"
                + " SELECT ?, uid, ? FROM gone), raised AS (UPDATE mailboxes SET highest_modseq = ? WHERE id = ?"
                + " AND EXISTS (SELECT 1 FROM gone)), used AS (UPDATE accounts SET used_bytes = used_bytes"
                + " - (SELECT sum(size) FROM gone), used_messages = used_messages - (SELECT count(*) FROM gone)"
                + " WHERE id = ? AND EXISTS (SELECT 1 FROM gone)) SELECT uid, blob_hash FROM gone ORDER BY uid",
                rs -> new Gone(rs.getLong(1), rs.getString(2)), mailboxId, c.createArrayOf("bigint", uids.toArray()),
                mailboxId, modSeq, modSeq, mailboxId, m.accountId);
        if (gone.isEmpty()) return new ExpungeResult(new TreeSet<>(), m.highestModSeq);
        SortedSet<Long> removed = new TreeSet<>();
        Map<String, Integer> references = new TreeMap<>();
        for (Gone g : gone) {
            removed.add(g.uid);
            references.merge(g.blob, 1, Integer::sum);
        }
        for (Map.Entry<String, Integer> e : references.entrySet()) releaseBody(c, e.getKey(), e.getValue());
        tx.publish(m.accountId, new StoreEvent.MessagesExpunged(mailboxId, removed, modSeq));
        tx.wrote(new PgListings.Write(mailboxId, m.highestModSeq, modSeq, List.of(), removed));
        return new ExpungeResult(removed, modSeq);
    }

    /** Deletes a mailbox this transaction has locked, with its messages, expunged UIDs and access key. */
    private void deleteMailboxRows(PgTx tx, MailboxRow m) throws SQLException {
        Connection c = tx.connection();
        record Held(String blob, long count, long bytes) {}
        List<Held> held = Pg.list(c, "SELECT blob_hash, count(*), sum(size) FROM messages WHERE mailbox_id = ?"
                + " GROUP BY blob_hash ORDER BY blob_hash", rs -> new Held(rs.getString(1), rs.getLong(2), rs.getLong(3)), m.id);
        long bytes = 0;
        long count = 0;
        for (Held h : held) {
            bytes += h.bytes;
            count += h.count;
        }
        Pg.update(c, "DELETE FROM mailboxes WHERE id = ?", m.id); // messages, expunged UIDs and key go with it (V3)
        Pg.update(c, "UPDATE accounts SET used_bytes = used_bytes - ?, used_messages = used_messages - ? WHERE id = ?",
                bytes, count, m.accountId);
        for (Held h : held) releaseBody(c, h.blob, h.count);
        tx.publish(m.accountId, new StoreEvent.MailboxDeleted(m.id, m.name));
    }

    /**
     * A message body on its way in, read and parsed on the caller's thread before the transaction:
     * its hash, its MIME structure and its folded search text (null when PostgreSQL text cannot
     * hold it, and the message is then scanned).
     */
    record Body(String hash, byte[] bytes, byte[] structure, SearchText text) {
        long size() {
            return bytes.length;
        }
    }

    static Body body(InputStream content, String doing) {
        byte[] bytes;
        try {
            bytes = content.readAllBytes();
        } catch (IOException e) {
            throw unreadable(e, doing);
        }
        MessageStructure structure = MessageStructure.parse(bytes);
        SearchText raw = structure.searchText(bytes);
        SearchText text = new SearchText(SearchText.fold(raw.header()), SearchText.fold(raw.body()));
        boolean keep = storable(text.header()) && storable(text.body());
        return new Body(sha256(bytes), bytes, structure.encode(), keep ? text : null);
    }

    /** PostgreSQL text holds no NUL character and no lone surrogate. */
    private static boolean storable(String s) {
        for (int i = 0; i < s.length(); i++) {
            char ch = s.charAt(i);
            if (ch == '\u0000') return false;
            if (Character.isHighSurrogate(ch)) {
                if (i + 1 >= s.length() || !Character.isLowSurrogate(s.charAt(i + 1))) return false;
                i++;
            } else if (Character.isLowSurrogate(ch)) {
                return false;
            }
        }
        return true;
    }

    private static StoreException unreadable(IOException e, String doing) {
        return StoreException.unavailable("cannot " + doing + ": the message could not be read (" + e.getMessage() + ")", e);
    }

    private static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java runtime has SHA-256", e);
        }
    }

    /**
     * Adds references to a body. The blob's row is taken first (inserted, or locked by the
     * update), so a concurrent release of its last reference either finishes before (and this
     * stores the bytes again) or waits for this transaction.
     */
    void referenceBody(Connection c, Body body, int references) throws SQLException {
        Pg.update(c, "INSERT INTO blobs (hash, size, refcount, header_text, body_text) VALUES (?, ?, ?, ?, ?)"
                + " ON CONFLICT (hash) DO UPDATE SET refcount = blobs.refcount + EXCLUDED.refcount", body.hash(), body.size(),
                (long) references, body.text() == null ? null : body.text().header(),
                body.text() == null ? null : body.text().body());
        bodies.put(c, body.hash(), body.bytes());
    }

    private void releaseBody(Connection c, String hash, long references) throws SQLException {
        long left = Pg.count(c, "UPDATE blobs SET refcount = refcount - ? WHERE hash = ? AND refcount > ? RETURNING refcount",
                references, hash, references);
        if (left == 0) {
            Pg.update(c, "DELETE FROM blobs WHERE hash = ?", hash);
            bodies.delete(c, hash);
        }
    }

    /** Checks the quota and counts the new messages against it, holding the account's row. */
    private static void chargeQuota(Connection c, long accountId, long bytes, long messages, boolean enforce)
            throws SQLException {
        record Usage(String address, Long limit, long usedBefore) {}
        Usage u = Pg.one(c, "UPDATE accounts SET used_bytes = used_bytes + ?, used_messages = used_messages + ? WHERE id = ?"
                + " RETURNING local_part || '@' || domain, quota_bytes, used_bytes - ?", rs -> {
                    long limit = rs.getLong(2);
                    Long l = rs.wasNull() ? null : limit;
                    return new Usage(rs.getString(1), l, rs.getLong(3));
                }, bytes, messages, accountId, bytes).orElseThrow(() -> DirectoryRules.noAccount(accountId));
        if (enforce && u.limit != null && u.usedBefore + bytes > u.limit) {
            throw MailboxRules.overQuota(u.address, u.usedBefore, u.limit, bytes);
        }
    }

    /**
     * A new mailbox; its UIDVALIDITY unique across every mailbox of the database and time-based, so
     * a store rebuilt from scratch does not hand a client a UIDVALIDITY it has cached
     * (RFC 9051 §2.3.1.1). The counter's row lock orders nodes creating mailboxes at once.
     */
    static long insertMailbox(Connection c, long accountId, String name, SpecialUse specialUse, Instant now)
            throws SQLException {
        long uidValidity = Pg.count(c, "UPDATE counters SET value = GREATEST(value + 1, ?) WHERE name = 'uid_validity'"
                + " RETURNING value", now.getEpochSecond());
        if (uidValidity > MAX_UID_VALIDITY) throw StoreException.invalid("no UIDVALIDITY values are left (RFC 9051 §2.3.1.1)");
        return Pg.count(c, "INSERT INTO mailboxes (account_id, name, uid_validity, special_use, created_at)"
                + " VALUES (?, ?, ?, ?, ?) RETURNING id", accountId, name, uidValidity,
                specialUse == null ? null : specialUse.name(), now);
    }

    /** A mailbox of an existing account, announced to the account's listeners (RFC 5465 MailboxName). */
    private static long createMailboxRow(PgTx tx, long accountId, String name, SpecialUse specialUse, Instant now)
            throws SQLException {
        long id = insertMailbox(tx.connection(), accountId, name, specialUse, now);
        tx.publish(new AccountEvent.MailboxCreated(accountId, id, name));
        return id;
    }

    /** RFC 9051 §6.3.4: creating a/b/c creates a and a/b when missing. */
    private static void createParents(PgTx tx, long accountId, String name, Instant now) throws SQLException {
        for (String parent : MailboxNames.parents(name)) {
            if (mailboxId(tx.connection(), accountId, parent).isEmpty()) createMailboxRow(tx, accountId, parent, null, now);
        }
    }

    private static void renameSubscription(PgTx tx, long accountId, String from, String to) throws SQLException {
        Connection c = tx.connection();
        if (Pg.update(c, "DELETE FROM subscriptions WHERE account_id = ? AND name = ?", accountId, from) > 0) {
            tx.publish(new AccountEvent.SubscriptionChanged(accountId, from, false));
            if (Pg.update(c, "INSERT INTO subscriptions (account_id, name) VALUES (?, ?) ON CONFLICT DO NOTHING", accountId,
                    to) > 0) {
                tx.publish(new AccountEvent.SubscriptionChanged(accountId, to, true));
            }
        }
    }

    // ------------------------------------------------------------------ lookups inside transactions

    /** A mailbox row as the write paths need it. */
    private record MailboxRow(long id, long accountId, String name, long uidValidity, long uidNext, long highestModSeq) {
        boolean isInbox() {
            return MailboxNames.INBOX.equals(name);
        }

        /** The row once one message was appended with {@code modSeq}. */
        MailboxRow afterAppend(long modSeq) {
            return new MailboxRow(id, accountId, name, uidValidity, uidNext + 1, modSeq);
        }
    }

    /**
     * Runs {@code write}, a data-modifying statement after the optional WITH queries {@code ctes},
     * and when {@code announce} also sends the transaction's events published so far to the other
     * nodes in the same statement, one round trip instead of two: a data-modifying WITH runs
     * whether or not the main statement reads it, and PostgreSQL delivers the notification only if
     * the transaction commits. Events too long for one notification, or published after, go by
     * {@link Notifier#beforeCommit} as before.
     */
    private void announcedWrite(PgTx tx, boolean announce, String ctes, String write, Object... args) throws SQLException {
        Optional<String> payload = announce ? notifier.payload(tx.unannounced()) : Optional.empty();
        if (payload.isEmpty()) {
            Pg.update(tx.connection(), (ctes.isEmpty() ? "" : "WITH " + ctes + " ") + write, args);
            return;
        }
        Object[] all = Arrays.copyOf(args, args.length + 2);
        all[args.length] = PgNotifications.CHANNEL;
        all[args.length + 1] = payload.get();
        Pg.one(tx.connection(), "WITH " + (ctes.isEmpty() ? "" : ctes + ", ") + "written AS (" + write + ")"
                + " SELECT pg_notify(?, ?)", rs -> Boolean.TRUE, all);
        tx.announcedAll();
    }

    private static MailboxRow requireMailbox(Connection c, long mailboxId) throws SQLException {
        return Pg.one(c, "SELECT " + MAILBOX_ROW + " FROM mailboxes WHERE id = ?", PgMailboxes::mailboxRow, mailboxId)
                .orElseThrow(() -> MailboxRules.noMailbox(mailboxId));
    }

    /**
     * The mailbox's row, held until the transaction ends: every write of its messages takes it
     * first, so writes of one mailbox from any node run one after the other.
     */
    private static MailboxRow lockMailbox(Connection c, long mailboxId) throws SQLException {
        return Pg.one(c, "SELECT " + MAILBOX_ROW + " FROM mailboxes WHERE id = ? FOR UPDATE", PgMailboxes::mailboxRow, mailboxId)
                .orElseThrow(() -> MailboxRules.noMailbox(mailboxId));
    }

    /** Locks several mailboxes in the order of their ids, so two writes cannot wait for each other. */
    private static Map<Long, MailboxRow> lockMailboxes(Connection c, Collection<Long> mailboxIds) throws SQLException {
        Map<Long, MailboxRow> locked = new TreeMap<>();
        for (long id : new TreeSet<>(mailboxIds)) locked.put(id, lockMailbox(c, id));
        return locked;
    }

    private static Optional<Long> mailboxId(Connection c, long accountId, String name) throws SQLException {
        return Pg.one(c, "SELECT id FROM mailboxes WHERE account_id = ? AND name = ?", rs -> rs.getLong(1), accountId, name);
    }

    private static Mailbox mailbox(Connection c, long mailboxId) throws SQLException {
        return Pg.one(c, MAILBOX_SELECT + " WHERE m.id = ?", PgMailboxes::mailbox, mailboxId).orElseThrow();
    }

    private static void requireAccount(Connection c, long accountId) throws SQLException {
        if (!Pg.exists(c, "SELECT 1 FROM accounts WHERE id = ?", accountId)) throw DirectoryRules.noAccount(accountId);
    }

    private static MailboxRow mailboxRow(ResultSet rs) throws SQLException {
        return new MailboxRow(rs.getLong(1), rs.getLong(2), rs.getString(3), rs.getLong(4), rs.getLong(5), rs.getLong(6));
    }

    private static Mailbox mailbox(ResultSet rs) throws SQLException {
        String use = rs.getString(5);
        return new Mailbox(rs.getLong(1), rs.getLong(2), rs.getString(3), rs.getLong(4),
                use == null ? Optional.empty() : Optional.of(SpecialUse.valueOf(use)), rs.getBoolean(6));
    }

    private static MessageMeta message(ResultSet rs) throws SQLException {
        return messageAfter(rs, 0);
    }

    /** A message of {@link #MESSAGE_COLUMNS} in the columns after the first {@code skip}. */
    private static MessageMeta messageAfter(ResultSet rs, int skip) throws SQLException {
        return new MessageMeta(rs.getLong(skip + 1), MailboxRules.storedFlags(rs.getString(skip + 2)),
                Pg.instant(rs, skip + 3).orElseThrow(), rs.getLong(skip + 4), rs.getLong(skip + 5), rs.getString(skip + 6));
    }

    private static Instant now() {
        return Instant.now().truncatedTo(ChronoUnit.MILLIS);
    }

    // ------------------------------------------------------------------ plumbing

    @FunctionalInterface
    private interface TxWork<T> {
        T run(PgTx tx) throws SQLException;
    }

    /**
     * One transaction. Other nodes are notified inside it; once it has committed its events go to
     * this node's listeners after the changes before them ({@link #publishInOrder}).
     */
    private <T> T write(String doing, TxWork<T> work) {
        PgTx[] tx = new PgTx[1];
        return Pg.transaction(pool, doing, c -> {
            tx[0] = new PgTx(c);
            return work.run(tx[0]);
        }, c -> {
            notifier.beforeCommit(tx[0]);
            try {
                c.commit();
            } catch (SQLException e) {
                listings.unknown(tx[0].events); // it may have committed all the same
                throw e;
            }
            listings.wrote(tx[0].writes);
            publishInOrder(tx[0].events);
        });
    }

    /** A write that adds, renames or removes mailboxes: the routes of this node learn the directory's new version. */
    private <T> T namingWrite(String doing, TxWork<T> work) {
        long[] version = new long[1];
        T result = write(doing, tx -> {
            T r = work.run(tx);
            version[0] = Pg.count(tx.connection(), "SELECT version FROM directory_version");
            return r;
        });
        directoryVersionSeen.accept(version[0]);
        return result;
    }

    // ------------------------------------------------------------------ the outbound queue's bodies

    /**
     * A body read for the outbound queue before its transaction ({@link PgQueue}): a queued
     * message references its body as a message does, so a body delivered and queued is stored once.
     */
    record QueuedBody(Body body) {
        String hash() {
            return body.hash();
        }

        long size() {
            return body.size();
        }
    }

    static QueuedBody queuedBody(InputStream content, String doing) {
        return new QueuedBody(body(content, doing));
    }

    void referenceQueued(Connection c, QueuedBody body) throws SQLException {
        referenceBody(c, body.body(), 1);
    }

    void releaseQueued(Connection c, String hash) throws SQLException {
        releaseBody(c, hash, 1);
    }

    Optional<InputStream> openQueued(Connection c, String hash) throws SQLException {
        return bodies.open(c, hash);
    }

    private <T> T read(String doing, Pg.Work<T> work) {
        return Pg.read(pool, doing, work);
    }

    private <T> T snapshot(String doing, Pg.Work<T> work) {
        return Pg.snapshot(pool, doing, work);
    }
}
