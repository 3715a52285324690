package org.castellan.store.postgres;

import java.io.InputStream;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.time.LocalDate;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import javax.sql.DataSource;
import org.castellan.protocol.smtp.Dsn;
import org.castellan.protocol.smtp.SmtpCommand;
import org.castellan.store.internal.QueueRules;
import org.castellan.store.internal.QueueRules.Due;
import org.castellan.store.postgres.internal.Pg;
import org.castellan.store.queue.AttemptResult;
import org.castellan.store.queue.DueMessage;
import org.castellan.store.queue.NewQueuedMessage;
import org.castellan.store.queue.NewQueuedRecipient;
import org.castellan.store.queue.OutboundQueue;
import org.castellan.store.queue.QueuedMessage;
import org.castellan.store.queue.QueuedRecipient;
import org.castellan.store.queue.RecipientState;
import org.castellan.store.queue.TlsSessionCount;

/**
 * The outbound queue of the PostgreSQL store: {@code queue_messages}, {@code queue_recipients}
 * and {@code tlsrpt_counts} (migration V4) behind {@link OutboundQueue}, with the embedded
 * store's behaviour (docs/store.md, "Outbound queue").
 *
 * <p>Several nodes' engines share the queue. {@link #lease} locks the due recipients it reads
 * ({@code FOR UPDATE SKIP LOCKED}) and sets their lease in the same transaction: a recipient
 * another engine is leasing at that moment is skipped, and one it has leased is no longer due, so
 * no recipient is handed out twice. {@link #record} changes only recipients still queued, so an
 * operator's delete or a second result leaves them as they are. A queued message holds one
 * reference to its body in {@code blobs}, like a mailbox message ({@link PgMailboxes}).
 *
 * <p>{@link #releaseLeases} ends only the leases this store took (each open store has an owner
 * token of its own): an engine starting on one node must not take back the recipients another
 * node's engine is attempting. The leases of a node that died end when their time passes.
 *
 * <p>Times are the callers' (the engine's clock), kept to the millisecond as the embedded store
 * keeps them; the store reads no clock. Every write returns once committed.
 */
final class PgQueue implements OutboundQueue {

    /**
     * Due recipients, oldest next attempt first (queue_recipients_due), locked as they are read;
     * rows another engine holds are skipped rather than waited for. Only the recipients' rows are
     * locked: an operator may hold or delete their message meanwhile.
     */
    private static final String DUE = "SELECT r.id, r.message_id, r.domain FROM queue_recipients r"
            + " JOIN queue_messages m ON m.id = r.message_id"
            + " WHERE r.state = 'QUEUED' AND r.next_attempt <= ? AND (r.lease_until IS NULL OR r.lease_until <= ?)"
            + " AND NOT m.held ORDER BY r.next_attempt, r.id LIMIT ? FOR UPDATE OF r SKIP LOCKED";
    /** A message is finished when no recipient is queued or waits for its final report. */
    private static final String UNFINISHED = "SELECT 1 FROM queue_recipients r WHERE r.message_id = m.id"
            + " AND (r.state = 'QUEUED' OR NOT r.final_reported)";
    /** As in the embedded store: a final report due, or a delay warning due for an old enough message. */
    private static final String NEEDING_NOTIFICATION = "SELECT id FROM queue_messages m WHERE EXISTS (SELECT 1"
            + " FROM queue_recipients r WHERE r.message_id = m.id AND (r.state <> 'QUEUED' AND NOT r.final_reported"
            + " OR r.state = 'QUEUED' AND NOT r.delay_reported AND m.arrival <= ?)) ORDER BY arrival, id LIMIT ?";

    private final DataSource pool;
    private final PgMailboxes bodies;
    /** Marks this store's leases, for {@link #releaseLeases}; random, so a restarted node never takes another's. */
    private final String owner = UUID.randomUUID().toString();

    PgQueue(DataSource pool, PgMailboxes bodies) {
        this.pool = pool;
        this.bodies = bodies;
    }

    @Override
    public QueuedMessage enqueue(NewQueuedMessage message, InputStream content) {
        QueueRules.requireAddresses(message);
        String doing = QueueRules.enqueueing(message);
        PgMailboxes.QueuedBody body = PgMailboxes.queuedBody(content, doing);
        return write(doing, c -> {
            bodies.referenceQueued(c, body); // before the row that references it
            Instant arrival = millis(message.arrival());
            long id = Pg.one(c, "INSERT INTO queue_messages (sender, envid, ret, body, smtp_utf8, require_tls, submitter,"
                    + " received_from, arrival, size, blob_hash, tls_report) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                    + " RETURNING id", rs -> rs.getLong(1), message.sender(), message.envid().orElse(null),
                    message.ret().name(), message.body().name(), message.smtpUtf8(), message.requireTls(),
                    message.submitter().orElse(null), message.receivedFrom(), arrival, body.size(), body.hash(),
                    message.tlsReport()).orElseThrow();
            for (NewQueuedRecipient r : message.recipients()) {
                Pg.update(c, "INSERT INTO queue_recipients (message_id, address, domain, notify, orcpt, state, next_attempt)"
                        + " VALUES (?, ?, ?, ?, ?, 'QUEUED', ?)", id, r.address(), r.domain(),
                        QueueRules.notifyText(r.notifyOn()), r.orcpt().orElse(null), arrival);
            }
            return message(c, id).orElseThrow();
        });
    }

    @Override
    public List<DueMessage> lease(Instant now, Instant leaseUntil, int maxRecipients) {
        QueueRules.requireLease(now, leaseUntil, maxRecipients);
        return write("lease due recipients", c -> {
            List<Due> due = Pg.list(c, DUE, rs -> new Due(rs.getLong(1), rs.getLong(2), rs.getString(3)), millis(now),
                    millis(now), maxRecipients);
            if (due.isEmpty()) return List.of();
            Pg.update(c, "UPDATE queue_recipients SET lease_until = ?, lease_owner = ? WHERE id = ANY (?)",
                    millis(leaseUntil), owner, ids(c, due.stream().map(Due::id).toList()));
            return QueueRules.group(due, id -> message(c, id).orElseThrow());
        });
    }

    @Override
    public int releaseLeases() {
        return write("release leases", c -> Pg.update(c, "UPDATE queue_recipients SET lease_until = NULL,"
                + " lease_owner = NULL WHERE lease_until IS NOT NULL AND lease_owner = ?", owner));
    }

    @Override
    public int renewLeases(Collection<Long> recipientIds, Instant leaseUntil) {
        if (recipientIds.isEmpty()) return 0;
        // Only this store's: a lease that lapsed and was taken by another node's engine stays theirs.
        return write("renew " + recipientIds.size() + " lease(s)", c -> Pg.update(c, "UPDATE queue_recipients"
                + " SET lease_until = ? WHERE id = ANY (?) AND state = 'QUEUED' AND lease_owner = ? AND lease_until IS NOT NULL",
                millis(leaseUntil), ids(c, recipientIds), owner));
    }

    @Override
    public void record(Collection<AttemptResult> results) {
        if (results.isEmpty()) return;
        write("record " + results.size() + " delivery attempt(s)", c -> {
            for (AttemptResult r : results) {
                Instant retryAt = r.state() == RecipientState.QUEUED ? millis(r.retryAt().orElseThrow()) : null;
                // A recipient no longer queued (deleted, bounced by the operator, recorded twice) keeps what it has.
                Pg.update(c, "UPDATE queue_recipients SET state = ?, attempts = attempts + 1, last_attempt = ?,"
                        + " last_reply = ?, last_host = ?, next_attempt = coalesce(?, next_attempt), lease_until = NULL,"
                        + " lease_owner = NULL"
                        + " WHERE id = ? AND state = 'QUEUED'", r.state().name(), millis(r.at()), r.reply(),
                        r.host().orElse(null), retryAt, r.recipientId());
            }
            return null;
        });
    }

    @Override
    public void markReported(Collection<Long> recipientIds, Report report) {
        if (recipientIds.isEmpty()) return;
        String sql = switch (report) {
            case FINAL -> "UPDATE queue_recipients SET final_reported = TRUE WHERE id = ANY (?)";
            case DELAY -> "UPDATE queue_recipients SET delay_reported = TRUE WHERE id = ANY (?)";
        };
        write("mark " + recipientIds.size() + " recipient(s) reported", c -> Pg.update(c, sql, ids(c, recipientIds)));
    }

    @Override
    public InputStream openContent(long messageId) {
        return read("open queued message " + messageId, c -> {
            String hash = Pg.one(c, "SELECT blob_hash FROM queue_messages WHERE id = ?", rs -> rs.getString(1), messageId)
                    .orElseThrow(() -> QueueRules.noMessage(messageId));
            // Deleted (and its body collected) between the lookup and the open.
            return bodies.openQueued(c, hash).orElseThrow(() -> QueueRules.removed(messageId));
        });
    }

    /**
     * The earliest time a queued recipient of a message not held becomes due: its next attempt,
     * or the end of its lease when that is later (GREATEST ignores a NULL lease). Read in the order
     * of that expression's index ({@code queue_recipients_next}, migration V6), stopping at the
     * first recipient whose message is not held: the scheduler asks before each sleep, and a
     * min() over the expression read the whole queue each time.
     */
    @Override
    public Optional<Instant> nextAttempt() {
        return read("find the next delivery attempt", c -> Pg.one(c, "SELECT greatest(r.next_attempt, r.lease_until)"
                + " FROM queue_recipients r WHERE r.state = 'QUEUED'"
                + " AND NOT (SELECT m.held FROM queue_messages m WHERE m.id = r.message_id)"
                + " ORDER BY greatest(r.next_attempt, r.lease_until), r.id LIMIT 1", rs -> Pg.instant(rs, 1)).flatMap(t -> t));
    }

    @Override
    public List<QueuedMessage> list(int limit) {
        QueueRules.requireLimit(limit, "listing");
        return read("list the queue", c -> messages(c, Pg.list(c, "SELECT id FROM queue_messages m WHERE EXISTS (SELECT 1"
                + " FROM queue_recipients r WHERE r.message_id = m.id AND NOT r.final_reported) ORDER BY arrival, id LIMIT ?",
                rs -> rs.getLong(1), limit)));
    }

    @Override
    public List<QueuedMessage> needingNotification(Instant delayCutoff, int limit) {
        QueueRules.requireLimit(limit, "search");
        return read("find queued messages needing a notification", c -> messages(c, Pg.list(c, NEEDING_NOTIFICATION,
                rs -> rs.getLong(1), millis(delayCutoff), limit)));
    }

    @Override
    public Optional<QueuedMessage> get(long messageId) {
        return read("read queued message " + messageId, c -> message(c, messageId));
    }

    @Override
    public boolean hold(long messageId) {
        return write("hold queued message " + messageId,
                c -> Pg.update(c, "UPDATE queue_messages SET held = TRUE WHERE id = ?", messageId) > 0);
    }

    @Override
    public boolean release(long messageId) {
        return write("release queued message " + messageId,
                c -> Pg.update(c, "UPDATE queue_messages SET held = FALSE WHERE id = ?", messageId) > 0);
    }

    /**
     * Makes the queued recipients due from the message's arrival on: due now under the engine's
     * clock, whatever it says, and first in line as the oldest. A recipient under a lease keeps it.
     */
    @Override
    public boolean retryNow(long messageId) {
        return write("retry queued message " + messageId, c -> {
            if (!Pg.exists(c, "SELECT 1 FROM queue_messages WHERE id = ?", messageId)) return false;
            Pg.update(c, "UPDATE queue_recipients r SET next_attempt = m.arrival FROM queue_messages m"
                    + " WHERE m.id = r.message_id AND r.message_id = ? AND r.state = 'QUEUED'", messageId);
            return true;
        });
    }

    @Override
    public boolean delete(long messageId) {
        return write("delete queued message " + messageId, c -> remove(c, messageId));
    }

    /** Two nodes purging at once each remove what the other has not: {@link #remove} deletes a row once. */
    @Override
    public int purgeFinished() {
        return write("purge finished queued messages", c -> {
            int removed = 0;
            for (long id : Pg.list(c, "SELECT id FROM queue_messages m WHERE NOT EXISTS (" + UNFINISHED + ")",
                    rs -> rs.getLong(1))) {
                if (remove(c, id)) removed++;
            }
            return removed;
        });
    }

    @Override
    public void countTlsSession(LocalDate day, String policyDomain, String policy, String result) {
        write("count a TLS session of " + policyDomain, c -> Pg.update(c,
                "INSERT INTO tlsrpt_counts (day, policy_domain, policy, result, sessions) VALUES (?::date, ?, ?, ?, 1)"
                        + " ON CONFLICT (day, policy_domain, policy, result)"
                        + " DO UPDATE SET sessions = tlsrpt_counts.sessions + 1",
                day.toString(), policyDomain, policy, result));
    }

    /** Ordered as the embedded store orders them: by code point ({@code COLLATE "C"}). */
    @Override
    public List<TlsSessionCount> tlsSessions() {
        return read("read the TLS session counts", c -> Pg.list(c, "SELECT " + QueueRules.TLS_COLUMNS + " FROM tlsrpt_counts"
                + " ORDER BY day, policy_domain COLLATE \"C\", policy COLLATE \"C\", result COLLATE \"C\"", PgQueue::tlsCount));
    }

    /** One DELETE ... RETURNING: of two nodes draining the same day at once, one gets the counts. */
    @Override
    public List<TlsSessionCount> drainTlsSessions(LocalDate day, String policyDomain) {
        return write("drain the TLS session counts of " + policyDomain + " on " + day, c -> {
            List<TlsSessionCount> counts = new ArrayList<>(Pg.list(c, "DELETE FROM tlsrpt_counts"
                    + " WHERE day = ?::date AND policy_domain = ? RETURNING " + QueueRules.TLS_COLUMNS, PgQueue::tlsCount,
                    day.toString(), policyDomain));
            counts.sort(Comparator.comparing(TlsSessionCount::policy).thenComparing(TlsSessionCount::result));
            return counts;
        });
    }

    private static TlsSessionCount tlsCount(ResultSet rs) throws SQLException {
        return new TlsSessionCount(rs.getObject(1, LocalDate.class), rs.getString(2), rs.getString(3), rs.getString(4),
                rs.getLong(5));
    }

    /** Removes a message, its recipients (ON DELETE CASCADE) and its reference to the body. */
    private boolean remove(Connection c, long messageId) throws SQLException {
        Optional<String> hash = Pg.one(c, "DELETE FROM queue_messages WHERE id = ? RETURNING blob_hash",
                rs -> rs.getString(1), messageId);
        if (hash.isEmpty()) return false;
        bodies.releaseQueued(c, hash.get());
        return true;
    }

    private static List<QueuedMessage> messages(Connection c, List<Long> ids) throws SQLException {
        List<QueuedMessage> out = new ArrayList<>();
        for (long id : ids) message(c, id).ifPresent(out::add);
        return out;
    }

    private static Optional<QueuedMessage> message(Connection c, long id) throws SQLException {
        List<QueuedRecipient> recipients = Pg.list(c, "SELECT " + QueueRules.RECIPIENT_COLUMNS + " FROM queue_recipients"
                + " WHERE message_id = ? ORDER BY id", PgQueue::recipient, id);
        return Pg.one(c, "SELECT " + QueueRules.MESSAGE_COLUMNS + " FROM queue_messages WHERE id = ?", rs -> new QueuedMessage(
                rs.getLong(1), rs.getString(2), Optional.ofNullable(rs.getString(3)), Dsn.Ret.valueOf(rs.getString(4)),
                SmtpCommand.Body.valueOf(rs.getString(5)), rs.getBoolean(6), rs.getBoolean(7),
                Optional.ofNullable(rs.getString(8)), rs.getString(9), Pg.instant(rs, 10).orElseThrow(), rs.getLong(11),
                rs.getBoolean(12), recipients, rs.getBoolean(13)), id);
    }

    private static QueuedRecipient recipient(ResultSet rs) throws SQLException {
        return new QueuedRecipient(rs.getLong(1), rs.getLong(2), rs.getString(3), rs.getString(4),
                QueueRules.notifySet(rs.getString(5)), Optional.ofNullable(rs.getString(6)),
                RecipientState.valueOf(rs.getString(7)), rs.getInt(8), Pg.instant(rs, 9).orElseThrow(), Pg.instant(rs, 10),
                Optional.ofNullable(rs.getString(11)), Optional.ofNullable(rs.getString(12)), rs.getBoolean(13),
                rs.getBoolean(14));
    }

    private static java.sql.Array ids(Connection c, Collection<Long> ids) throws SQLException {
        return c.createArrayOf("bigint", ids.toArray());
    }

    private static Instant millis(Instant t) {
        return t.truncatedTo(ChronoUnit.MILLIS);
    }

    private <T> T write(String doing, Pg.Work<T> work) {
        return Pg.transaction(pool, doing, work, Connection::commit);
    }

    private <T> T read(String doing, Pg.Work<T> work) {
        return Pg.read(pool, doing, work);
    }
}
