package org.castellan.server.config;

import java.time.Duration;
import java.util.List;
import java.util.Objects;
import org.castellan.security.auth.AuthSettings;
import org.castellan.security.auth.ScramSecret;

/**
 * The {@code [auth]} table: the SCRAM cost, the brute-force limiter's per-host numbers, the
 * shortest password, the submission accounts, and how long a connection may take to log in.
 *
 * <p>The constructor throws {@code IllegalArgumentException} if the count is outside
 * {@link #MIN_SCRAM_ITERATIONS}..{@link #MAX_SCRAM_ITERATIONS}, the password length outside
 * {@link #MIN_PASSWORD_MIN_LENGTH}..{@link #MAX_PASSWORD_MIN_LENGTH} or the login timeout outside
 * {@link #MIN_LOGIN_TIMEOUT}..{@link #MAX_LOGIN_TIMEOUT}; the reader checks the ranges of the
 * limiter keys and that {@code block-after} exceeds {@code free-failures} and {@code max-delay}
 * is not shorter than {@code first-delay}, and reports them with the line.
 *
 * @param scramIterations PBKDF2 iteration count for new SCRAM-SHA-256 secrets
 * @param freeFailures failures of a host or account-and-network pair before any delay
 * @param blockAfter failures of a host or pair after which it is blocked
 * @param firstDelay the delay after the first failure beyond the free ones; doubles each failure
 * @param maxDelay the cap on the delay
 * @param blockDuration how long a block lasts
 * @param passwordMinLength the fewest characters (Unicode code points) a password chosen by a person may have
 * @param submissionAccounts the accounts that act as message submission servers for RFC 4467
 *     {@code submit+} URLs
 * @param loginTimeout how long an IMAP, POP3 or submission connection may stay open without
 *     authenticating
 * @param maxInFlightPerHost password checks of one client host admitted at once
 * @param maxInFlightPerAccount password checks of one account from one network admitted at once
 */
public record Auth(int scramIterations, int freeFailures, int blockAfter, Duration firstDelay, Duration maxDelay,
        Duration blockDuration, int passwordMinLength, List<String> submissionAccounts, Duration loginTimeout,
        int maxInFlightPerHost, int maxInFlightPerAccount) {

    /** RFC 7677 §4: SCRAM-SHA-256 iteration counts must be at least 4096. */
    public static final int MIN_SCRAM_ITERATIONS = ScramSecret.MIN_ITERATIONS;

    /**
     * Cyrus SASL clients (mbsync among them) refuse to compute more, and fail the login; every
     * other mainstream client accepts it (docs/authentication.md). A server-wide count that breaks
     * a common client is refused rather than allowed.
     */
    public static final int MAX_SCRAM_ITERATIONS = ScramSecret.MAX_INTEROPERABLE_ITERATIONS;

    /**
     * The strongest count every mainstream SCRAM client accepts: 16 times RFC 7677's minimum. It
     * is also the cost of each PLAIN/LOGIN verification the password cache cannot answer.
     */
    public static final int DEFAULT_SCRAM_ITERATIONS = ScramSecret.MAX_INTEROPERABLE_ITERATIONS;

    /** About what Dovecot allows before login: a person's client logs in within seconds, a stalled one never. */
    public static final Duration DEFAULT_LOGIN_TIMEOUT = Duration.ofMinutes(1);
    /** Below a second even a client behind a slow link and a limiter delay could not log in. */
    public static final Duration MIN_LOGIN_TIMEOUT = Duration.ofSeconds(1);
    /** IMAP's autologout (RFC 9051 §5.4) closes an idle session after 30 minutes anyway. */
    public static final Duration MAX_LOGIN_TIMEOUT = Duration.ofMinutes(30);

    /** More free failures than this is no limiter at all; a thousand is already generous to scripts. */
    public static final int MAX_FAILURES = 1000;
    /** Beyond a minute clients time out and retry, which only adds load. */
    public static final Duration MAX_DELAY = Duration.ofMinutes(1);
    /** A block of more than a day locks a mistyping person out for too long; lift it with castellan blocks clear instead. */
    public static final Duration MAX_BLOCK_DURATION = Duration.ofDays(1);

    /**
     * NIST SP 800-63B-4 §3.1.1.2: a password used as a single factor has at least 15 characters
     * (Castellan's passwords log in alone unless a listener requires a certificate as well).
     */
    public static final int DEFAULT_PASSWORD_MIN_LENGTH = 15;
    /** The same section allows no fewer than 8 even where a second factor is used. */
    public static final int MIN_PASSWORD_MIN_LENGTH = 8;
    /** The same section asks verifiers to accept at least 64 characters; a higher minimum refuses those. */
    public static final int MAX_PASSWORD_MIN_LENGTH = 64;

    public Auth {
        if (scramIterations < MIN_SCRAM_ITERATIONS || scramIterations > MAX_SCRAM_ITERATIONS) {
            throw new IllegalArgumentException("scram-iterations must be from " + MIN_SCRAM_ITERATIONS + " to "
                    + MAX_SCRAM_ITERATIONS + ", got " + scramIterations);
        }
        Objects.requireNonNull(firstDelay, "firstDelay");
        Objects.requireNonNull(maxDelay, "maxDelay");
        Objects.requireNonNull(blockDuration, "blockDuration");
        if (passwordMinLength < MIN_PASSWORD_MIN_LENGTH || passwordMinLength > MAX_PASSWORD_MIN_LENGTH) {
            throw new IllegalArgumentException("password-min-length must be from " + MIN_PASSWORD_MIN_LENGTH + " to "
                    + MAX_PASSWORD_MIN_LENGTH + ", got " + passwordMinLength);
        }
        submissionAccounts = List.copyOf(submissionAccounts);
        Objects.requireNonNull(loginTimeout, "loginTimeout");
        if (loginTimeout.compareTo(MIN_LOGIN_TIMEOUT) < 0 || loginTimeout.compareTo(MAX_LOGIN_TIMEOUT) > 0) {
            throw new IllegalArgumentException("login-timeout must be from " + MIN_LOGIN_TIMEOUT + " to "
                    + MAX_LOGIN_TIMEOUT + ", got " + loginTimeout);
        }
        if (maxInFlightPerHost < 1 || maxInFlightPerHost > AuthSettings.MAX_IN_FLIGHT) {
            throw new IllegalArgumentException("max-in-flight-per-host must be from 1 to " + AuthSettings.MAX_IN_FLIGHT
                    + ", got " + maxInFlightPerHost);
        }
        if (maxInFlightPerAccount < 1 || maxInFlightPerAccount > AuthSettings.MAX_IN_FLIGHT) {
            throw new IllegalArgumentException("max-in-flight-per-account must be from 1 to "
                    + AuthSettings.MAX_IN_FLIGHT + ", got " + maxInFlightPerAccount);
        }
    }

    /** With AuthService's default in-flight caps. */
    public Auth(int scramIterations, int freeFailures, int blockAfter, Duration firstDelay, Duration maxDelay,
            Duration blockDuration, int passwordMinLength, List<String> submissionAccounts, Duration loginTimeout) {
        this(scramIterations, freeFailures, blockAfter, firstDelay, maxDelay, blockDuration, passwordMinLength,
                submissionAccounts, loginTimeout, AuthSettings.DEFAULT_MAX_IN_FLIGHT_PER_HOST,
                AuthSettings.DEFAULT_MAX_IN_FLIGHT_PER_ACCOUNT);
    }

    /** Without submission accounts, with the default login timeout. */
    public Auth(int scramIterations, int freeFailures, int blockAfter, Duration firstDelay, Duration maxDelay,
            Duration blockDuration, int passwordMinLength) {
        this(scramIterations, freeFailures, blockAfter, firstDelay, maxDelay, blockDuration, passwordMinLength,
                List.of(), DEFAULT_LOGIN_TIMEOUT);
    }

    /**
     * The given SCRAM cost with AuthService's default limiter, the default password length, no
     * submission accounts and the default login timeout.
     */
    public Auth(int scramIterations) {
        this(scramIterations, AuthSettings.DEFAULT_FREE_FAILURES, AuthSettings.DEFAULT_BLOCK_AFTER,
                AuthSettings.DEFAULT_FIRST_DELAY, AuthSettings.DEFAULT_MAX_DELAY, AuthSettings.DEFAULT_BLOCK_DURATION,
                DEFAULT_PASSWORD_MIN_LENGTH);
    }
}
