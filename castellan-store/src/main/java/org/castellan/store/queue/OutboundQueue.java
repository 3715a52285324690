package org.castellan.store.queue;

import java.io.InputStream;
import java.time.Instant;
import java.time.LocalDate;
import java.util.Collection;
import java.util.List;
import java.util.Optional;

/**
 * The outbound queue (docs/outbound.md §2). Every write returns only once it is durable, like
 * {@link org.castellan.store.Mailboxes#deliver}: a message is acknowledged to its submitter only
 * after {@link #enqueue} returned (docs/design.md §4), and an attempt's result is recorded before
 * the engine acts on it, so a crash repeats at most the attempt that was under way.
 *
 * <p>A recipient is {@link RecipientState#QUEUED} until it is delivered or failed. A queued
 * recipient is <i>due</i> when its next attempt time has come, its message is not held and no
 * engine holds a lease on it. A lease ends when its time passes, so recipients leased by an
 * engine that died become due again without anyone's intervention.
 *
 * <p>It also keeps the engine's TLS-RPT counts (RFC 8460 §4) until each day's report takes them,
 * durable like the rest, so that a restart loses none ({@link #countTlsSession}).
 */
public interface OutboundQueue {

    /** Stores the message's body once and its recipients, all {@code QUEUED} and due at once. */
    QueuedMessage enqueue(NewQueuedMessage message, InputStream content);

    /**
     * Leases up to {@code maxRecipients} due recipients until {@code leaseUntil}, oldest next
     * attempt first, and returns them with their messages. Recipients of one message and one
     * domain come together, so one session can serve them all.
     */
    List<DueMessage> lease(Instant now, Instant leaseUntil, int maxRecipients);

    /**
     * Ends every lease, making its recipients due again: for the engine as it starts, when no
     * attempt of this store's can be under way and a lease left is that of a process that died.
     * Returns how many leases ended.
     */
    int releaseLeases();

    /**
     * Extends to {@code leaseUntil} the leases this store holds on these recipients, for attempts
     * still under way, so a lease can be short (the wait before another engine takes over the
     * recipients of one that died) and a long attempt keep it. A recipient recorded meanwhile (its
     * lease ended) or leased by another store is left alone. Returns how many leases were extended.
     */
    int renewLeases(Collection<Long> recipientIds, Instant leaseUntil);

    /** Records attempts' results and releases their leases; all of them or none. */
    void record(Collection<AttemptResult> results);

    /**
     * Marks that a delivery status notification was made for these recipients (a bounce, a
     * success report, a delay warning), so that none is made twice.
     */
    void markReported(Collection<Long> recipientIds, Report report);

    /**
     * Messages that may need a delivery status notification (docs/outbound.md §4), oldest first,
     * at most {@code limit}: those with a recipient {@code DELIVERED} or {@code FAILED} whose final
     * report is not marked, or one still {@code QUEUED} without a delay warning marked while the
     * message arrived at or before {@code delayCutoff}. Whether a notification is due by the
     * recipient's NOTIFY and the message's sender is the caller's decision; it marks every
     * recipient it has dealt with through {@link #markReported}, so none comes back.
     */
    List<QueuedMessage> needingNotification(Instant delayCutoff, int limit);

    /** The message's content as it was enqueued. */
    InputStream openContent(long messageId);

    /** The earliest next attempt among due or leased recipients, for the engine's timer. */
    Optional<Instant> nextAttempt();

    /** Messages with at least one recipient not yet reported, oldest first. */
    List<QueuedMessage> list(int limit);

    Optional<QueuedMessage> get(long messageId);

    /** Held messages are not attempted until released. False when there is no such message. */
    boolean hold(long messageId);

    boolean release(long messageId);

    /** Makes every queued recipient of the message due now. */
    boolean retryNow(long messageId);

    /** Removes the message and its recipients without any notification. */
    boolean delete(long messageId);

    /**
     * Removes messages none of whose recipients is queued any more and every needed report has
     * been made; the body goes once nothing refers to it.
     */
    int purgeFinished();

    /**
     * Adds one session to the count of {@code day} (UTC), policy domain, policy and result;
     * durable when it returns.
     *
     * @param result empty for a success, else the failure's details
     */
    void countTlsSession(LocalDate day, String policyDomain, String policy, String result);

    /** Every count not yet drained, by day, then policy domain. */
    List<TlsSessionCount> tlsSessions();

    /**
     * Removes the counts of one policy domain's day and returns them, in one transaction: what
     * that day's report covers. A second drain of the same day and domain returns nothing.
     */
    List<TlsSessionCount> drainTlsSessions(LocalDate day, String policyDomain);

    /** Which notification {@link #markReported} records. */
    enum Report { FINAL, DELAY }
}
