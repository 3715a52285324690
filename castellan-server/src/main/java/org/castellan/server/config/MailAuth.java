package org.castellan.server.config;

import java.time.Duration;
import java.util.Objects;
import org.castellan.security.mailauth.Dmarc;

/**
 * The {@code [mail-auth]} table: the SPF (RFC 7208), DKIM and DMARC (RFC 7489) checks of mail the
 * MX listeners receive, recorded in an Authentication-Results field (RFC 8601), and what is done
 * with a message whose From domain asks for its failures to be rejected or quarantined.
 *
 * <p>The constructor throws {@code IllegalArgumentException} for a time limit that is not positive.
 *
 * @param enabled whether MX listeners check at all; submission listeners never do
 * @param dmarcReject what a DMARC failure under p=reject gets: reject (550 5.7.1), quarantine (the
 *     recipient's Junk mailbox) or none (delivered as usual)
 * @param dmarcQuarantine the same for p=quarantine
 * @param dnsTimeout how long the checks of one message may spend on DNS in all; past it their
 *     results are temperror and no policy is applied
 */
public record MailAuth(boolean enabled, Dmarc.Policy dmarcReject, Dmarc.Policy dmarcQuarantine, Duration dnsTimeout) {

    /** RFC 7208 §4.6.4: a check may be limited in time, to no less than 20 seconds. */
    public static final Duration DEFAULT_DNS_TIMEOUT = Duration.ofSeconds(20);
    /** A minute and more keeps the client waiting past its own DATA timeout's comfort. */
    public static final Duration MAX_DNS_TIMEOUT = Duration.ofMinutes(2);

    public static final MailAuth DEFAULTS = new MailAuth(true, Dmarc.Policy.REJECT, Dmarc.Policy.QUARANTINE, DEFAULT_DNS_TIMEOUT);
    /** No checks: what a server built without a resolver (tests, fuzzing) runs with. */
    public static final MailAuth DISABLED = new MailAuth(false, Dmarc.Policy.REJECT, Dmarc.Policy.QUARANTINE, DEFAULT_DNS_TIMEOUT);

    public MailAuth {
        Objects.requireNonNull(dmarcReject, "dmarcReject");
        Objects.requireNonNull(dmarcQuarantine, "dmarcQuarantine");
        Objects.requireNonNull(dnsTimeout, "dnsTimeout");
        if (!dnsTimeout.isPositive()) throw new IllegalArgumentException("dns-timeout must be positive");
    }

    /** What to do with a message failing DMARC whose domain's policy (after pct sampling) is {@code applied}. */
    public Dmarc.Policy action(Dmarc.Policy applied) {
        return switch (applied) {
            case REJECT -> dmarcReject;
            case QUARANTINE -> dmarcQuarantine;
            case NONE -> Dmarc.Policy.NONE;
        };
    }
}
