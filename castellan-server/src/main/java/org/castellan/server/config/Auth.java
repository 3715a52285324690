package org.castellan.server.config;

/**
 * The {@code [auth]} table.
 *
 * <p>The constructor throws {@code IllegalArgumentException} if the count is outside
 * {@link #MIN_SCRAM_ITERATIONS}..{@link #MAX_SCRAM_ITERATIONS}.
 *
 * @param scramIterations PBKDF2 iteration count for new SCRAM-SHA-256 secrets
 */
public record Auth(int scramIterations) {

    /** RFC 7677 §4: SCRAM-SHA-256 iteration counts must be at least 4096. */
    public static final int MIN_SCRAM_ITERATIONS = 4096;

    /**
     * Every PLAIN, LOGIN and SCRAM login costs this many HMACs on the server; beyond ten million a
     * single login takes seconds and a handful of clients can exhaust the CPU.
     */
    public static final int MAX_SCRAM_ITERATIONS = 10_000_000;

    /** OWASP's 2023 recommendation for PBKDF2-HMAC-SHA256. */
    public static final int DEFAULT_SCRAM_ITERATIONS = 600_000;

    public Auth {
        if (scramIterations < MIN_SCRAM_ITERATIONS || scramIterations > MAX_SCRAM_ITERATIONS) {
            throw new IllegalArgumentException("scram-iterations must be from " + MIN_SCRAM_ITERATIONS + " to "
                    + MAX_SCRAM_ITERATIONS + ", got " + scramIterations);
        }
    }
}
