package org.castellan.security.auth;

import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import java.util.regex.Pattern;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.castellan.protocol.mail.EmailAddress;
import org.castellan.protocol.sasl.BearerServer;
import org.castellan.protocol.sasl.ExternalServer;
import org.castellan.protocol.sasl.LoginServer;
import org.castellan.protocol.sasl.PlainServer;
import org.castellan.protocol.sasl.SaslFailure;
import org.castellan.protocol.sasl.SaslResult;
import org.castellan.protocol.sasl.SaslServer;
import org.castellan.protocol.sasl.ScramServer;
import org.castellan.security.auth.CredentialStore.StoredCredential;
import org.castellan.security.auth.internal.CertificateAccounts;
import org.castellan.security.auth.internal.FairScheduler;
import org.castellan.security.auth.internal.GssapiServer;
import org.castellan.security.auth.internal.LoginLimiter;
import org.castellan.security.auth.internal.PasswordCache;
import org.castellan.security.auth.oauth.BearerTokenVerifier;
import org.castellan.security.auth.oauth.OAuthIssuer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one authentication service of every protocol (docs/design.md §2, step 4): which mechanisms a
 * connection may use, the SASL exchanges, password checks, certificate-to-account mapping and the
 * brute-force limiter.
 *
 * <p>SECURITY. Trusts: the {@link AuthContext} the session builds (TLS state, verified
 * certificate, remote address after a trusted PROXY header) and the {@link CredentialStore}.
 * Everything from the client is untrusted and parsed by the pure mechanisms of
 * {@code org.castellan.protocol.sasl}. Without TLS no password mechanism is offered or accepted
 * unless the listener allows cleartext (invariant 1); SCRAM counts as a password mechanism there,
 * because an eavesdropped SCRAM exchange allows an offline dictionary attack. Failures are slowed
 * and blocked per host, network and account-and-network pair (invariant 6); a verified
 * certificate holder is counted only against its own certificate. Failure replies say only what
 * {@link FailureKind} says: an unknown user and a wrong password look alike, down to a SCRAM
 * salt derived from the name. App passwords are accepted only by PLAIN, LOGIN and password
 * commands, only on a protocol in their scope, and only as long as the store still lists them; a
 * listener may also demand a verified client certificate (of the same account) with every
 * password. A bearer token (OAUTHBEARER, XOAUTH2) is accepted only where a password would be, is
 * verified against the configured issuers' keys ({@link BearerTokenVerifier}), and counts as a
 * failure when refused, as a wrong password does.
 * GSSAPI tickets are judged by the JDK's Kerberos acceptor with the configured keytab
 * only, and their principal names an account only through {@link KerberosSettings}' rules; the
 * mechanism sits under the password policy. One INFO line is logged per attempt, and the same facts go to the {@link AuthLog};
 * neither ever holds a password, SASL payload, proof or secret (invariant 9).
 *
 * <p>Under attack: each password check is admitted by the limiter before it starts, so guesses
 * sent together are counted as if sent one after the other, and a source gets only a few checks
 * in flight; more wait for a place (no thread waits with them), so that a crowd of good clients
 * behind one address all log in, a few at a time. PBKDF2 runs on workers that serve every source
 * in turn ({@link FairScheduler}), so one address's flood of guesses delays its own checks, not
 * other people's logins. Certificate logins and passwords the cache already verified need no
 * PBKDF2 and never wait for those workers.
 *
 * <p>Threads: every method returns at once. Credential lookups and PBKDF2 run on this service's
 * own threads, each kind on its own; limiter delays complete the future later from a timer
 * thread. Futures complete on those threads, so a caller on an event loop hands the result back
 * to its loop. A caller that no longer wants the reply of a password attempt (its connection
 * closed) may cancel the future: an attempt still waiting for its place then leaves the line
 * unchecked, and one already being checked ends as it would have.
 *
 * <p>Failure: no method throws for client input. A broken credential store or an unreadable
 * stored secret gives {@link FailureKind#TEMPORARY} (and a WARN line naming the account, never
 * the secret); so does any call after {@link #close()}.
 */
public final class AuthService implements AutoCloseable {

    public static final String SCRAM_SHA_256_PLUS = ScramServer.SHA_256_PLUS;
    public static final String SCRAM_SHA_256 = ScramServer.SHA_256;
    public static final String PLAIN = PlainServer.NAME;
    public static final String LOGIN = LoginServer.NAME;
    public static final String EXTERNAL = ExternalServer.NAME;
    public static final String OAUTHBEARER = BearerServer.OAUTHBEARER;
    public static final String XOAUTH2 = BearerServer.XOAUTH2;
    public static final String GSSAPI = GssapiServer.NAME;

    private static final Set<String> PASSWORD_MECHANISMS = Set.of(SCRAM_SHA_256_PLUS, SCRAM_SHA_256, PLAIN, LOGIN);
    /** A bearer token is a credential: offered and accepted where passwords are (RFC 7628 §5, RFC 6750 §5.3). */
    private static final Set<String> BEARER_MECHANISMS = Set.of(OAUTHBEARER, XOAUTH2);
    /** RFC 4422 §3.1: a mechanism name is 1 to 20 of A-Z, 0-9, '-' and '_'; anything else is not logged verbatim. */
    private static final Pattern MECHANISM_NAME = Pattern.compile("[A-Z0-9_-]{1,20}");
    /** RFC 5802 §5.1 asks for a fresh random nonce: 18 bytes are 144 bits and 24 base64 characters. */
    private static final int SERVER_NONCE_BYTES = 18;
    /** HMAC-SHA-256 key length (RFC 2104 §3). */
    private static final int HMAC_KEY_BYTES = 32;
    private static final String HMAC = "HmacSHA256";
    /** The log's reason for an attempt given up while it waited for the limiter's place. */
    private static final String WITHDRAWN = "withdrawn-while-waiting";
    /**
     * Credential lookups are store reads of a fraction of a millisecond; the limiter admits only
     * a few per source, so a small pool keeps up without taking the CPUs from PBKDF2.
     */
    private static final int LOOKUP_THREADS = 4;

    private static final Logger LOG = LoggerFactory.getLogger(AuthService.class);

    private final CredentialStore credentials;
    private final AuthSettings settings;
    private final AuthLog authLog;
    /** GSSAPI's service keys and principal mapping; empty where Kerberos is not configured. */
    private final Optional<KerberosSettings> kerberos;
    private final Clock clock;
    /** OAUTHBEARER and XOAUTH2 tokens; null when no issuer is configured. */
    private final BearerTokenVerifier bearer;
    private final LoginLimiter limiter;
    /** Nobody to tell until {@link #shareBlocks}: a node alone. */
    private volatile BlockSharing sharing = new BlockSharing() {
        @Override
        public void blocked(Block block) {}

        @Override
        public void lifted(Optional<Set<String>> sources) {}
    };
    private final PasswordCache cache;
    /** Credential lookups: store reads, no PBKDF2. */
    private final ExecutorService lookups;
    /** PBKDF2, shared fairly between sources. */
    private final FairScheduler hashers;
    private final ScheduledThreadPoolExecutor timer;
    private final SecureRandom random = new SecureRandom();
    private final SecretKeySpec fakeSaltKey;
    /** Checked for unknown users so that they cost what a wrong password does: one PBKDF2 at the configured count. */
    private final String dummySecretText;

    private final AtomicLong passwordHashes = new AtomicLong();
    private final AtomicLong hashIterations = new AtomicLong();
    private final AtomicLong refusedBusy = new AtomicLong();
    private final AtomicLong waited = new AtomicLong();
    private final AtomicLong cacheHits = new AtomicLong();
    private final AtomicLong successes = new AtomicLong();
    private final AtomicLong failures = new AtomicLong();
    private final AtomicLong refusedBlocked = new AtomicLong();

    /**
     * Counters for metrics.
     *
     * @param passwordHashes PBKDF2 runs for PLAIN, LOGIN and password commands (unknown users included)
     * @param cacheHits password checks answered from the cache without PBKDF2
     * @param successes successful logins
     * @param failures failed logins counted by the limiter
     * @param blockedAttempts attempts refused at once because their source was blocked
     * @param hashIterations the PBKDF2 iterations of those runs, together: the CPU they cost
     * @param busyAttempts attempts refused before any PBKDF2 because their host, account or
     *     network already had as many checks in flight as failures left before its block, or its
     *     cap with its line of waiting attempts full
     * @param queuedChecks password checks waiting for a worker now
     * @param inFlightChecks password checks admitted by the limiter and not yet ended, now
     * @param waitingChecks attempts waiting for a place under an in-flight cap now
     * @param waitedAttempts attempts that had to wait for such a place, however they ended
     */
    public record Stats(long passwordHashes, long cacheHits, long successes, long failures, long blockedAttempts,
            long hashIterations, long busyAttempts, int queuedChecks, int inFlightChecks, int waitingChecks,
            long waitedAttempts) {}

    /**
     * @param credentials where accounts are found
     * @param settings limiter and cache numbers
     * @param clock the limiter's clock (blocks, forgetting old failures); delays use real time
     */
    public AuthService(CredentialStore credentials, AuthSettings settings, Clock clock) {
        this(credentials, settings, clock, AuthLog.NONE);
    }

    /**
     * @param credentials where accounts are found
     * @param settings limiter and cache numbers
     * @param clock the limiter's clock (blocks, forgetting old failures) and the auth log's; delays use real time
     * @param authLog told of every attempt, as the INFO log line is
     */
    public AuthService(CredentialStore credentials, AuthSettings settings, Clock clock, AuthLog authLog) {
        this(credentials, settings, clock, authLog, List.of(), Optional.empty());
    }

    /**
     * @param credentials where accounts are found
     * @param settings limiter and cache numbers
     * @param clock the limiter's clock, the auth log's, and the one tokens' {@code exp} and {@code nbf} are checked with
     * @param authLog told of every attempt, as the INFO log line is
     * @param issuers whose JWT access tokens OAUTHBEARER and XOAUTH2 accept; none: the mechanisms are not offered
     */
    public AuthService(CredentialStore credentials, AuthSettings settings, Clock clock, AuthLog authLog,
            List<OAuthIssuer> issuers) {
        this(credentials, settings, clock, authLog, issuers, Optional.empty());
    }

    /**
     * @param credentials where accounts are found
     * @param settings limiter and cache numbers
     * @param clock the limiter's clock (blocks, forgetting old failures) and the auth log's; delays use real time
     * @param authLog told of every attempt, as the INFO log line is
     * @param kerberos the service keys and principal mapping of GSSAPI; empty offers no GSSAPI
     */
    public AuthService(CredentialStore credentials, AuthSettings settings, Clock clock, AuthLog authLog,
            Optional<KerberosSettings> kerberos) {
        this(credentials, settings, clock, authLog, List.of(), kerberos);
    }

    /**
     * @param credentials where accounts are found
     * @param settings limiter and cache numbers
     * @param clock the limiter's clock, the auth log's, and the one tokens' {@code exp} and {@code nbf} are checked with
     * @param authLog told of every attempt, as the INFO log line is
     * @param issuers whose JWT access tokens OAUTHBEARER and XOAUTH2 accept; none: the mechanisms are not offered
     * @param kerberos the service keys and principal mapping of GSSAPI; empty offers no GSSAPI
     */
    public AuthService(CredentialStore credentials, AuthSettings settings, Clock clock, AuthLog authLog,
            List<OAuthIssuer> issuers, Optional<KerberosSettings> kerberos) {
        this.bearer = issuers.isEmpty() ? null : new BearerTokenVerifier(issuers, Objects.requireNonNull(clock, "clock"));
        this.credentials = Objects.requireNonNull(credentials, "credentials");
        this.settings = Objects.requireNonNull(settings, "settings");
        this.authLog = Objects.requireNonNull(authLog, "authLog");
        this.kerberos = Objects.requireNonNull(kerberos, "kerberos");
        this.clock = clock;
        this.limiter = new LoginLimiter(settings, Objects.requireNonNull(clock, "clock"));
        this.cache = new PasswordCache(settings.plainCacheSize());
        // Platform threads: a store read through JNI would hold a virtual thread's carrier anyway.
        this.lookups = Executors.newFixedThreadPool(Math.max(LOOKUP_THREADS, settings.workerThreads()),
                daemon("castellan-auth-lookup-"));
        this.hashers = new FairScheduler(settings.workerThreads(), daemon("castellan-auth-"));
        this.timer = new ScheduledThreadPoolExecutor(1, daemon("castellan-auth-delay-"));
        this.timer.setRemoveOnCancelPolicy(true);
        byte[] key = new byte[HMAC_KEY_BYTES];
        random.nextBytes(key);
        this.fakeSaltKey = new SecretKeySpec(key, HMAC);
        Arrays.fill(key, (byte) 0);
        char[] unguessable = Passwords.generate().toCharArray();
        this.dummySecretText = ScramSecret.derive(unguessable, settings.scramIterations()).encode();
        Arrays.fill(unguessable, '\0');
    }

    /**
     * SASL mechanisms to advertise on this connection, in preference order: SCRAM-SHA-256-PLUS
     * (only with TLS and a channel binding), SCRAM-SHA-256, PLAIN, LOGIN (all four only with TLS
     * or where the listener allows cleartext; where the listener requires a certificate for
     * passwords, only with one), GSSAPI (under the same conditions, and only where a service
     * principal is configured for the protocol), EXTERNAL (only with a verified client certificate),
     * OAUTHBEARER and XOAUTH2 (only with an OAuth issuer configured, under the password rule as well).
     */
    public List<String> mechanisms(AuthContext ctx) {
        List<String> names = new ArrayList<>();
        if (passwordAllowed(ctx) && !certificateMissing(ctx)) {
            if (ctx.tls() && ctx.channelBinding().isPresent()) names.add(SCRAM_SHA_256_PLUS);
            names.add(SCRAM_SHA_256);
            if (kerberos.flatMap(k -> k.servicePrincipal(ctx.protocol())).isPresent()) names.add(GSSAPI);
            names.add(PLAIN);
            names.add(LOGIN);
        }
        if (ctx.tls() && ctx.clientCertificate().isPresent()) names.add(EXTERNAL);
        // A token stands in for a password: a listener's second factor applies to it as well.
        if (bearer != null && passwordAllowed(ctx) && !certificateMissing(ctx)) names.addAll(List.of(OAUTHBEARER, XOAUTH2));
        return List.copyOf(names);
    }

    /** Whether password commands (POP3 USER/PASS, IMAP LOGIN) may be used here (docs/design.md §5.1). */
    public boolean passwordAllowed(AuthContext ctx) {
        return ctx.tls() || ctx.cleartextAllowed();
    }

    /**
     * Starts a SASL exchange. {@code initialResponse} present means the client sent one (SASL-IR,
     * POP3/SMTP AUTH initial response); an empty array means {@code "="}, an empty response.
     * Mechanism names are matched without regard to case. Never throws for client input.
     */
    public CompletionStage<SaslStep> start(AuthContext ctx, String mechanism, Optional<byte[]> initialResponse) {
        Objects.requireNonNull(ctx, "ctx");
        Objects.requireNonNull(initialResponse, "initialResponse");
        String name = mechanism == null ? "" : mechanism.toUpperCase(Locale.ROOT);
        Exchange x = new Exchange(ctx, MECHANISM_NAME.matcher(name).matches() ? name : "?");
        try {
            if (!PASSWORD_MECHANISMS.contains(name) && !name.equals(EXTERNAL) && !name.equals(GSSAPI)
                    && !BEARER_MECHANISMS.contains(name)) {
                return refuse(x, FailureKind.MECHANISM_UNAVAILABLE, "unknown-mechanism");
            }
            if (passwordPolicy(name) && !passwordAllowed(ctx)) {
                return refuse(x, FailureKind.ENCRYPTION_REQUIRED, "no-tls");
            }
            if (passwordPolicy(name) && certificateMissing(ctx)) {
                return refuse(x, FailureKind.MECHANISM_UNAVAILABLE, "certificate-required");
            }
            if (!mechanisms(ctx).contains(name)) return refuse(x, FailureKind.MECHANISM_UNAVAILABLE, "not-offered");
            Optional<CompletionStage<SaslStep>> blocked = refuseIfBlocked(x, Optional.empty());
            if (blocked.isPresent()) return blocked.get();
            synchronized (x) {
                x.machine = machine(name, ctx);
                if (name.equals(GSSAPI)) {
                    x.awaitingTicket = true;
                    if (initialResponse.isPresent()) return x.ticket(initialResponse.get().clone());
                }
                return handle(x, x.machine.start(initialResponse.map(byte[]::clone)));
            }
        } catch (RuntimeException bug) {
            return internalError(x, bug);
        }
    }

    /**
     * A plain password login (POP3 USER/PASS, IMAP LOGIN) with the same policy, limiter and log
     * as PLAIN. {@code command} names it in the log and in {@link SaslStep.Success#mechanism()}.
     * The caller keeps {@code password}; this method works on its own copy and erases it.
     */
    public CompletionStage<SaslStep> login(AuthContext ctx, String username, char[] password, String command) {
        Objects.requireNonNull(ctx, "ctx");
        String name = command == null ? "" : command.toUpperCase(Locale.ROOT);
        Exchange x = new Exchange(ctx, MECHANISM_NAME.matcher(name).matches() ? name : "?");
        try {
            if (!passwordAllowed(ctx)) return refuse(x, FailureKind.ENCRYPTION_REQUIRED, "no-tls");
            if (username == null || username.isEmpty() || password == null || password.length == 0) {
                return refuse(x, FailureKind.MALFORMED, "empty-credentials");
            }
            // Refused before any lookup: says nothing about the account, and costs no PBKDF2.
            if (certificateMissing(ctx)) return refuse(x, FailureKind.INVALID_CREDENTIALS, "certificate-required");
            Optional<CompletionStage<SaslStep>> blocked = refuseIfBlocked(x, Optional.empty());
            if (blocked.isPresent()) return blocked.get();
            synchronized (x) {
                return checkPassword(x, "", username, password.clone());
            }
        } catch (RuntimeException bug) {
            return internalError(x, bug);
        }
    }

    /** The blocks in force now (for the command line), soonest to end first. */
    public List<Block> blocks() {
        return limiter.blocks();
    }

    /**
     * Lifts the blocks, and forgets the failures, of {@code address}'s host, /24 and account pairs,
     * here and, through the {@link #shareBlocks sharing}, on every node; returns how many blocks
     * were lifted here.
     */
    public int clearBlocks(InetAddress address) {
        int lifted = limiter.clear(address);
        LOG.info("auth blocks cleared for {}: {}", address.getHostAddress(), lifted);
        sharing.lifted(Optional.of(LoginLimiter.sources(address)));
        return lifted;
    }

    /** Lifts every block and forgets every failure, here and on every node; returns how many blocks were lifted here. */
    public int clearBlocks() {
        int lifted = limiter.clearAll();
        LOG.info("auth blocks cleared for all sources: {}", lifted);
        sharing.lifted(Optional.empty());
        return lifted;
    }

    /**
     * Tells {@code sharing} of every block this node decides and every block an operator lifts
     * here, from now on (docs/security.md, "Blocks across nodes").
     */
    public void shareBlocks(BlockSharing sharing) {
        this.sharing = Objects.requireNonNull(sharing, "sharing");
        limiter.onBlock(sharing::blocked);
    }

    /** Refuses the blocks other nodes decided as this node's own; replaces those imposed before. */
    public void imposeBlocks(List<Block> blocks) {
        limiter.impose(blocks);
    }

    /**
     * Lifts, here only, what an operator lifted on another node: the blocks and counts of these
     * sources, or every one when empty. Returns how many blocks were lifted here.
     */
    public int liftBlocks(Optional<Set<String>> sources) {
        int lifted = sources.map(limiter::clear).orElseGet(limiter::clearAll);
        if (lifted > 0) LOG.info("auth blocks lifted on another node: {} here", lifted);
        return lifted;
    }

    /**
     * How long the final reply to the next attempt from this connection for {@code account}
     * (empty: before the client has named one) would be held back, given the failures so far.
     */
    public Duration pendingDelay(AuthContext ctx, Optional<String> account) {
        return limiter.delay(origin(ctx), account);
    }

    public Stats stats() {
        return new Stats(passwordHashes.get(), cacheHits.get(), successes.get(), failures.get(), refusedBlocked.get(),
                hashIterations.get(), refusedBusy.get(), hashers.queued(), limiter.inFlight(), limiter.waiting(),
                waited.get());
    }

    /**
     * Stops the worker and timer threads: password checks still queued, and attempts still
     * waiting for a place, are answered {@link FailureKind#TEMPORARY}; replies already being
     * delayed are still delivered.
     */
    @Override
    public void close() {
        limiter.close();
        lookups.shutdown();
        hashers.close();
        timer.shutdown();
    }

    // --- exchanges -------------------------------------------------------------------------

    /** One attempt: the machine and what is known so far, for the limiter and the log. */
    private final class Exchange implements SaslExchange {
        final AuthContext ctx;
        final String mechanism;
        final LoginLimiter.Origin origin;
        SaslServer machine;
        /** The user name as typed (SASLprepped when possible); logged only if it is an address. */
        String typed;
        /** The canonical account once the store has named one. */
        String account;
        /** The id of the app password that matched, if one did. */
        Long appPassword;
        /** For SAME_ACCOUNT: the accounts the client certificate names or belongs to, read on a worker. */
        List<String> certificateAccounts = List.of();
        /** The limiter's place for the check in progress, settled by the outcome. */
        LoginLimiter.Reservation reservation;
        /** While the attempt waits for that place: its turn, cancelled if the attempt is given up. */
        CompletableFuture<LoginLimiter.Admission> turn;
        /** SCRAM has sent server-first: the next response carries the proof to check. */
        boolean awaitingProof;
        /** OAUTHBEARER, XOAUTH2: the token was refused (counted and logged) and the error challenge sent. */
        boolean tokenRefused;
        /** GSSAPI has begun: the next response carries the Kerberos ticket to check. */
        boolean awaitingTicket;
        boolean done;

        Exchange(AuthContext ctx, String mechanism) {
            this.ctx = ctx;
            this.mechanism = mechanism;
            this.origin = origin(ctx);
        }

        @Override
        public synchronized CompletionStage<SaslStep> respond(byte[] clientResponse) {
            if (tokenRefused && machine != null && clientResponse != null) {
                // RFC 7628 §3.2.3: the client's %x01 after the error; the failure was counted and logged with the token.
                tokenRefused = false;
                machine.respond(clientResponse.clone());
                return CompletableFuture.completedFuture(new SaslStep.Failure(FailureKind.INVALID_CREDENTIALS));
            }
            if (done || machine == null || clientResponse == null || turn != null) {
                return CompletableFuture.completedFuture(new SaslStep.Failure(FailureKind.MALFORMED));
            }
            byte[] response = clientResponse.clone();
            if (awaitingProof) {
                // Admitted before the proof is checked, as a password is before its PBKDF2.
                awaitingProof = false;
                return inTurn(this, () -> checkProof(response), () -> {});
            }
            if (awaitingTicket) return ticket(response);
            try {
                return handle(this, machine.respond(response));
            } catch (RuntimeException bug) {
                return internalError(this, bug);
            }
        }

        /**
         * GSSAPI's first token, admitted by the limiter as a password is before its PBKDF2, then
         * checked on a lookup thread: it reads the keytab and the replay cache. Called with this
         * exchange locked.
         */
        CompletionStage<SaslStep> ticket(byte[] token) {
            awaitingTicket = false;
            return inTurn(this, () -> onLookup(this, () -> {
                synchronized (this) {
                    return checkProof(token);
                }
            }), () -> {});
        }

        /**
         * SCRAM's client-final message or GSSAPI's ticket, admitted by the limiter; called with
         * this exchange locked. The place is given back if the exchange goes on.
         */
        private CompletionStage<SaslStep> checkProof(byte[] response) {
            try {
                return handle(this, machine.respond(response));
            } catch (RuntimeException bug) {
                return internalError(this, bug);
            } finally {
                if (!done && reservation != null) {
                    reservation.cancelled();
                    reservation = null;
                }
            }
        }

        @Override
        public synchronized CompletionStage<SaslStep> abort() {
            if (!done) {
                done = true;
                // Still waiting for its place: it leaves the line, and the proof is never checked.
                boolean withdrawn = turn != null && turn.cancel(false);
                settle(this, Settlement.NONE);
                log(this, "ABORTED", withdrawn ? WITHDRAWN : null, Duration.ZERO);
            }
            return CompletableFuture.completedFuture(new SaslStep.Failure(FailureKind.ABORTED));
        }

        /** The limiter's account for this attempt: the canonical one, else the name typed. */
        Optional<String> limiterAccount() {
            return Optional.ofNullable(account != null ? account : typed);
        }
    }

    private SaslServer machine(String name, AuthContext ctx) {
        return switch (name) {
            case PLAIN -> new PlainServer();
            case LOGIN -> new LoginServer();
            case EXTERNAL -> new ExternalServer();
            case OAUTHBEARER -> BearerServer.oauthBearer();
            case XOAUTH2 -> BearerServer.xoauth2();
            case GSSAPI -> new GssapiServer(kerberos.orElseThrow().servicePrincipal(ctx.protocol()).orElseThrow(),
                    kerberos.orElseThrow().keytab());
            case SCRAM_SHA_256, SCRAM_SHA_256_PLUS -> new ScramServer(name.equals(SCRAM_SHA_256_PLUS),
                    ctx.channelBinding().map(b -> new ScramServer.Binding(b.type(), b.data())),
                    mechanisms(ctx).contains(SCRAM_SHA_256_PLUS), serverNonce());
            default -> throw new IllegalStateException("no machine for " + name);
        };
    }

    /** Acts on a machine's step; called with the exchange's lock held. */
    private CompletionStage<SaslStep> handle(Exchange x, SaslResult result) {
        return switch (result) {
            case SaslResult.Challenge c -> CompletableFuture.completedFuture(new SaslStep.Challenge(c.data(), x));
            case SaslResult.PasswordCredentials p -> checkPassword(x, p.authzid(), p.username(), p.password());
            case SaslResult.NeedCredential n -> scramCredential(x, n);
            case SaslResult.ExternalIdentity e -> external(x, e.authzid());
            case SaslResult.BearerToken b -> bearerToken(x, b);
            case SaslResult.Principal p -> kerberosAccount(x, p);
            case SaslResult.Verified v -> !authzidMatches(v.authzid(), x.account)
                    ? fail(x, FailureKind.INVALID_CREDENTIALS, "authzid-differs", true)
                    : !certificateNamesAccount(x)
                            ? fail(x, FailureKind.INVALID_CREDENTIALS, "certificate-names-another-account", true)
                            : succeed(x, v.serverFinal());
            case SaslResult.Failed f -> failed(x, f.reason());
        };
    }

    private CompletionStage<SaslStep> failed(Exchange x, SaslFailure reason) {
        String detail = reason.name().toLowerCase(Locale.ROOT).replace('_', '-')
                + (x.machine instanceof GssapiServer g ? g.refusal().map(r -> " " + r).orElse("") : "");
        return reason.credentials()
                ? fail(x, FailureKind.INVALID_CREDENTIALS, detail, true)
                : fail(x, FailureKind.MALFORMED, detail, false);
    }

    /** PLAIN, LOGIN and password commands. Erases {@code password} when done. */
    private CompletionStage<SaslStep> checkPassword(Exchange x, String authzid, String username, char[] password) {
        String name = prepare(username);
        x.typed = name != null ? name : username;
        if (name == null) {
            Arrays.fill(password, '\0');
            return fail(x, FailureKind.INVALID_CREDENTIALS, "unusable-name", true);
        }
        // Counted before anything is looked up: a flood is refused or held here, on the caller's thread.
        return inTurn(x, () -> {
            try {
                return unavailableOnError(x, CompletableFuture.supplyAsync(
                        () -> lookUpPassword(x, authzid, name, password), lookups));
            } catch (RejectedExecutionException closed) {
                Arrays.fill(password, '\0');
                return closed(x);
            }
        }, () -> Arrays.fill(password, '\0'));
    }

    /**
     * On a lookup thread, admitted by the limiter: the account and the secrets to check. A
     * password the cache verified succeeds here, without PBKDF2 and without waiting for the
     * hashing workers; any other is queued for them in its source's turn.
     */
    private CompletionStage<SaslStep> lookUpPassword(Exchange x, String authzid, String name, char[] password) {
        boolean handedOver = false;
        try {
            List<Candidate> candidates;
            synchronized (x) {
                x.certificateAccounts = certificateAccounts(x.ctx);
                Optional<StoredCredential> stored = credentials.find(name);
                if (stored.isPresent()) x.account = stored.get().account();
                candidates = candidates(x, stored, password);
                for (Candidate c : candidates) {
                    if (c.decoy() || !cache.contains(x.account, c.secret(), password)) continue;
                    // A secret to re-derive needs a PBKDF2 after all: it takes the hashing workers' path.
                    if (c.app() == null && needsRehash(x.account, c.secret())) break;
                    cacheHits.incrementAndGet();
                    return verified(x, authzid, c, password);
                }
            }
            CompletableFuture<CompletionStage<SaslStep>> checked = hashers.submit(x.origin.source(), () -> {
                synchronized (x) {
                    try {
                        return hashPassword(x, authzid, candidates, password);
                    } finally {
                        Arrays.fill(password, '\0');
                    }
                }
            });
            handedOver = true;
            // A check dropped by close() never runs: its password is erased here instead.
            checked.whenComplete((step, e) -> {
                if (e != null) Arrays.fill(password, '\0');
            });
            return unavailableOnError(x, checked);
        } catch (RejectedExecutionException closed) {
            synchronized (x) {
                return closed(x);
            }
        } finally {
            if (!handedOver) Arrays.fill(password, '\0');
        }
    }

    /**
     * One secret a password is checked against.
     *
     * @param app the app password it belongs to; null for the main password and the decoy
     * @param decoy the secret checked for an unknown user, so that it costs what a known one does
     */
    private record Candidate(String secret, CredentialStore.AppSecret app, boolean decoy, String what) {}

    /**
     * The secrets to check {@code x}'s password against (docs/authentication.md): the app
     * password on this protocol whose selector begins it, alone; else the main password, then any
     * app passwords on this protocol stored before selectors existed. For an unknown user, the
     * decoy. So every failure path — unknown user, wrong password, wrong app password — costs one
     * PBKDF2 of the same count, however many app passwords the account has; only app passwords
     * without a selector add one each.
     */
    private List<Candidate> candidates(Exchange x, Optional<StoredCredential> stored, char[] password) {
        if (stored.isEmpty()) return List.of(new Candidate(dummySecretText, null, true, "decoy"));
        Optional<String> selector = Passwords.selector(password);
        List<Candidate> candidates = new ArrayList<>();
        candidates.add(new Candidate(stored.get().secret(), null, false, "password"));
        // An app password only on a protocol in its scope; a revoked one is no longer listed.
        for (CredentialStore.AppSecret app : credentials.appPasswords(x.account)) {
            if (!app.protocols().contains(x.ctx.protocol())) continue;
            Candidate c = new Candidate(app.secret(), app, false, "app password " + app.id());
            if (app.selector().isEmpty()) candidates.add(c);
            else if (app.selector().equals(selector)) return List.of(c);
        }
        return candidates;
    }

    /** On a hashing worker, with the exchange locked: PBKDF2 against each candidate until one matches. */
    private CompletionStage<SaslStep> hashPassword(Exchange x, String authzid, List<Candidate> candidates, char[] password) {
        for (Candidate c : candidates) {
            if (matches(c.decoy() ? "" : x.account, c.secret(), password, c.what())) {
                if (c.decoy()) break;
                return verified(x, authzid, c, password);
            }
        }
        return fail(x, FailureKind.INVALID_CREDENTIALS, x.account == null ? "unknown-user" : "wrong-password", true);
    }

    /** The password matched {@code c}: the policy checks that remain, then success. */
    private CompletionStage<SaslStep> verified(Exchange x, String authzid, Candidate c, char[] password) {
        if (c.app() != null) x.appPassword = c.app().id();
        if (!authzidMatches(authzid, x.account)) {
            return fail(x, FailureKind.INVALID_CREDENTIALS, "authzid-differs", true);
        }
        if (!certificateNamesAccount(x)) {
            return fail(x, FailureKind.INVALID_CREDENTIALS, "certificate-names-another-account", true);
        }
        if (c.app() == null) rehash(x.account, c.secret(), password);
        return succeed(x, new byte[0]);
    }

    /**
     * After a successful password login: a main secret whose iteration count is not the configured
     * one is derived anew from the password that just proved right, and replaced if the store
     * still holds the old one. This is the only moment the server has the password, so a changed
     * {@code scramIterations} (such as a count SCRAM clients refuse, above
     * {@link ScramSecret#MAX_INTEROPERABLE_ITERATIONS}) reaches each account at its next PLAIN,
     * LOGIN or password-command login; SCRAM logins never see the password and leave it as it is.
     * A failure here is logged and changes nothing about the login.
     */
    private void rehash(String account, String secretText, char[] password) {
        if (!needsRehash(account, secretText)) return;
        int from = parseSecret(account, secretText, "password").iterations();
        try {
            passwordHashes.incrementAndGet();
            hashIterations.addAndGet(settings.scramIterations());
            String fresh = ScramSecret.derive(password, settings.scramIterations()).encode();
            if (credentials.replaceSecret(account, secretText, fresh)) {
                cache.add(account, fresh, password);
                LOG.info("auth re-derived the password secret of {}: {} iterations, was {}", account,
                        settings.scramIterations(), from);
            }
        } catch (RuntimeException e) {
            LOG.warn("auth could not re-derive the password secret of {} ({} iterations): {}", account, from,
                    e.toString());
        }
    }

    /** Whether a main secret has another iteration count than configured, to be derived anew at a login. */
    private boolean needsRehash(String account, String secretText) {
        return parseSecret(account, secretText, "password").iterations() != settings.scramIterations();
    }

    /**
     * Checks {@code password} against one stored secret, from the cache when it verified recently.
     * The cache is keyed by the secret itself, so a changed password or a revoked app password
     * (whose secret is no longer offered) always misses.
     */
    private boolean matches(String account, String secretText, char[] password, String what) {
        if (cache.contains(account, secretText, password)) {
            cacheHits.incrementAndGet();
            return true;
        }
        ScramSecret secret = parseSecret(account, secretText, what);
        passwordHashes.incrementAndGet();
        hashIterations.addAndGet(secret.iterations());
        boolean right = secret.verifyPassword(password);
        if (right) cache.add(account, secretText, password);
        return right;
    }

    /** SCRAM has read client-first: find the account's secret, or invent a salt for a missing one. */
    private CompletionStage<SaslStep> scramCredential(Exchange x, SaslResult.NeedCredential need) {
        String name = prepare(need.username());
        x.typed = name != null ? name : need.username();
        if (name == null) return fail(x, FailureKind.INVALID_CREDENTIALS, "unusable-name", true);
        Optional<CompletionStage<SaslStep>> blocked = refuseIfBlocked(x, x.limiterAccount());
        if (blocked.isPresent()) return blocked.get();
        ScramServer scram = (ScramServer) x.machine;
        return onLookup(x, () -> {
            Optional<StoredCredential> stored = credentials.find(name);
            ScramSecret secret = stored.isPresent() ? parseSecret(stored.get()) : null;
            List<String> owners = certificateAccounts(x.ctx);
            synchronized (x) {
                x.certificateAccounts = owners;
                x.awaitingProof = true;
                if (secret == null) return handle(x, scram.unknownUser(fakeSalt(name), settings.scramIterations()));
                x.account = stored.get().account();
                return handle(x, scram.credential(secret));
            }
        });
    }

    /**
     * EXTERNAL: the account the verified certificate is bound to, else the first account it names.
     * A certificate with neither authenticates nobody, however trusted its CA.
     */
    private CompletionStage<SaslStep> external(Exchange x, String authzid) {
        return onLookup(x, () -> {
            X509Certificate certificate = x.ctx.clientCertificate().orElseThrow();
            List<String> names = new ArrayList<>();
            credentials.certificateBinding(certificate).ifPresent(names::add);
            names.addAll(CertificateAccounts.candidates(certificate));
            synchronized (x) {
                if (!names.isEmpty()) x.typed = names.getFirst();
            }
            for (String name : names) {
                Optional<StoredCredential> stored = credentials.find(name);
                if (stored.isPresent()) {
                    synchronized (x) {
                        x.account = stored.get().account();
                        if (!authzidMatches(authzid, x.account)) {
                            return fail(x, FailureKind.INVALID_CREDENTIALS, "authzid-differs", true);
                        }
                        return succeed(x, new byte[0]);
                    }
                }
            }
            synchronized (x) {
                return fail(x, FailureKind.INVALID_CREDENTIALS, "certificate-names-no-account", true);
            }
        });
    }

    /**
     * OAUTHBEARER, XOAUTH2: admitted by the limiter like a password, then verified on a lookup
     * thread (the issuer's keys may have to be fetched) and the account it names looked up. A
     * refused token is a counted failure answered with the RFC 7628 §3.2.2 error challenge.
     */
    private CompletionStage<SaslStep> bearerToken(Exchange x, SaslResult.BearerToken token) {
        if (!token.authzid().isEmpty()) x.typed = prepare(token.authzid());
        return inTurn(x, () -> onLookup(x, () -> verifyToken(x, token)), () -> {});
    }

    /** On a lookup thread, admitted by the limiter. */
    private CompletionStage<SaslStep> verifyToken(Exchange x, SaslResult.BearerToken token) {
        BearerTokenVerifier.Verdict verdict = bearer.verify(token.token());
        switch (verdict) {
            case BearerTokenVerifier.Verdict.Unavailable u -> {
                LOG.warn("auth listener={} protocol={} remote={}: cannot verify a token of {}: {}", x.ctx.listener(),
                        x.ctx.protocol(), x.ctx.remote().getHostAddress(), u.issuer().issuer(), u.reason());
                synchronized (x) {
                    return refuse(x, FailureKind.TEMPORARY, "issuer-unavailable");
                }
            }
            case BearerTokenVerifier.Verdict.Invalid i -> {
                synchronized (x) {
                    return refuseToken(x, i.issuer(), "invalid-token " + i.reason());
                }
            }
            case BearerTokenVerifier.Verdict.Valid v -> {
                Optional<StoredCredential> stored = credentials.find(v.name());
                List<String> owners = certificateAccounts(x.ctx);
                synchronized (x) {
                    x.certificateAccounts = owners;
                    if (x.typed == null) x.typed = v.name();
                    if (stored.isEmpty()) return refuseToken(x, Optional.of(v.issuer()), "unknown-user");
                    x.account = stored.get().account();
                    if (!authzidMatches(token.authzid(), x.account)) {
                        return refuseToken(x, Optional.of(v.issuer()), "authzid-differs");
                    }
                    if (!certificateNamesAccount(x)) {
                        return refuseToken(x, Optional.of(v.issuer()), "certificate-names-another-account");
                    }
                    return succeed(x, new byte[0]);
                }
            }
        }
    }

    /**
     * A counted failure, logged now, whose reply is the RFC 7628 §3.2.2 error challenge; the
     * client's answer to it gets the failure itself. Held back by the limiter as any final reply is.
     */
    private CompletionStage<SaslStep> refuseToken(Exchange x, Optional<OAuthIssuer> issuer, String detail) {
        x.done = true;
        Duration delay = limiter.delay(x.origin, x.limiterAccount());
        settle(x, Settlement.FAILURE);
        failures.incrementAndGet();
        log(x, FailureKind.INVALID_CREDENTIALS.name(), detail, delay);
        OAuthIssuer named = issuer.orElse(bearer.issuers().getFirst());
        SaslResult error = ((BearerServer) x.machine).refuse(named.requiredScope(), Optional.of(named.openidConfiguration()));
        x.tokenRefused = true;
        return later(new SaslStep.Challenge(((SaslResult.Challenge) error).data(), x), delay);
    }

    /**
     * GSSAPI: the account the authenticated principal maps to (KerberosSettings#accountName),
     * which must exist. A principal that maps to none, or to a missing account, is a counted
     * failure, like an unknown user's password.
     */
    private CompletionStage<SaslStep> kerberosAccount(Exchange x, SaslResult.Principal principal) {
        Optional<String> name = kerberos.orElseThrow().accountName(principal.principal()).map(AuthService::prepare);
        x.typed = name.orElse(null);
        if (name.isEmpty()) return fail(x, FailureKind.INVALID_CREDENTIALS, "principal-not-mapped", true);
        return onLookup(x, () -> {
            Optional<StoredCredential> stored = credentials.find(name.get());
            List<String> owners = certificateAccounts(x.ctx);
            synchronized (x) {
                x.certificateAccounts = owners;
                if (stored.isEmpty()) return fail(x, FailureKind.INVALID_CREDENTIALS, "principal-names-no-account", true);
                x.account = stored.get().account();
                return handle(x, new SaslResult.Verified(principal.authzid(), principal.principal(), new byte[0]));
            }
        });
    }

    /**
     * Mechanisms under the password policy: offered and accepted only with TLS or where the
     * listener allows cleartext, and only with a certificate where the listener asks for one with
     * every password. GSSAPI exposes no password, and a bearer token (once an issuer is
     * configured) stands in for one, but both are kept under the same policy: one rule for every
     * mechanism that logs in by something the user holds other than the certificate.
     */
    private boolean passwordPolicy(String mechanism) {
        return PASSWORD_MECHANISMS.contains(mechanism) || mechanism.equals(GSSAPI)
                || (BEARER_MECHANISMS.contains(mechanism) && bearer != null);
    }

    /** The listener wants a certificate with every password and this connection has none verified. */
    private static boolean certificateMissing(AuthContext ctx) {
        return ctx.certificateForPassword() != CertificateForPassword.NO && ctx.clientCertificate().isEmpty();
    }

    /**
     * For {@link CertificateForPassword#SAME_ACCOUNT}: whether the verified certificate names the
     * account the password just proved, so that one user's device cannot carry another's password.
     */
    private static boolean certificateNamesAccount(Exchange x) {
        if (x.ctx.certificateForPassword() != CertificateForPassword.SAME_ACCOUNT) return true;
        return x.account != null && x.certificateAccounts.stream().anyMatch(name -> name.equalsIgnoreCase(x.account));
    }

    /** On a worker: the addresses the certificate carries, the account it is bound to and the owners the CA recorded. */
    private List<String> certificateAccounts(AuthContext ctx) {
        Optional<X509Certificate> certificate = ctx.clientCertificate();
        if (ctx.certificateForPassword() != CertificateForPassword.SAME_ACCOUNT || certificate.isEmpty()) return List.of();
        List<String> names = new ArrayList<>(CertificateAccounts.candidates(certificate.get()));
        credentials.certificateBinding(certificate.get()).ifPresent(names::add);
        names.addAll(credentials.certificateOwners(certificate.get()));
        return List.copyOf(names);
    }

    /** RFC 4422 §3.4.1: Castellan offers no proxy authorization, so an authzid is empty or the account itself. */
    private static boolean authzidMatches(String authzid, String account) {
        return authzid.isEmpty() || (account != null && authzid.equalsIgnoreCase(account));
    }

    // --- outcomes ----------------------------------------------------------------------------

    private CompletionStage<SaslStep> succeed(Exchange x, byte[] serverFinal) {
        x.done = true;
        Duration delay = limiter.delay(x.origin, x.limiterAccount());
        settle(x, Settlement.SUCCESS);
        successes.incrementAndGet();
        log(x, "OK", null, delay);
        return later(new SaslStep.Success(x.account, x.mechanism, serverFinal), delay);
    }

    /**
     * Ends an attempt that reached the credentials. Every final reply from a source with failures
     * beyond the free ones is held back, success included, so that an attacker cannot give up
     * waiting early and read a quick answer as success.
     */
    private CompletionStage<SaslStep> fail(Exchange x, FailureKind kind, String detail, boolean counted) {
        x.done = true;
        Duration delay = limiter.delay(x.origin, x.limiterAccount());
        settle(x, counted ? Settlement.FAILURE : Settlement.NONE);
        if (counted) failures.incrementAndGet();
        log(x, kind.name(), detail, delay);
        return later(new SaslStep.Failure(kind), delay);
    }

    /** Ends an attempt refused by policy before any credential was looked at: no count, no delay. */
    private CompletionStage<SaslStep> refuse(Exchange x, FailureKind kind, String detail) {
        x.done = true;
        settle(x, Settlement.NONE);
        log(x, kind.name(), detail, Duration.ZERO);
        return CompletableFuture.completedFuture(new SaslStep.Failure(kind));
    }

    /** How an attempt's outcome settles its limiter reservation, or counts without one. */
    private enum Settlement { SUCCESS, FAILURE, NONE }

    /**
     * Tells the limiter how the attempt ended: through its reservation if it has one, else
     * directly (cached passwords, certificates, names refused before any lookup).
     */
    private void settle(Exchange x, Settlement outcome) {
        LoginLimiter.Reservation reservation = x.reservation;
        x.reservation = null;
        switch (outcome) {
            case SUCCESS -> {
                if (reservation != null) reservation.succeeded(x.account);
                else limiter.success(x.origin, x.account);
            }
            case FAILURE -> {
                if (reservation != null) reservation.failed(x.limiterAccount());
                else limiter.failure(x.origin, x.limiterAccount());
            }
            case NONE -> {
                if (reservation != null) reservation.cancelled();
            }
        }
    }

    private Optional<CompletionStage<SaslStep>> refuseIfBlocked(Exchange x, Optional<String> account) {
        Optional<Block> block = limiter.blocked(x.origin, account);
        if (block.isEmpty()) return Optional.empty();
        return Optional.of(refuseBlocked(x, block.get()));
    }

    private CompletionStage<SaslStep> refuseBlocked(Exchange x, Block block) {
        refusedBlocked.incrementAndGet();
        return refuse(x, FailureKind.TEMPORARY, "blocked source=" + block.source()
                + block.account().map(a -> " pair=" + a).orElse("") + " until=" + block.until());
    }

    /**
     * Takes the limiter's place for the check about to start (LoginLimiter#admitInTurn), with the
     * exchange locked, then runs {@code check}: at once if there is room, else once the place is
     * free, on a lookup thread with the exchange locked. A refusal ends the attempt with TEMPORARY
     * before any PBKDF2, uncounted: a blocked source, one whose checks in flight already use the
     * failures it has left before its block, or one whose line of waiting attempts is full.
     *
     * <p>The reply of an attempt that waits may be cancelled (its connection closed): the attempt
     * leaves the line, and its check never runs. {@code dropped} erases what the check would have
     * used, whenever it will not run.
     */
    private CompletionStage<SaslStep> inTurn(Exchange x, Supplier<CompletionStage<SaslStep>> check, Runnable dropped) {
        CompletableFuture<LoginLimiter.Admission> turn = limiter.admitInTurn(x.origin, x.limiterAccount());
        if (turn.isDone()) {
            if (turn.isCompletedExceptionally()) {
                dropped.run();
                return closed(x);
            }
            return admitted(x, turn.join(), check, dropped);
        }
        waited.incrementAndGet();
        x.turn = turn;
        CompletableFuture<SaslStep> reply = new CompletableFuture<>();
        turn.whenComplete((admission, error) -> {
            if (turn.isCancelled()) {
                // Given up while waiting (abort, or the reply cancelled below): nothing was checked.
                dropped.run();
                reply.complete(new SaslStep.Failure(FailureKind.ABORTED));
                return;
            }
            // Not on this thread: it has just settled another attempt, and may hold that exchange.
            try {
                unavailableOnError(x, CompletableFuture.supplyAsync(() -> {
                    synchronized (x) {
                        return afterTurn(x, admission, error, check, dropped);
                    }
                }, lookups)).whenComplete((step, e) -> complete(reply, step, e));
            } catch (RejectedExecutionException closed) {
                CompletionStage<SaslStep> refused;
                synchronized (x) {
                    refused = afterTurn(x, admission, closed, check, dropped);
                }
                refused.whenComplete((step, e) -> complete(reply, step, e));
            }
        });
        reply.whenComplete((step, e) -> {
            if (reply.isCancelled() && turn.cancel(false)) {
                synchronized (x) {
                    if (!x.done) {
                        x.done = true;
                        x.turn = null;
                        log(x, "ABORTED", WITHDRAWN, Duration.ZERO);
                    }
                }
            }
        });
        return reply;
    }

    /** The waiting attempt's place is decided; with the exchange locked. */
    private CompletionStage<SaslStep> afterTurn(Exchange x, LoginLimiter.Admission admission, Throwable error,
            Supplier<CompletionStage<SaslStep>> check, Runnable dropped) {
        x.turn = null;
        if (error != null || x.done) {
            // Shut down, or aborted just as its place came: the place goes back, the check never runs.
            if (admission instanceof LoginLimiter.Admitted a) a.reservation().cancelled();
            dropped.run();
            return error != null ? closed(x) : CompletableFuture.completedFuture(new SaslStep.Failure(FailureKind.ABORTED));
        }
        return admitted(x, admission, check, dropped);
    }

    /** Acts on the limiter's decision for the check about to start; with the exchange locked. */
    private CompletionStage<SaslStep> admitted(Exchange x, LoginLimiter.Admission admission,
            Supplier<CompletionStage<SaslStep>> check, Runnable dropped) {
        switch (admission) {
            case LoginLimiter.Admitted a -> {
                x.reservation = a.reservation();
                return check.get();
            }
            case LoginLimiter.Blocked b -> {
                dropped.run();
                return refuseBlocked(x, b.block());
            }
            case LoginLimiter.Busy b -> {
                dropped.run();
                refusedBusy.incrementAndGet();
                return refuse(x, FailureKind.TEMPORARY, "busy source=" + b.source()
                        + b.account().map(a -> " pair=" + a).orElse("") + " in-flight=" + b.inFlight()
                        + (b.waiting() > 0 ? " waiting=" + b.waiting() : ""));
            }
        }
    }

    private static void complete(CompletableFuture<SaslStep> reply, SaslStep step, Throwable error) {
        if (error != null) reply.completeExceptionally(error);
        else reply.complete(step);
    }

    /** Runs {@code work} (store reads, never PBKDF2) on a lookup thread. */
    private CompletionStage<SaslStep> onLookup(Exchange x, Supplier<CompletionStage<SaslStep>> work) {
        try {
            return unavailableOnError(x, CompletableFuture.supplyAsync(work, lookups));
        } catch (RejectedExecutionException closed) {
            return closed(x);
        }
    }

    private CompletionStage<SaslStep> unavailableOnError(Exchange x, CompletableFuture<CompletionStage<SaslStep>> work) {
        return work.thenCompose(step -> step).exceptionallyCompose(e -> {
            Throwable cause = e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
            synchronized (x) {
                return cause instanceof RejectedExecutionException ? closed(x) : unavailable(x, cause);
            }
        });
    }

    /** The store failed or a stored secret is unreadable: try later; no count, no hint. */
    private CompletionStage<SaslStep> unavailable(Exchange x, Throwable cause) {
        LOG.warn("auth listener={} protocol={} remote={}: cannot check credentials{}: {}", x.ctx.listener(),
                x.ctx.protocol(), x.ctx.remote().getHostAddress(),
                x.account != null ? " of " + x.account : "", cause.toString());
        return refuse(x, FailureKind.TEMPORARY, "credentials-unavailable");
    }

    private CompletionStage<SaslStep> internalError(Exchange x, RuntimeException bug) {
        LOG.warn("auth listener={} protocol={} remote={}: internal error in {}", x.ctx.listener(), x.ctx.protocol(),
                x.ctx.remote().getHostAddress(), x.mechanism, bug);
        return refuse(x, FailureKind.TEMPORARY, "internal-error");
    }

    private CompletionStage<SaslStep> closed(Exchange x) {
        return refuse(x, FailureKind.TEMPORARY, "service-closed");
    }

    private CompletionStage<SaslStep> later(SaslStep step, Duration delay) {
        if (delay.isZero()) return CompletableFuture.completedFuture(step);
        CompletableFuture<SaslStep> reply = new CompletableFuture<>();
        try {
            timer.schedule(() -> reply.complete(step), delay.toMillis(), TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException closed) {
            reply.complete(new SaslStep.Failure(FailureKind.TEMPORARY));
        }
        return reply;
    }

    private void log(Exchange x, String result, String detail, Duration delay) {
        String user = x.account != null ? x.account
                : x.typed != null && EmailAddress.parse(x.typed).ok() ? x.typed : "-";
        LOG.info("{} auth listener={} protocol={} remote={} mechanism={} user={} result={}{}{} cert={} delay={}ms",
                x.ctx.session(), x.ctx.listener(), x.ctx.protocol(), x.ctx.remote().getHostAddress(), x.mechanism, user, result,
                detail == null ? "" : " reason=" + detail, x.appPassword == null ? "" : " app-password=" + x.appPassword,
                x.ctx.clientCertificate().isPresent() ? "yes" : "no", delay.toMillis());
        try {
            authLog.record(new AuthLog.Attempt(clock.instant(), x.ctx.remote().getHostAddress(), x.ctx.listener(),
                    x.ctx.protocol(), x.mechanism, user.equals("-") ? Optional.empty() : Optional.of(user), result,
                    x.ctx.tlsVersion(), x.ctx.clientCertificate().map(LoginLimiter::fingerprint),
                    Optional.ofNullable(x.appPassword), Optional.ofNullable(detail)));
        } catch (RuntimeException e) {
            LOG.warn("auth log: cannot record an attempt: {}", e.toString());
        }
    }

    // --- helpers -----------------------------------------------------------------------------

    private static LoginLimiter.Origin origin(AuthContext ctx) {
        return LoginLimiter.origin(ctx.remote(), ctx.clientCertificate());
    }

    /** SASLprep of a user name (RFC 5802 §5.1, RFC 4616 §2); null if it cannot be a name. */
    private static String prepare(String username) {
        try {
            return SaslPrep.prepare(username, false);
        } catch (IllegalArgumentException unusable) {
            return null;
        }
    }

    private ScramSecret parseSecret(StoredCredential stored) {
        return parseSecret(stored.account(), stored.secret(), "password");
    }

    private static ScramSecret parseSecret(String account, String secret, String what) {
        try {
            return ScramSecret.parse(secret);
        } catch (IllegalArgumentException e) {
            throw new IllegalStateException("the stored " + what + " secret of " + account
                    + " is unreadable (" + e.getMessage() + "); set it again", e);
        }
    }

    private String serverNonce() {
        byte[] nonce = new byte[SERVER_NONCE_BYTES];
        random.nextBytes(nonce);
        return Base64.getEncoder().encodeToString(nonce);
    }

    /** The same salt for the same missing name every time in this process, unrelated to any real one. */
    private byte[] fakeSalt(String name) {
        try {
            Mac mac = Mac.getInstance(HMAC);
            mac.init(fakeSaltKey);
            return Arrays.copyOf(mac.doFinal(name.toLowerCase(Locale.ROOT).getBytes(StandardCharsets.UTF_8)),
                    ScramSecret.SALT_BYTES);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("this JDK lacks " + HMAC, e);
        }
    }

    private static ThreadFactory daemon(String prefix) {
        AtomicInteger count = new AtomicInteger();
        return task -> {
            Thread thread = new Thread(task, prefix + count.incrementAndGet());
            thread.setDaemon(true);
            return thread;
        };
    }
}
