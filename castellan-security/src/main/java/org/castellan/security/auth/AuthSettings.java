package org.castellan.security.auth;

import java.time.Duration;
import java.util.Objects;

/**
 * The numbers behind {@link AuthService}: SCRAM cost for new secrets, the size of the PLAIN
 * verification cache, and the brute-force limiter (docs/design.md §5.6).
 *
 * <p>Failures are counted per client host (IPv4 /32, IPv6 /64), per IPv4 /24, and per pair of
 * account and source network (IPv4 /24, IPv6 /64). The first {@code freeFailures} failures of a
 * host or pair cost nothing; each further one doubles the wait before the next reply, from
 * {@code firstDelay} up to {@code maxDelay}. At {@code blockAfter} failures the host or pair is
 * refused for {@code blockDuration}. An IPv4 /24 gets the {@code network...} numbers, larger
 * because many users share one NAT. Counts are forgotten after {@code failureMemory} without a
 * new failure.
 *
 * <p>Each password check is counted before it starts (docs/authentication.md): at most
 * {@code maxInFlightPerHost} checks of one host (or certificate) and {@code maxInFlightPerAccount}
 * of one account-and-network pair are admitted at once, and never more than the failures a host,
 * network or pair has left before its block, so that guesses sent together are counted as they
 * would be one after the other. An attempt over a cap waits for a place (at most
 * {@link #MAX_WAITING_PER_KEY} per host, certificate or pair) rather than being refused.
 *
 * <p>Failure: the constructor throws {@link IllegalArgumentException} naming the field that is
 * out of range and the range it must be in.
 *
 * @param scramIterations PBKDF2 iterations for secrets created from now on, and the iteration
 *     count shown for unknown users so that they look like real ones
 * @param plainCacheSize how many successful PLAIN/LOGIN verifications to remember (0 disables)
 * @param freeFailures failures of one host or account-and-network pair before any delay
 * @param blockAfter failures of one host or pair after which it is blocked
 * @param networkFreeFailures failures of one IPv4 /24 before any delay
 * @param networkBlockAfter failures of one IPv4 /24 after which it is blocked
 * @param firstDelay the first delay; each further failure doubles it
 * @param maxDelay the cap on the delay
 * @param blockDuration how long a block lasts
 * @param failureMemory how long a count is kept after its last failure
 * @param maxTracked the most hosts, networks and pairs tracked at once; the least recent are dropped
 * @param workerThreads threads for password hashing (PBKDF2), shared fairly between sources
 * @param maxInFlightPerHost password checks of one host (IPv4 address, IPv6 /64) or client
 *     certificate admitted at once, waiting for a worker or running; more wait for a place
 * @param maxInFlightPerAccount password checks of one account-and-network pair admitted at once;
 *     more wait for a place
 */
public record AuthSettings(int scramIterations, int plainCacheSize, int freeFailures, int blockAfter,
        int networkFreeFailures, int networkBlockAfter, Duration firstDelay, Duration maxDelay,
        Duration blockDuration, Duration failureMemory, int maxTracked, int workerThreads,
        int maxInFlightPerHost, int maxInFlightPerAccount) {

    /** A person mistyping a password rarely needs more than three tries (Dovecot's default is similar). */
    public static final int DEFAULT_FREE_FAILURES = 3;
    /** 20 guesses per host per cooling period makes online guessing of any real password hopeless. */
    public static final int DEFAULT_BLOCK_AFTER = 20;
    /** A /24 is often one NAT for a whole office or carrier: several people may mistype at once. */
    public static final int DEFAULT_NETWORK_FREE_FAILURES = 10;
    /** Five times the host threshold: an attacker spreading over a /24 is stopped, an office is not. */
    public static final int DEFAULT_NETWORK_BLOCK_AFTER = 100;
    /** Short enough not to annoy a person; doubling makes it 4 s by the fifth extra failure. */
    public static final Duration DEFAULT_FIRST_DELAY = Duration.ofMillis(250);
    /** Beyond a few seconds, clients time out and retry, which only adds load. */
    public static final Duration DEFAULT_MAX_DELAY = Duration.ofSeconds(4);
    /** Long enough to make guessing pointless, short enough that a locked-out person waits it out. */
    public static final Duration DEFAULT_BLOCK_DURATION = Duration.ofMinutes(15);
    /** A count older than this says nothing about an attack in progress. */
    public static final Duration DEFAULT_FAILURE_MEMORY = Duration.ofHours(1);
    /** About 10 MB of counters: enough for a large botnet, bounded so one cannot exhaust memory. */
    public static final int DEFAULT_MAX_TRACKED = 100_000;
    /** Enough to remember every active user of a mid-sized server; each entry is ~100 bytes. */
    public static final int DEFAULT_PLAIN_CACHE_SIZE = 10_000;
    /** PBKDF2 is CPU-bound: two threads keep logins moving without starving the event loops. */
    public static final int DEFAULT_WORKER_THREADS = 2;
    /** More threads than this only queue on the CPUs; the limiter, not parallelism, bounds the load. */
    public static final int MAX_WORKER_THREADS = 64;
    /**
     * An office or carrier NAT whose clients all reconnect at once (after a restart, with the
     * password cache empty) has a few checks of tens of milliseconds each in flight; a guessing
     * host gains nothing from more, since the workers serve every source in turn anyway.
     */
    public static final int DEFAULT_MAX_IN_FLIGHT_PER_HOST = 16;
    /**
     * One person's devices, and the parallel connections one client opens (Thunderbird up to
     * five), logging in at the same moment; a guesser aiming at one account gets no more.
     */
    public static final int DEFAULT_MAX_IN_FLIGHT_PER_ACCOUNT = 8;
    /** As many as the largest block-after: a cap above it is no cap, the failure budget binds first. */
    public static final int MAX_IN_FLIGHT = 1000;
    /**
     * Attempts one host, certificate or account-and-network pair may have waiting for a place
     * under its in-flight cap; one more is refused as busy. Each waiter is a connection with its
     * one command outstanding, so a listener's max-connections-per-address (100 by default)
     * bounds a host's waiters well below this; this is the limiter's own bound, for listeners
     * with that cap raised or off, and for callers without a transport. It does not scale with
     * the caps: a crowd of a hundred good clients behind one address must wait with a cap of 8
     * as much as with one of 16. A waiter costs a few hundred bytes and no thread.
     */
    public static final int MAX_WAITING_PER_KEY = 1000;

    public AuthSettings {
        Objects.requireNonNull(firstDelay, "firstDelay");
        Objects.requireNonNull(maxDelay, "maxDelay");
        Objects.requireNonNull(blockDuration, "blockDuration");
        Objects.requireNonNull(failureMemory, "failureMemory");
        if (scramIterations < ScramSecret.MIN_ITERATIONS || scramIterations > ScramSecret.MAX_ITERATIONS) {
            throw new IllegalArgumentException("scramIterations must be between " + ScramSecret.MIN_ITERATIONS
                    + " and " + ScramSecret.MAX_ITERATIONS + ", not " + scramIterations);
        }
        if (plainCacheSize < 0) throw new IllegalArgumentException("plainCacheSize must be 0 or more, not " + plainCacheSize);
        if (freeFailures < 0) throw new IllegalArgumentException("freeFailures must be 0 or more, not " + freeFailures);
        if (blockAfter <= freeFailures) {
            throw new IllegalArgumentException("blockAfter (" + blockAfter + ") must be larger than freeFailures ("
                    + freeFailures + ")");
        }
        if (networkFreeFailures < 0) {
            throw new IllegalArgumentException("networkFreeFailures must be 0 or more, not " + networkFreeFailures);
        }
        if (networkBlockAfter <= networkFreeFailures) {
            throw new IllegalArgumentException("networkBlockAfter (" + networkBlockAfter
                    + ") must be larger than networkFreeFailures (" + networkFreeFailures + ")");
        }
        if (firstDelay.isNegative()) throw new IllegalArgumentException("firstDelay must not be negative");
        if (maxDelay.compareTo(firstDelay) < 0) {
            throw new IllegalArgumentException("maxDelay (" + maxDelay + ") must not be shorter than firstDelay ("
                    + firstDelay + ")");
        }
        if (blockDuration.isNegative() || blockDuration.isZero()) {
            throw new IllegalArgumentException("blockDuration must be positive, not " + blockDuration);
        }
        if (failureMemory.isNegative() || failureMemory.isZero()) {
            throw new IllegalArgumentException("failureMemory must be positive, not " + failureMemory);
        }
        if (maxTracked < 1) throw new IllegalArgumentException("maxTracked must be at least 1, not " + maxTracked);
        if (workerThreads < 1 || workerThreads > MAX_WORKER_THREADS) {
            throw new IllegalArgumentException("workerThreads must be between 1 and " + MAX_WORKER_THREADS
                    + ", not " + workerThreads);
        }
        if (maxInFlightPerHost < 1 || maxInFlightPerHost > MAX_IN_FLIGHT) {
            throw new IllegalArgumentException("maxInFlightPerHost must be between 1 and " + MAX_IN_FLIGHT
                    + ", not " + maxInFlightPerHost);
        }
        if (maxInFlightPerAccount < 1 || maxInFlightPerAccount > MAX_IN_FLIGHT) {
            throw new IllegalArgumentException("maxInFlightPerAccount must be between 1 and " + MAX_IN_FLIGHT
                    + ", not " + maxInFlightPerAccount);
        }
    }

    /** With the default in-flight caps. */
    public AuthSettings(int scramIterations, int plainCacheSize, int freeFailures, int blockAfter,
            int networkFreeFailures, int networkBlockAfter, Duration firstDelay, Duration maxDelay,
            Duration blockDuration, Duration failureMemory, int maxTracked, int workerThreads) {
        this(scramIterations, plainCacheSize, freeFailures, blockAfter, networkFreeFailures, networkBlockAfter,
                firstDelay, maxDelay, blockDuration, failureMemory, maxTracked, workerThreads,
                DEFAULT_MAX_IN_FLIGHT_PER_HOST, DEFAULT_MAX_IN_FLIGHT_PER_ACCOUNT);
    }

    /** The defaults above, with {@link ScramSecret#DEFAULT_ITERATIONS}. */
    public static AuthSettings defaults() {
        return new AuthSettings(ScramSecret.DEFAULT_ITERATIONS, DEFAULT_PLAIN_CACHE_SIZE, DEFAULT_FREE_FAILURES,
                DEFAULT_BLOCK_AFTER, DEFAULT_NETWORK_FREE_FAILURES, DEFAULT_NETWORK_BLOCK_AFTER, DEFAULT_FIRST_DELAY,
                DEFAULT_MAX_DELAY, DEFAULT_BLOCK_DURATION, DEFAULT_FAILURE_MEMORY, DEFAULT_MAX_TRACKED,
                DEFAULT_WORKER_THREADS);
    }
}
