package org.castellan.store.embedded.internal;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.NoSuchFileException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.function.BooleanSupplier;
import org.castellan.protocol.smtp.Dsn;
import org.castellan.protocol.smtp.SmtpCommand;
import org.castellan.store.StoreException;
import org.castellan.store.internal.QueueRules;
import org.castellan.store.internal.QueueRules.Due;
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
 * The outbound queue of the embedded store: the {@code queue_messages} and
 * {@code queue_recipients} tables (V18) behind {@link OutboundQueue}, and the TLS-RPT counts
 * ({@code tlsrpt_counts}, V19).
 *
 * <p>Writes, leases included, go through the store's one writer (group commit), so they are
 * durable when they return and never run at the same time: two engines leasing at once get
 * disjoint recipients. A queued message holds one reference to its body in {@code blobs}, like a
 * mailbox message, so the body stays while either needs it ({@link BlobRefs}).
 *
 * <p>Times are the callers' (the engine's clock), in milliseconds; the store reads no clock.
 */
public final class QueueTables implements OutboundQueue {

    /**
     * Due recipients, oldest next attempt first, through {@code queue_recipients_due}: the
     * recipients table drives the join (CROSS JOIN fixes SQLite's loop order), so the query reads
     * index entries in order and stops at the limit, however long the queue.
     */
    private static final String DUE = "SELECT r.id, r.message_id, r.domain FROM queue_recipients r"
            + " CROSS JOIN queue_messages m ON m.id = r.message_id"
            + " WHERE r.state = 'QUEUED' AND r.next_attempt <= ? AND (r.lease_until IS NULL OR r.lease_until <= ?)"
            + " AND m.held = 0 ORDER BY r.next_attempt, r.id LIMIT ?";
    /** Queued recipients of messages not held, by next attempt, for {@link #nextAttempt}. */
    private static final String WAITING = "SELECT r.next_attempt, r.lease_until FROM queue_recipients r"
            + " CROSS JOIN queue_messages m ON m.id = r.message_id"
            + " WHERE r.state = 'QUEUED' AND m.held = 0 ORDER BY r.next_attempt";
    /** A message is finished when no recipient is queued or waits for its final report. */
    private static final String UNFINISHED = "SELECT 1 FROM queue_recipients r WHERE r.message_id = m.id"
            + " AND (r.state = 'QUEUED' OR r.final_reported = 0)";

    /**
     * Messages with a recipient whose final report is due, or still queued without a delay
     * warning while the message is old enough, oldest first. Reads the messages in arrival order
     * (queue_messages_by_arrival), each one's recipients through queue_recipients_by_message, and
     * stops at the limit.
     */
    private static final String NEEDING_NOTIFICATION = "SELECT id FROM queue_messages m WHERE EXISTS (SELECT 1"
            + " FROM queue_recipients r WHERE r.message_id = m.id AND (r.state <> 'QUEUED' AND r.final_reported = 0"
            + " OR r.state = 'QUEUED' AND r.delay_reported = 0 AND m.arrival <= ?)) ORDER BY arrival, id LIMIT ?";

    private final GroupCommitWriter writer;
    private final ReadPool readers;
    private final BlobStore blobs;
    private final BooleanSupplier closed;

    public QueueTables(GroupCommitWriter writer, ReadPool readers, BlobStore blobs, BooleanSupplier closed) {
        this.writer = writer;
        this.readers = readers;
        this.blobs = blobs;
        this.closed = closed;
    }

    @Override
    public QueuedMessage enqueue(NewQueuedMessage message, InputStream content) {
        QueueRules.requireAddresses(message);
        String doing = QueueRules.enqueueing(message);
        BlobRefs.Incoming body;
        try {
            body = BlobRefs.take(blobs, content);
        } catch (IOException e) {
            throw SqlErrors.map(e, doing);
        }
        return writer.execute(doing, body.pins(), tx -> {
            Connection c = tx.connection();
            BlobRefs.reference(c, blobs, body, 1); // before the row that references it
            long arrival = message.arrival().toEpochMilli();
            Sql.update(c, "INSERT INTO queue_messages (sender, envid, ret, body, smtp_utf8, require_tls, submitter,"
                    + " received_from, arrival, size, blob_hash, tls_report) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    message.sender(), message.envid().orElse(null), message.ret().name(), message.body().name(),
                    message.smtpUtf8(), message.requireTls(), message.submitter().orElse(null), message.receivedFrom(),
                    arrival, body.size(), body.id(), message.tlsReport());
            long id = Sql.lastId(c);
            for (NewQueuedRecipient r : message.recipients()) {
                Sql.update(c, "INSERT INTO queue_recipients (message_id, address, domain, notify, orcpt, state, next_attempt)"
                        + " VALUES (?, ?, ?, ?, ?, 'QUEUED', ?)", id, r.address(), r.domain(), QueueRules.notifyText(r.notifyOn()),
                        r.orcpt().orElse(null), arrival);
            }
            return message(c, id).orElseThrow();
        });
    }

    @Override
    public List<DueMessage> lease(Instant now, Instant leaseUntil, int maxRecipients) {
        QueueRules.requireLease(now, leaseUntil, maxRecipients);
        return writer.execute("lease due recipients", List.of(), tx -> {
            Connection c = tx.connection();
            List<Due> due = Sql.list(c, DUE, rs -> new Due(rs.getLong(1), rs.getLong(2), rs.getString(3)),
                    now.toEpochMilli(), now.toEpochMilli(), maxRecipients);
            for (Due d : due) {
                Sql.update(c, "UPDATE queue_recipients SET lease_until = ? WHERE id = ?", leaseUntil.toEpochMilli(), d.id());
            }
            return QueueRules.group(due, id -> message(c, id).orElseThrow());
        });
    }

    @Override
    public int releaseLeases() {
        return writer.execute("release leases", List.of(), tx -> Sql.update(tx.connection(),
                "UPDATE queue_recipients SET lease_until = NULL WHERE lease_until IS NOT NULL"));
    }

    @Override
    public int renewLeases(Collection<Long> recipientIds, Instant leaseUntil) {
        if (recipientIds.isEmpty()) return 0;
        // One engine serves a data directory, so every lease is its own.
        return writer.execute("renew " + recipientIds.size() + " lease(s)", List.of(), tx -> {
            int renewed = 0;
            for (long id : recipientIds) {
                renewed += Sql.update(tx.connection(), "UPDATE queue_recipients SET lease_until = ? WHERE id = ?"
                        + " AND state = 'QUEUED' AND lease_until IS NOT NULL", leaseUntil.toEpochMilli(), id);
            }
            return renewed;
        });
    }

    @Override
    public void record(Collection<AttemptResult> results) {
        if (results.isEmpty()) return;
        writer.execute("record " + results.size() + " delivery attempt(s)", List.of(), tx -> {
            for (AttemptResult r : results) {
                Long retryAt = r.state() == RecipientState.QUEUED ? r.retryAt().orElseThrow().toEpochMilli() : null;
                // A recipient no longer queued (deleted, bounced by the operator, recorded twice) keeps what it has.
                Sql.update(tx.connection(), "UPDATE queue_recipients SET state = ?, attempts = attempts + 1,"
                        + " last_attempt = ?, last_reply = ?, last_host = ?, next_attempt = coalesce(?, next_attempt),"
                        + " lease_until = NULL WHERE id = ? AND state = 'QUEUED'", r.state().name(), r.at().toEpochMilli(),
                        r.reply(), r.host().orElse(null), retryAt, r.recipientId());
            }
            return null;
        });
    }

    @Override
    public void markReported(Collection<Long> recipientIds, Report report) {
        if (recipientIds.isEmpty()) return;
        String sql = switch (report) {
            case FINAL -> "UPDATE queue_recipients SET final_reported = 1 WHERE id = ?";
            case DELAY -> "UPDATE queue_recipients SET delay_reported = 1 WHERE id = ?";
        };
        writer.execute("mark " + recipientIds.size() + " recipient(s) reported", List.of(), tx -> {
            for (long id : recipientIds) Sql.update(tx.connection(), sql, id);
            return null;
        });
    }

    @Override
    public InputStream openContent(long messageId) {
        String doing = "open queued message " + messageId;
        String blobId = read(doing, c -> Sql.one(c, "SELECT blob_hash FROM queue_messages WHERE id = ?", rs -> rs.getString(1),
                messageId)).orElseThrow(() -> QueueRules.noMessage(messageId));
        try {
            return BlobRefs.open(readers, blobs, blobId, doing);
        } catch (NoSuchFileException e) {
            // Deleted (and its body collected) between the lookup and the open.
            throw QueueRules.removed(messageId);
        } catch (IOException e) {
            throw SqlErrors.map(e, doing);
        }
    }

    /**
     * The earliest time a queued recipient of a message not held becomes due: its next attempt,
     * or the end of its lease when that is later. Reads the due index in order and stops as soon
     * as no later row can be earlier, so a long queue costs the leased rows at its head, not all.
     */
    @Override
    public Optional<Instant> nextAttempt() {
        return read("find the next delivery attempt", c -> {
            long best = Long.MAX_VALUE;
            try (PreparedStatement st = c.prepareStatement(WAITING); ResultSet rs = st.executeQuery()) {
                while (rs.next()) {
                    long next = rs.getLong(1);
                    if (next >= best) break;
                    long lease = rs.getLong(2); // 0 when NULL
                    best = Math.max(next, lease);
                }
            }
            return best == Long.MAX_VALUE ? Optional.<Instant>empty() : Optional.of(Instant.ofEpochMilli(best));
        });
    }

    @Override
    public List<QueuedMessage> list(int limit) {
        QueueRules.requireLimit(limit, "listing");
        return read("list the queue", c -> {
            List<Long> ids = Sql.list(c, "SELECT id FROM queue_messages m WHERE EXISTS (SELECT 1 FROM queue_recipients r"
                    + " WHERE r.message_id = m.id AND r.final_reported = 0) ORDER BY arrival, id LIMIT ?",
                    rs -> rs.getLong(1), limit);
            List<QueuedMessage> out = new ArrayList<>();
            for (long id : ids) out.add(message(c, id).orElseThrow());
            return out;
        });
    }

    @Override
    public List<QueuedMessage> needingNotification(Instant delayCutoff, int limit) {
        QueueRules.requireLimit(limit, "search");
        return read("find queued messages needing a notification", c -> {
            List<Long> ids = Sql.list(c, NEEDING_NOTIFICATION, rs -> rs.getLong(1), delayCutoff.toEpochMilli(), limit);
            List<QueuedMessage> out = new ArrayList<>();
            for (long id : ids) out.add(message(c, id).orElseThrow());
            return out;
        });
    }

    @Override
    public Optional<QueuedMessage> get(long messageId) {
        return read("read queued message " + messageId, c -> message(c, messageId));
    }

    @Override
    public boolean hold(long messageId) {
        return changeMessage("hold queued message " + messageId, "UPDATE queue_messages SET held = 1 WHERE id = ?", messageId);
    }

    @Override
    public boolean release(long messageId) {
        return changeMessage("release queued message " + messageId, "UPDATE queue_messages SET held = 0 WHERE id = ?",
                messageId);
    }

    /**
     * Makes the queued recipients due from the message's arrival on: due now under the engine's
     * clock, whatever it says (the store reads none), and first in line as the oldest. A recipient
     * under a lease keeps it: an attempt is under way.
     */
    @Override
    public boolean retryNow(long messageId) {
        return writer.execute("retry queued message " + messageId, List.of(), tx -> {
            Connection c = tx.connection();
            Optional<Long> arrival = Sql.one(c, "SELECT arrival FROM queue_messages WHERE id = ?", rs -> rs.getLong(1), messageId);
            if (arrival.isEmpty()) return false;
            Sql.update(c, "UPDATE queue_recipients SET next_attempt = ? WHERE message_id = ? AND state = 'QUEUED'",
                    arrival.get(), messageId);
            return true;
        });
    }

    @Override
    public boolean delete(long messageId) {
        return writer.execute("delete queued message " + messageId, List.of(), tx -> remove(tx, messageId));
    }

    @Override
    public int purgeFinished() {
        return writer.execute("purge finished queued messages", List.of(), tx -> {
            List<Long> finished = Sql.list(tx.connection(), "SELECT id FROM queue_messages m WHERE NOT EXISTS (" + UNFINISHED
                    + ")", rs -> rs.getLong(1));
            for (long id : finished) remove(tx, id);
            return finished.size();
        });
    }

    @Override
    public void countTlsSession(LocalDate day, String policyDomain, String policy, String result) {
        writer.execute("count a TLS session of " + policyDomain, List.of(), tx -> Sql.update(tx.connection(),
                "INSERT INTO tlsrpt_counts (day, policy_domain, policy, result, sessions) VALUES (?, ?, ?, ?, 1)"
                        + " ON CONFLICT (day, policy_domain, policy, result) DO UPDATE SET sessions = sessions + 1",
                day.toString(), policyDomain, policy, result));
    }

    @Override
    public List<TlsSessionCount> tlsSessions() {
        return read("read the TLS session counts", c -> Sql.list(c, "SELECT " + QueueRules.TLS_COLUMNS + " FROM tlsrpt_counts"
                + " ORDER BY day, policy_domain, policy, result", QueueTables::tlsCount));
    }

    @Override
    public List<TlsSessionCount> drainTlsSessions(LocalDate day, String policyDomain) {
        return writer.execute("drain the TLS session counts of " + policyDomain + " on " + day, List.of(), tx -> {
            Connection c = tx.connection();
            List<TlsSessionCount> counts = Sql.list(c, "SELECT " + QueueRules.TLS_COLUMNS + " FROM tlsrpt_counts"
                    + " WHERE day = ? AND policy_domain = ? ORDER BY policy, result", QueueTables::tlsCount, day.toString(),
                    policyDomain);
            Sql.update(c, "DELETE FROM tlsrpt_counts WHERE day = ? AND policy_domain = ?", day.toString(), policyDomain);
            return counts;
        });
    }

    private static TlsSessionCount tlsCount(ResultSet rs) throws SQLException {
        return new TlsSessionCount(LocalDate.parse(rs.getString(1)), rs.getString(2), rs.getString(3), rs.getString(4),
                rs.getLong(5));
    }

    /** Removes a message, its recipients and its reference to the body. */
    private static boolean remove(Tx tx, long messageId) throws SQLException {
        Connection c = tx.connection();
        Optional<String> blob = Sql.one(c, "SELECT blob_hash FROM queue_messages WHERE id = ?", rs -> rs.getString(1), messageId);
        if (blob.isEmpty()) return false;
        Sql.update(c, "DELETE FROM queue_recipients WHERE message_id = ?", messageId);
        Sql.update(c, "DELETE FROM queue_messages WHERE id = ?", messageId);
        BlobRefs.release(tx, blob.get(), 1);
        return true;
    }

    private boolean changeMessage(String doing, String sql, long messageId) {
        return writer.execute(doing, List.of(), tx -> Sql.update(tx.connection(), sql, messageId) > 0);
    }

    private <T> T read(String doing, ReadPool.Read<T> read) {
        if (closed.getAsBoolean()) throw StoreException.unavailable("cannot " + doing + ": the mail store is closed", null);
        return readers.read(doing, read);
    }

    private static Optional<QueuedMessage> message(Connection c, long id) throws SQLException {
        List<QueuedRecipient> recipients = Sql.list(c, "SELECT " + QueueRules.RECIPIENT_COLUMNS + " FROM queue_recipients"
                + " WHERE message_id = ? ORDER BY id", QueueTables::recipient, id);
        return Sql.one(c, "SELECT " + QueueRules.MESSAGE_COLUMNS + " FROM queue_messages WHERE id = ?", rs -> new QueuedMessage(
                rs.getLong(1), rs.getString(2), Optional.ofNullable(rs.getString(3)), Dsn.Ret.valueOf(rs.getString(4)),
                SmtpCommand.Body.valueOf(rs.getString(5)), rs.getInt(6) != 0, rs.getInt(7) != 0,
                Optional.ofNullable(rs.getString(8)), rs.getString(9), Instant.ofEpochMilli(rs.getLong(10)), rs.getLong(11),
                rs.getInt(12) != 0, recipients, rs.getInt(13) != 0), id);
    }

    private static QueuedRecipient recipient(ResultSet rs) throws SQLException {
        long lastAttempt = rs.getLong(10);
        Optional<Instant> last = rs.wasNull() ? Optional.empty() : Optional.of(Instant.ofEpochMilli(lastAttempt));
        return new QueuedRecipient(rs.getLong(1), rs.getLong(2), rs.getString(3), rs.getString(4), QueueRules.notifySet(rs.getString(5)),
                Optional.ofNullable(rs.getString(6)), RecipientState.valueOf(rs.getString(7)), rs.getInt(8),
                Instant.ofEpochMilli(rs.getLong(9)), last, Optional.ofNullable(rs.getString(11)),
                Optional.ofNullable(rs.getString(12)), rs.getInt(13) != 0, rs.getInt(14) != 0);
    }
}
