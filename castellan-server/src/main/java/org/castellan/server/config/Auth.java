package org.castellan.server.config;

import java.time.Duration;
import java.util.Objects;
import org.castellan.security.auth.AuthSettings;

/**
 * The {@code [auth]} table: the SCRAM cost and the brute-force limiter's per-host numbers.
 *
 * <p>The constructor throws {@code IllegalArgumentException} if the count is outside
 * {@link #MIN_SCRAM_ITERATIONS}..{@link #MAX_SCRAM_ITERATIONS}; the reader checks the ranges of
 * the limiter keys and that {@code block-after} exceeds {@code free-failures} and
 * {@code max-delay} is not shorter than {@code first-delay}, and reports them with the line.
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
 */
public record Auth(int scramIterations, int freeFailures, int blockAfter, Duration firstDelay, Duration maxDelay,
        Duration blockDuration, int passwordMinLength, java.util.List<String> submissionAccounts) {

    /** RFC 7677 §4: SCRAM-SHA-256 iteration counts must be at least 4096. */
    public static final int MIN_SCRAM_ITERATIONS = 4096;

    /**
     * Every PLAIN, LOGIN and SCRAM login costs this many HMACs on the server; beyond ten million a
     * single login takes seconds and a handful of clients can exhaust the CPU.
     */
    public static final int MAX_SCRAM_ITERATIONS = 10_000_000;

    /** OWASP's 2023 recommendation for PBKDF2-HMAC-SHA256. */
    public static final int DEFAULT_SCRAM_ITERATIONS = 600_000;

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
        submissionAccounts = java.util.List.copyOf(submissionAccounts);
    }

    /** Without submission accounts. */
    public Auth(int scramIterations, int freeFailures, int blockAfter, Duration firstDelay, Duration maxDelay,
            Duration blockDuration, int passwordMinLength) {
        this(scramIterations, freeFailures, blockAfter, firstDelay, maxDelay, blockDuration, passwordMinLength,
                java.util.List.of());
    }

    /** The given SCRAM cost with AuthService's default limiter. */
    public Auth(int scramIterations) {
        this(scramIterations, AuthSettings.DEFAULT_FREE_FAILURES, AuthSettings.DEFAULT_BLOCK_AFTER,
                AuthSettings.DEFAULT_FIRST_DELAY, AuthSettings.DEFAULT_MAX_DELAY, AuthSettings.DEFAULT_BLOCK_DURATION,
                DEFAULT_PASSWORD_MIN_LENGTH);
    }
}
