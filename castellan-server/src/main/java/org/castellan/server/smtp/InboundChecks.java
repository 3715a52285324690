package org.castellan.server.smtp;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.io.InputStream;
import java.io.SequenceInputStream;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.random.RandomGenerator;
import org.castellan.protocol.smtp.FromHeader;
import org.castellan.protocol.smtp.Mailbox;
import org.castellan.protocol.smtp.SmtpError;
import org.castellan.security.mailauth.AuthenticationResults;
import org.castellan.security.mailauth.Dmarc;
import org.castellan.security.mailauth.DnsLookup;
import org.castellan.security.mailauth.DkimResult;
import org.castellan.security.mailauth.DkimVerifier;
import org.castellan.security.mailauth.SignatureCheck;
import org.castellan.security.mailauth.Spf;
import org.castellan.server.config.MailAuth;
import org.castellan.server.transport.MessageSpool;
import org.castellan.store.Mailboxes;
import org.castellan.store.SpecialUse;

/**
 * The checks of a message an MX listener received, run just before delivery: SPF of the MAIL FROM
 * identity (RFC 7208), the message's DKIM signatures, DMARC (RFC 7489), then an
 * Authentication-Results field (RFC 8601) under our hostname, and the policy ({@code [mail-auth]}).
 *
 * <p>SECURITY. Trusts nothing in the message: every Authentication-Results field that claims our
 * hostname is removed before ours is added (RFC 8601 §5), and a header section too long to be read
 * whole is refused, since fields beyond what was read could not be removed. DNS answers are
 * trusted as the resolver gives them; all look-ups of one message share one time limit
 * ({@code dns-timeout}), past which the checks give temperror and nothing is refused.
 *
 * <p>Runs on the blocking executor (DNS and the store block). Failure: a DNS problem never refuses
 * mail; a message failing DMARC is refused with 550 5.7.1, delivered to Junk, or delivered as
 * usual, as configured.
 */
final class InboundChecks {

    private final MailAuth config;
    private final DnsLookup dns;
    private final String authservId;
    private final Clock clock;
    private final RandomGenerator random;

    InboundChecks(MailAuth config, DnsLookup dns, String authservId, Clock clock, RandomGenerator random) {
        this.config = Objects.requireNonNull(config, "config");
        this.dns = Objects.requireNonNull(dns, "dns");
        this.authservId = Objects.requireNonNull(authservId, "authservId");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.random = Objects.requireNonNull(random, "random");
    }

    /** What the session knew of the client, taken on the event loop before the checks run elsewhere. */
    record Envelope(String logId, InetAddress client, String helo, Optional<String> mailFrom) {
        static Envelope of(SmtpSession s) {
            return new Envelope(s.connection().logId(), s.connection().remote().getAddress(), s.helo() == null ? "" : s.helo(),
                    s.transaction().from.map(Mailbox::toString));
        }
    }

    /**
     * Where and how a message is delivered.
     *
     * @param refusal the reply when it is not delivered at all
     * @param header replaces the first {@code headerEnd} octets of the spooled message
     */
    record Plan(SmtpError refusal, List<Long> mailboxIds, byte[] header, int headerEnd) {

        /** No checks: the spooled message, as received, to each recipient's INBOX. */
        static Plan asReceived(Transaction t) {
            return new Plan(null, t.mailboxIds(), new byte[0], 0);
        }

        static Plan refused(SmtpError e) {
            return new Plan(e, List.of(), new byte[0], 0);
        }

        InputStream open(MessageSpool spool) throws IOException {
            InputStream rest = spool.open();
            rest.skipNBytes(headerEnd);
            return new SequenceInputStream(new ByteArrayInputStream(header), rest);
        }
    }

    /**
     * The DKIM verdicts of the message as received, one per signature checked (RFC 6376 §6), at
     * most {@link DkimVerifier#MAX_SIGNATURES}; none for an unsigned message (dkim=none).
     */
    private List<SignatureCheck> dkim(MessageSpool spool, DnsLookup lookups) {
        try (InputStream content = spool.open()) {
            return new DkimVerifier(lookups, clock).verify(content).stream()
                    .map(r -> new SignatureCheck(r.status().keyword(), r.domain(),
                            r.selector().isEmpty() ? Optional.empty() : Optional.of(r.selector()), reason(r), r.testing()))
                    .toList();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the spooled message: " + e.getMessage(), e);
        }
    }

    /** The comment of a result: why it is not a pass, or that a pass was under a key in testing mode. */
    private static Optional<String> reason(DkimResult r) {
        if (r.status() != DkimResult.Status.PASS) return r.reason().isEmpty() ? Optional.empty() : Optional.of(r.reason());
        return r.testing() ? Optional.of("key in testing mode, t=y") : Optional.empty();
    }

    Plan check(Envelope envelope, Transaction t, MessageSpool spool, Mailboxes store) {
        boolean whole = spool.headLength() == spool.size();
        Optional<AuthenticationResults.Header> header =
                AuthenticationResults.withoutOurs(spool.head(), spool.headLength(), whole, authservId);
        if (header.isEmpty()) {
            return Plan.refused(new SmtpError(552, "5.3.4", "Header section longer than " + spool.headLength() + " octets"));
        }
        DnsLookup lookups = new Deadline(dns, clock, config.dnsTimeout());
        Spf.Outcome spf = new Spf(lookups, authservId, clock).checkMailFrom(envelope.client(), envelope.helo(), envelope.mailFrom());
        List<SignatureCheck> signatures = dkim(spool, lookups);
        // RFC 6376 §3.6.1: a pass under a key in testing mode counts for DMARC as no signature.
        List<String> passed = signatures.stream().filter(SignatureCheck::vouches).map(SignatureCheck::domain).toList();
        Dmarc.Verdict dmarc = new Dmarc(lookups, random).evaluate(fromDomains(spool, whole), spf.result(), spf.domain(), passed);

        Dmarc.Policy action = dmarc.result() == Dmarc.Result.FAIL ? config.action(dmarc.apply()) : Dmarc.Policy.NONE;
        List<AuthenticationResults.Entry> entries = new ArrayList<>();
        entries.add(AuthenticationResults.spf(spf));
        entries.addAll(AuthenticationResults.dkim(signatures));
        entries.add(AuthenticationResults.dmarc(dmarc, action));
        byte[] field = AuthenticationResults.field(authservId, entries).getBytes(StandardCharsets.UTF_8);
        SmtpSession.log().info("{} spf={} ({}) dmarc={} ({}){}", envelope.logId(), spf.result().keyword(),
                spf.detail(), dmarc.result().keyword(), dmarc.detail(),
                header.get().removed() > 0 ? ", removed " + header.get().removed() + " Authentication-Results claiming " + authservId : "");

        // RFC 7489 §6.6.4, §10.3 (reject during the SMTP session, not by a later bounce): 550 5.7.1 when so configured.
        if (action == Dmarc.Policy.REJECT) {
            String domain = ReceivedHeader.printable(dmarc.fromDomain().orElse(""));
            return Plan.refused(new SmtpError(550, "5.7.1", "Message rejected by the DMARC policy of " + domain));
        }
        List<Long> mailboxes = action == Dmarc.Policy.QUARANTINE ? junk(store, t) : t.mailboxIds();
        return new Plan(null, mailboxes, withField(header.get().kept(), field), header.get().end());
    }

    /** Ours after our Received field, which stays first (RFC 5321 §4.4). */
    private static byte[] withField(byte[] kept, byte[] field) {
        int first = firstFieldEnd(kept);
        byte[] out = new byte[kept.length + field.length];
        System.arraycopy(kept, 0, out, 0, first);
        System.arraycopy(field, 0, out, first, field.length);
        System.arraycopy(kept, first, out, first + field.length, kept.length - first);
        return out;
    }

    private static int firstFieldEnd(byte[] h) {
        for (int i = 0; i + 2 < h.length; i++) {
            if (h[i] == '\r' && h[i + 1] == '\n' && h[i + 2] != ' ' && h[i + 2] != '\t') return i + 2;
        }
        return h.length;
    }

    /** RFC 7489 §6.6.1: the domains of the RFC5322.From mailboxes; none when From is missing or malformed. */
    private static Set<String> fromDomains(MessageSpool spool, boolean whole) {
        Set<String> domains = new LinkedHashSet<>();
        if (FromHeader.originators(spool.head(), spool.headLength(), whole) instanceof FromHeader.Originators.Claims c) {
            for (FromHeader.Claim claim : c.claims()) {
                if (claim.field().equals("From") && !claim.inDisplayName()) {
                    domains.add(claim.address().substring(claim.address().lastIndexOf('@') + 1));
                }
            }
        }
        return domains;
    }

    /** Each recipient's mailbox with the RFC 6154 Junk special use; INBOX for an account without one. */
    private static List<Long> junk(Mailboxes store, Transaction t) {
        List<Long> out = new ArrayList<>();
        for (Transaction.Recipient r : t.recipients) {
            out.add(store.listMailboxes(r.accountId()).stream()
                    .filter(m -> m.specialUse().filter(u -> u == SpecialUse.JUNK).isPresent())
                    .map(org.castellan.store.Mailbox::id).findFirst().orElse(r.mailboxId()));
        }
        return out;
    }

    /**
     * One time limit for all the look-ups of a message (RFC 7208 §4.6.4 allows one, of at least 20
     * seconds): once it has passed, every look-up fails at once, so the checks end in temperror.
     */
    private static final class Deadline implements DnsLookup {
        private final DnsLookup dns;
        private final Clock clock;
        private final long deadline;
        private final Duration limit;

        Deadline(DnsLookup dns, Clock clock, Duration limit) {
            this.dns = dns;
            this.clock = clock;
            this.limit = limit;
            this.deadline = clock.millis() + limit.toMillis();
        }

        private boolean passed() {
            return clock.millis() > deadline;
        }

        private <T> Answer<T> late() {
            return new Failed<>("dns-timeout of " + limit.toSeconds() + "s passed");
        }

        @Override
        public Answer<String> txt(String name) {
            return passed() ? late() : dns.txt(name);
        }

        @Override
        public Answer<InetAddress> addresses(String name) {
            return passed() ? late() : dns.addresses(name);
        }

        @Override
        public Answer<String> mx(String name) {
            return passed() ? late() : dns.mx(name);
        }

        @Override
        public Answer<String> ptr(InetAddress address) {
            return passed() ? late() : dns.ptr(address);
        }
    }
}
