package org.castellan.server.smtp;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.SequenceInputStream;
import java.io.UncheckedIOException;
import java.time.Instant;
import java.time.ZonedDateTime;
import java.util.EnumSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.castellan.protocol.mail.EmailAddress;
import org.castellan.protocol.smtp.Dsn;
import org.castellan.protocol.smtp.FromHeader;
import org.castellan.protocol.smtp.Mailbox;
import org.castellan.protocol.smtp.SmtpError;
import org.castellan.security.mailauth.DkimSigner;
import org.castellan.server.outbound.OutboundEngine;
import org.castellan.server.transport.MessageSpool;
import org.castellan.store.Directory;
import org.castellan.store.Mailboxes;
import org.castellan.store.StoreException;
import org.castellan.store.queue.NewQueuedMessage;
import org.castellan.store.queue.NewQueuedRecipient;
import org.castellan.store.queue.QueuedMessage;

/**
 * The end of a message: final checks, then one {@link Mailboxes#deliver} into every recipient's
 * INBOX (one body, one transaction, all or nothing). The 250 is written only after deliver
 * returned, i.e. once the message is durable (docs/design.md §4).
 *
 * <p>Quotas are checked again with the real size: if a recipient has no room now, the whole
 * message gets 452 4.2.2 (nothing was delivered, the client retries later) rather than a 250 for
 * some recipients and a bounce for others.
 *
 * <p>Remote recipients (authenticated submission) are enqueued for the outbound engine
 * (docs/outbound.md §2) before the local ones are delivered; the one 250 covers both. If the
 * enqueue fails nothing is acknowledged; if the local delivery fails after it, the queued copy is
 * deleted again before the 4xx, so that the client's retry does not send it twice.
 */
final class Delivery {

    private Delivery() {}

    sealed interface Outcome {
    }

    /** @param queued the outbound queue's id of the message, when it had remote recipients */
    record Delivered(int recipients, Optional<Long> queued) implements Outcome {
    }

    /** What enqueueing needs besides the transaction: the engine, the submitter, where from and when. */
    record Queueing(OutboundEngine engine, Optional<String> submitter, String receivedFrom, Instant arrival) {
    }

    record Refused(SmtpError error) implements Outcome {
    }

    static byte[] receivedField(SmtpSession s) {
        Transaction t = s.transaction();
        Optional<String> single = t.recipientCount() != 1 ? Optional.empty()
                : Optional.of((t.recipients.isEmpty() ? t.remote.get(0).address() : t.recipients.get(0).address()).toString());
        return ReceivedHeader.render(s.service().hostname(), s.helo(), s.esmtp(), t.smtpUtf8, s.connection(), single,
                ZonedDateTime.now(s.service().clock()));
    }

    static void deliver(SmtpSession s) {
        if (!s.submission() && s.service().relayQueue().isPresent()) {
            EdgeQueueing.queue(s, s.service().relayQueue().get()); // an edge's MX: docs/roles.md §3
            return;
        }
        Transaction t = s.transaction();
        MessageSpool spool = s.takeSpool();
        Mailboxes store = s.service().store();
        Directory directory = s.service().directory();
        Optional<String> account = s.submission() ? s.connection().account() : Optional.empty();
        String id = s.connection().logId();
        Optional<OutboundEngine> outbound = s.service().outbound();
        Queueing queueing = t.remote.isEmpty() || outbound.isEmpty() ? null
                : new Queueing(outbound.get(), account, s.connection().remote().toString() + " " + id,
                        s.service().clock().instant());
        // On MX listeners only: SPF, DKIM and DMARC, run with the store call below, off the event loop.
        Optional<InboundChecks> checks = s.submission() ? Optional.empty() : s.service().inboundChecks();
        InboundChecks.Envelope envelope = InboundChecks.Envelope.of(s);
        s.blocking(() -> {
            try (spool) {
                return store(store, directory, t, spool, account, checks, envelope, queueing);
            }
        }, outcome -> {
            switch (outcome) {
                case Delivered d -> {
                    SmtpSession.log().info("{} delivered {} octets to {} recipient(s){}", id, spool.size(), d.recipients(),
                            d.queued().map(q -> ", queued as " + q + " for " + t.remote.size() + " remote").orElse(""));
                    if (queueing != null) queueing.engine().wake();
                    s.resetTransaction();
                    s.reply(d.queued().isPresent() ? "250 2.0.0 Ok: queued as " + d.queued().get() : "250 2.0.0 Ok: delivered");
                }
                case Refused r -> s.finishRefused(r.error());
            }
        });
    }

    /**
     * The longest address a refusal repeats (RFC 5321 §4.5.3.1.3's path limit); a longer one is
     * cut, so a reply line stays within RFC 5321 §4.5.3.1.5's 512 octets.
     */
    private static final int MAX_SHOWN = 256;

    /**
     * Submission (RFC 6409 §8): every address the originator fields claim — the mailboxes of From,
     * Sender, Resent-From and Resent-Sender, and any address their display names show — must be
     * the account's own or one of its aliases; a field that is not RFC 5322 is refused rather
     * than guessed at, and so are fields a reader could show differently from what was checked
     * (a second From, several authors without a Sender, a header section longer than the part
     * of the message held in memory). Null when the message may go.
     */
    private static SmtpError originatorProblem(Directory directory, Transaction t, MessageSpool spool, String account) {
        return switch (FromHeader.originators(spool.head(), spool.headLength(), spool.headLength() == spool.size())) {
            case FromHeader.Originators.Malformed m ->
                    new SmtpError(550, "5.6.0", m.field() + ": field is not a valid address list (RFC 5322 3.4)");
            case FromHeader.Originators.HeaderTooLong h ->
                    new SmtpError(552, "5.3.4", "Header section longer than " + h.limit() + " octets");
            case FromHeader.Originators.Claims c when c.fromAddresses() == 0 ->
                    new SmtpError(550, "5.6.0", "Message has no From: field");
            case FromHeader.Originators.Claims c -> {
                for (FromHeader.Claim claim : c.claims()) {
                    if (!owned(directory, t, claim.address(), account)) {
                        String shown = ReceivedHeader.printable(claim.address().length() > MAX_SHOWN
                                ? claim.address().substring(0, MAX_SHOWN) + "..." : claim.address());
                        yield new SmtpError(550, "5.7.1", claim.field() + ": " + (claim.inDisplayName()
                                ? "display name shows <" + shown + ">, which is not yours" : "address <" + shown + "> is not yours"));
                    }
                }
                yield c.misuse().map(m -> new SmtpError(550, "5.6.0", m)).orElse(null);
            }
        };
    }

    private static boolean owned(Directory directory, Transaction t, String address, String account) {
        int at = address.lastIndexOf('@');
        if (at <= 0) return false;
        Mailbox mailbox = new Mailbox(address.substring(0, at), address.substring(at + 1));
        // MAIL has just checked the envelope sender; the usual From: is the same address.
        if (t.verifiedSenderKey != null && mailbox.address().map(EmailAddress::key).orElse("").equals(t.verifiedSenderKey)) {
            return true;
        }
        return Mail.belongsTo(directory, mailbox, account);
    }

    private static Outcome store(Mailboxes store, Directory directory, Transaction t, MessageSpool spool,
                                 Optional<String> account, Optional<InboundChecks> checks, InboundChecks.Envelope envelope,
                                 Queueing queueing) {
        if (account.isPresent()) {
            SmtpError refused = originatorProblem(directory, t, spool, account.get());
            if (refused != null) return new Refused(refused);
        }
        for (Transaction.Recipient r : t.recipients) {
            if (!r.quotaLimited()) continue; // a quota set since RCPT is still enforced by the store: 452 below
            SmtpError quota = Rcpt.quotaProblem(store.quota(r.accountId()), spool.size());
            if (quota != null) return new Refused(quota.code() == 552 && t.recipients.size() == 1 ? quota
                    : new SmtpError(452, "4.2.2", "A recipient's mailbox is full; nothing was delivered"));
        }
        if (!t.remote.isEmpty() && queueing == null) {
            return new Refused(new SmtpError(451, "4.3.0", "Delivery to other domains is not available; nothing was delivered"));
        }
        InboundChecks.Plan plan = checks.map(c -> c.check(envelope, t, spool, store)).orElseGet(() -> InboundChecks.Plan.asReceived(t));
        if (plan.refusal() != null) return new Refused(plan.refusal());
        Optional<QueuedMessage> queued = Optional.empty();
        if (queueing != null) {
            try (InputStream content = signed(queueing.engine(), t, spool)) {
                queued = Optional.of(queueing.engine().queue().enqueue(queuedMessage(t, queueing), content));
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read the spooled message: " + e.getMessage(), e);
            }
        }
        if (!plan.mailboxIds().isEmpty()) {
            try (InputStream content = plan.open(spool)) {
                store.deliver(plan.mailboxIds(), content, Set.of(), null);
            } catch (IOException e) {
                unqueue(queueing, queued);
                throw new UncheckedIOException("cannot read the spooled message: " + e.getMessage(), e);
            } catch (StoreException e) {
                unqueue(queueing, queued);
                if (e.kind() == StoreException.Kind.QUOTA_EXCEEDED) {
                    return new Refused(new SmtpError(452, "4.2.2", "A recipient's mailbox is full; nothing was delivered"));
                }
                throw e;
            }
        }
        return new Delivered(t.recipientCount(), queued.map(QueuedMessage::id));
    }

    /** All or nothing: the 4xx that follows makes the client send again, so the queued copy must go. */
    /**
     * The message as it leaves: with DKIM-Signature fields in front (RFC 6376 §5) when the
     * envelope sender's domain has keys, so that its From, which submission holds to the same
     * account, aligns for DMARC (RFC 7489 §3.1.1). The body is read twice, never held in memory.
     */
    private static InputStream signed(OutboundEngine engine, Transaction t, MessageSpool spool) throws IOException {
        Optional<DkimSigner> signer = t.from.flatMap(f -> engine.signer(f.domain()));
        if (signer.isEmpty()) return spool.open();
        byte[] fields;
        try (InputStream content = spool.open()) {
            fields = signer.get().sign(content, Instant.now());
        }
        return new SequenceInputStream(new ByteArrayInputStream(fields), spool.open());
    }

    private static void unqueue(Queueing queueing, Optional<QueuedMessage> queued) {
        queued.ifPresent(q -> queueing.engine().queue().delete(q.id()));
    }

    /**
     * The envelope as the queue keeps it, with the RFC 3461 parameters: a recipient without
     * NOTIFY is notified of failure and delay (§4.1's default), RET and ENVID as given.
     */
    private static NewQueuedMessage queuedMessage(Transaction t, Queueing q) {
        List<NewQueuedRecipient> recipients = t.remote.stream()
                .map(r -> new NewQueuedRecipient(r.address().localPart() + "@" + OutboundEngine.routingDomain(r.address().domain()),
                        r.notifyOn().orElse(EnumSet.of(Dsn.Notify.FAILURE, Dsn.Notify.DELAY)), r.orcpt()))
                .toList();
        return new NewQueuedMessage(t.from.map(Mailbox::toString).orElse(""), t.envid, t.ret, t.body,
                t.smtpUtf8, t.requireTls, q.submitter(), q.receivedFrom(), q.arrival(), recipients);
    }
}
