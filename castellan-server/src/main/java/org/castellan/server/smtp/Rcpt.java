package org.castellan.server.smtp;

import java.util.Optional;
import java.util.OptionalLong;
import org.castellan.protocol.mail.EmailAddress;
import org.castellan.protocol.smtp.Mailbox;
import org.castellan.protocol.smtp.SmtpCommand;
import org.castellan.protocol.smtp.SmtpError;
import org.castellan.server.outbound.OutboundEngine;
import org.castellan.store.Directory;
import org.castellan.store.Mailboxes;
import org.castellan.store.Quota;
import org.castellan.store.Route;
import org.castellan.store.StoreException;

/**
 * RCPT (RFC 5321 §4.1.1.3). Every check that can refuse a recipient happens here, during the
 * transaction, so that Castellan never accepts mail it would have to bounce later: the domain
 * must be local (no relaying, §3.6.2), aliases are followed to an account, the account must exist
 * (550 5.1.1) and have room for the declared size (452 4.2.2, or 552 5.2.2 when it can never fit).
 *
 * <p>Only an authenticated submission session may name a recipient in another domain (RFC 6409,
 * docs/outbound.md §1), and only when outbound delivery runs; its domain must not have a null MX
 * (556 5.1.10, RFC 7505 §3) nor be missing from DNS (550 5.1.2). An MX listener refuses every
 * remote recipient, whoever the client claims to be.
 */
final class Rcpt {

    private Rcpt() {}

    /** What the store said about one recipient. */
    sealed interface Verdict {
    }

    record Accepted(long accountId, long mailboxId, boolean quotaLimited) implements Verdict {
    }

    record Refused(SmtpError error) implements Verdict {
    }

    /** A recipient in another domain, for the outbound queue. */
    record Remote() implements Verdict {
    }

    static void run(SmtpSession s, SmtpCommand.Rcpt c) {
        Transaction t = s.transaction();
        if (t.recipientCount() >= s.service().limits().maxRecipients()) {
            s.error(new SmtpError(452, "4.5.3", "Too many recipients")); // RFC 5321 §4.5.3.1.10
            return;
        }
        boolean mayLeave = s.submission() && s.connection().account().isPresent();
        Directory directory = s.service().directory();
        // A route the store already knows, to an account without a quota, needs no lookup: the
        // answer comes at once, without leaving the event loop.
        Optional<Route> known = c.to().address().flatMap(directory::knownRoute);
        if (known.isPresent() && known.get().quotaBytes().isEmpty()) {
            answer(s, t, c, new Accepted(known.get().accountId(), known.get().inboxId(), false));
            return;
        }
        Optional<OutboundEngine> outbound = mayLeave ? s.service().outbound() : Optional.empty();
        // An edge reads the directory only: the quota is the mailbox node's, checked when it delivers.
        Mailboxes quotas = s.service().relayQueue().isPresent() ? null : s.service().store();
        s.blocking(() -> check(directory, quotas, c.to(), t.declaredSize, outbound, mayLeave),
                verdict -> answer(s, t, c, verdict));
    }

    private static void answer(SmtpSession s, Transaction t, SmtpCommand.Rcpt c, Verdict verdict) {
        switch (verdict) {
            case Accepted a -> {
                t.add(new Transaction.Recipient(c.to(), a.accountId(), a.mailboxId(), a.quotaLimited(),
                        c.notifyOn(), c.orcpt()));
                s.state(SmtpState.RCPT);
                s.reply("250 2.1.5 Ok");
            }
            case Remote r -> {
                t.addRemote(new Transaction.RemoteRecipient(c.to(), c.notifyOn(), c.orcpt()));
                s.state(SmtpState.RCPT);
                s.reply("250 2.1.5 Ok");
            }
            case Refused r when r.error().status().equals(NO_SUCH_USER) && !s.submission() -> s.unknownRecipient(r.error());
            case Refused r -> s.error(r.error());
        }
    }

    /** RFC 3463 §3.2: bad destination mailbox address, the answer a harvester is looking for. */
    private static final String NO_SUCH_USER = "5.1.1";

    static Verdict check(Directory directory, Mailboxes store, Mailbox to, OptionalLong declaredSize,
                         boolean authenticatedSubmission) {
        return check(directory, store, to, declaredSize, Optional.empty(), authenticatedSubmission);
    }

    /**
     * @param store the quotas to check; null on an edge, whose node checks them
     * @param outbound the delivery engine, for an authenticated submission session when it runs
     */
    static Verdict check(Directory directory, Mailboxes store, Mailbox to, OptionalLong declaredSize,
                         Optional<OutboundEngine> outbound, boolean authenticatedSubmission) {
        // A literal ([192.0.2.1]) is never one of our domains: we do not guess which host we are.
        boolean literal = to.domain().startsWith("[");
        boolean localDomain = !literal && directory.getDomain(to.domainLowerCase()).isPresent();
        if (!localDomain) {
            if (!authenticatedSubmission) {
                // RFC 5321 §3.6.2: an MX is no open relay, whatever the client's address or PROXY header says.
                return new Refused(new SmtpError(550, "5.7.1", "Relaying denied: " + to.domainLowerCase()
                        + " is not a local domain"));
            }
            if (outbound.isEmpty()) return new Refused(new SmtpError(550, "5.7.1", "Delivery to other domains is not available"));
            if (literal) {
                // RFC 5321 §4.1.3 allows them, but a literal skips MX routing and any TLS policy a domain has;
                // a submitting user has a domain to write instead.
                return new Refused(new SmtpError(550, "5.7.1", "Delivery to address literals is not offered; use a domain"));
            }
            Optional<SmtpError> refusal = outbound.get().refusal(OutboundEngine.routingDomain(to.domain()));
            return refusal.<Verdict>map(Refused::new).orElseGet(Remote::new);
        }
        Optional<EmailAddress> address = to.address();
        if (address.isEmpty()) return new Refused(new SmtpError(550, "5.1.1", "No such user"));
        Optional<Route> route;
        try {
            route = directory.route(address.get());
        } catch (StoreException e) {
            if (e.isTemporary()) throw e;
            return new Refused(new SmtpError(550, "5.4.6", "Alias loop")); // RFC 3463 §3.5
        }
        if (route.isEmpty()) return new Refused(new SmtpError(550, "5.1.1", "No such user"));
        Route r = route.get();
        if (r.quotaBytes().isPresent() && store != null) {
            SmtpError quota = quotaProblem(store.quota(r.accountId()), declaredSize.orElse(0));
            if (quota != null) return new Refused(quota);
        }
        return new Accepted(r.accountId(), r.inboxId(), r.quotaBytes().isPresent());
    }

    /** RFC 3463 §3.3: 4.2.2 mailbox full (may clear), 5.2.2 when the message can never fit. */
    static SmtpError quotaProblem(Quota q, long size) {
        if (q.limitBytes().isEmpty()) return null;
        long limit = q.limitBytes().getAsLong();
        if (size > limit) return new SmtpError(552, "5.2.2", "Message larger than the recipient's mailbox quota");
        if (q.usedBytes() + Math.max(size, 1) > limit) return new SmtpError(452, "4.2.2", "Recipient's mailbox is full");
        return null;
    }
}
