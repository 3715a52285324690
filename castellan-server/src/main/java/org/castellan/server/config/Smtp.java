package org.castellan.server.config;

import java.time.Duration;
import java.util.Objects;

/**
 * The {@code [smtp]} table: how the MX listeners answer a client that guesses recipients
 * (directory harvesting). The reply to each unknown recipient is 550 5.1.1 as before; what these
 * add is the cost of guessing: slower replies, then 421 and the end of the session, per session
 * as Postfix's {@code smtpd_soft_error_limit}, {@code smtpd_error_sleep_time} and
 * {@code smtpd_hard_error_limit} do, and per client host over a window, as Postfix's anvil rates
 * do, so that reconnecting starts nothing afresh.
 *
 * <p>The constructor throws {@code IllegalArgumentException} for a count below 1, a negative
 * delay, a window that is not positive, or a delay-after that is not below the session limit; the
 * reader checks the ranges of {@link ConfigKeys} first and reports them with the line.
 *
 * @param unknownRecipientDelayAfter unknown recipients, of the session or of its host within the
 *     window, after which every further reply of the session waits {@code unknownRecipientDelay}
 * @param unknownRecipientDelay how long each of those replies waits
 * @param unknownRecipientLimit unknown recipients in one session after which it ends with 421 4.7.0
 * @param unknownRecipientSourceLimit unknown recipients of one host (IPv4 address, IPv6 /64) within
 *     the window after which its sessions end, and new ones are refused, with 421 4.7.0
 * @param unknownRecipientWindow how long a host's unknown recipients are remembered, from the first
 */
public record Smtp(int unknownRecipientDelayAfter, Duration unknownRecipientDelay, int unknownRecipientLimit,
                   int unknownRecipientSourceLimit, Duration unknownRecipientWindow) {

    /** A sender with a few stale addresses in a list is not slowed; a guesser is from the fourth guess. */
    public static final int DEFAULT_DELAY_AFTER = 3;
    /** Postfix's smtpd_error_sleep_time: enough to make guessing slow, short of client timeouts. */
    public static final Duration DEFAULT_DELAY = Duration.ofSeconds(1);
    /** As many as the session's refused commands before it ends anyway (SmtpLimits' max errors). */
    public static final int DEFAULT_LIMIT = 10;
    /** Three sessions' worth of guesses per host and window; one mail server's stale list stays below it. */
    public static final int DEFAULT_SOURCE_LIMIT = 30;
    /** An hour: a guesser gets 30 addresses an hour, not 1,386 in half a second. */
    public static final Duration DEFAULT_WINDOW = Duration.ofHours(1);
    /** Beyond a minute clients time out and retry, which only adds load. */
    public static final Duration MAX_DELAY = Duration.ofMinutes(1);
    /** A day: hosts are remembered no longer than the auth limiter's longest block. */
    public static final Duration MAX_WINDOW = Duration.ofDays(1);
    /** More than this per session or host is no limit at all. */
    public static final int MAX_COUNT = 100_000;

    public static final Smtp DEFAULTS = new Smtp(DEFAULT_DELAY_AFTER, DEFAULT_DELAY, DEFAULT_LIMIT, DEFAULT_SOURCE_LIMIT,
            DEFAULT_WINDOW);

    public Smtp {
        Objects.requireNonNull(unknownRecipientDelay, "unknownRecipientDelay");
        Objects.requireNonNull(unknownRecipientWindow, "unknownRecipientWindow");
        if (unknownRecipientDelayAfter < 1 || unknownRecipientLimit < 1 || unknownRecipientSourceLimit < 1) {
            throw new IllegalArgumentException("unknown-recipient counts must be at least 1");
        }
        if (unknownRecipientDelay.isNegative()) throw new IllegalArgumentException("unknown-recipient-delay must not be negative");
        if (!unknownRecipientWindow.isPositive()) throw new IllegalArgumentException("unknown-recipient-window must be positive");
        if (unknownRecipientDelayAfter >= unknownRecipientLimit) {
            throw new IllegalArgumentException("unknown-recipient-delay-after must be below unknown-recipient-limit");
        }
    }
}
