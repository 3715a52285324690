package org.castellan.bench.auth;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PrintStream;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.UnaryOperator;
import javax.net.ssl.ExtendedSSLSession;
import javax.net.ssl.KeyManager;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.security.auth.Subject;
import javax.security.auth.callback.Callback;
import javax.security.auth.callback.NameCallback;
import javax.security.auth.callback.PasswordCallback;
import javax.security.auth.login.AppConfigurationEntry;
import javax.security.auth.login.Configuration;
import javax.security.auth.login.LoginContext;
import javax.security.sasl.Sasl;
import javax.security.sasl.SaslClient;
import org.castellan.security.auth.AuthContext;
import org.castellan.security.auth.AuthService;
import org.castellan.security.auth.AuthSettings;
import org.castellan.security.auth.CredentialStore;
import org.castellan.security.auth.SaslStep;
import org.castellan.security.pki.Pem;
import org.castellan.security.auth.ScramSecret;
import org.castellan.testkit.ScramClient;
import org.castellan.testkit.TestPki;

/**
 * Logins per second and per CPU-second ("per core"), measured two ways in one run:
 *
 * <ol>
 *   <li><b>AuthService</b>, in this JVM: PLAIN cold (the verification cache off, so one PBKDF2
 *       per login), PLAIN cached, SCRAM-SHA-256 (the client's SaltedPassword computed once, so
 *       client work is a few HMACs), and attempts from a blocked source. CPU is this process's.</li>
 *   <li><b>IMAP</b>, against Castellan in a child JVM on loopback: {@code LOGIN} (PLAIN's path,
 *       cached after the first), {@code AUTHENTICATE SCRAM-SHA-256}, and {@code AUTHENTICATE
 *       PLAIN} from a blocked source address. One TCP connection per login (a session logs in
 *       once), without TLS ({@code cleartext-auth = true} on loopback) so that the figure is the
 *       login's, not the handshake's (HandshakeBench measures that). CPU is the server
 *       process's only; its log goes to a file.</li>
 *   <li><b>IMAPS</b>, the same server's implicit-TLS listener, every mechanism a client of a
 *       TLS 1.3 connection may use, each login a full one: connect, a full handshake (BoringSSL on
 *       the server; a new client context per login, so nothing is resumed), AUTHENTICATE or
 *       LOGIN, LOGOUT. {@code LOGIN} (cached), {@code SCRAM-SHA-256}, {@code SCRAM-SHA-256-PLUS}
 *       bound by {@code tls-exporter} (RFC 9266; the client's value from the JDK's own exporter),
 *       {@code GSSAPI} (RFC 4752) with a ticket from an MIT KDC started for the run
 *       ({@link BenchRealm}; skipped when MIT Kerberos is not installed), and {@code OAUTHBEARER}
 *       (RFC 7628) with an RS256 JWT access token whose issuer's keys this process serves
 *       ({@link BenchIssuer}). The cases run in the order given, rotated by {@code rotate}, so
 *       that runs can alternate which mechanism meets the machine's load first, after a warm-up
 *       pass over all of them.</li>
 * </ol>
 *
 * <p>Arguments: {@code [seconds=5] [scram-iterations=4096] [threads=cores] [paths=all|imaps] [rotate=0]};
 * {@code paths=imaps} runs the IMAPS cases only.
 */
public final class LoginBench {

    static final String ACCOUNT = "bench@example.org";
    static final String PASSWORD = "correct horse battery staple";
    private static final int WARM_UP_SECONDS = 2;
    /**
     * The first pass over the IMAPS cases, each this long: with 2 s, the case measured first was
     * still the slowest per CPU-second in each of three runs (the server compiling its TLS path).
     */
    static final int TLS_WARM_UP_SECONDS = 8;
    private static final InetAddress CLIENT = loopback("127.0.0.1");
    /** Any loopback address on Linux; blocked after its first failure in the IMAP runs. */
    private static final InetAddress BLOCKED = loopback("127.0.0.66");
    /** A server that has not printed its ready line in this time did not start. */
    private static final long START_LIMIT_SECONDS = 60;
    /** How long a client waits before logging in again after a temporary refusal, as imap/Fill does. */
    private static final long RETRY_MILLIS = 100;
    /** The GSSAPI case's principal, {@code bench@BENCH.REALM}: the account by {@code realm-domain}. */
    private static final String KERBEROS_USER = "bench";
    private static final String KERBEROS_PASSWORD = "correct-horse-battery-staple";
    /** RFC 5802 §7 with RFC 9266's binding type. */
    private static final String TLS_EXPORTER = "p=tls-exporter,,";
    private static final MethodHandle EXPORT = exportKeyingMaterial();

    record Result(String path, String kind, long logins, double seconds, double cpuSeconds) {
        double perSecond() { return logins / seconds; }

        double perCpuSecond() { return logins / cpuSeconds; }

        double cpuMicrosEach() { return cpuSeconds * 1e6 / logins; }
    }

    @FunctionalInterface
    interface Login {
        /** One attempt; true if it ended as this case expects. */
        boolean attempt() throws Exception;
    }

    private LoginBench() {}

    public static void main(String[] args) throws Exception {
        int seconds = args.length > 0 ? Integer.parseInt(args[0]) : 5;
        int iterations = args.length > 1 ? Integer.parseInt(args[1]) : ScramSecret.DEFAULT_ITERATIONS;
        int threads = args.length > 2 ? Integer.parseInt(args[2]) : Runtime.getRuntime().availableProcessors();
        boolean all = args.length <= 3 || !args[3].equals("imaps");
        int rotate = args.length > 4 ? Integer.parseInt(args[4]) : 0;
        Path dir = Files.createTempDirectory("castellan-login-bench");
        List<Result> results = new ArrayList<>();
        if (all) {
            // One INFO line per attempt is part of an attempt's cost: it goes to a file, as a server's would.
            PrintStream terminal = System.err;
            try (PrintStream log = new PrintStream(Files.newOutputStream(dir.resolve("bench.log")), false, StandardCharsets.UTF_8)) {
                System.setErr(log);
                results.addAll(direct(seconds, iterations, threads));
            } finally {
                System.setErr(terminal);
            }
        }
        results.addAll(overImap(dir, seconds, iterations, threads, all, rotate));

        System.out.printf(Locale.ROOT, "%nLogins, PBKDF2-HMAC-SHA256 with %d iterations, %d client threads, %d s per case, %d cores%n",
                iterations, threads, seconds, Runtime.getRuntime().availableProcessors());
        System.out.printf("%-12s %-26s %9s %10s %11s %15s %16s%n", "path", "case", "attempts", "per s", "CPU s",
                "per CPU-second", "CPU us/attempt");
        for (Result r : results) {
            System.out.printf(Locale.ROOT, "%-12s %-26s %9d %10.1f %11.2f %15.1f %16.1f%n", r.path(), r.kind(), r.logins(),
                    r.perSecond(), r.cpuSeconds(), r.perCpuSecond(), r.cpuMicrosEach());
        }
    }

    // --- AuthService in this JVM ----------------------------------------------------------------

    private static List<Result> direct(int seconds, int iterations, int threads) throws Exception {
        String secret = ScramSecret.derive(PASSWORD.toCharArray(), iterations).encode();
        CredentialStore one = username -> username.equalsIgnoreCase(ACCOUNT)
                ? Optional.of(new CredentialStore.StoredCredential(ACCOUNT, secret)) : Optional.empty();
        AuthContext ctx = new AuthContext("bench", "imap", CLIENT, true, false, Optional.empty(), Optional.empty());
        byte[] plain = ("\0" + ACCOUNT + "\0" + PASSWORD).getBytes(StandardCharsets.UTF_8);
        List<Result> results = new ArrayList<>();

        try (AuthService cold = service(one, iterations, 0, threads)) {
            results.add(run("AuthService", "PLAIN cold (PBKDF2)", seconds, threads,
                    () -> ok(cold.start(ctx, "PLAIN", Optional.of(plain)))));
        }
        try (AuthService cached = service(one, iterations, AuthSettings.DEFAULT_PLAIN_CACHE_SIZE, threads)) {
            results.add(run("AuthService", "PLAIN cached", seconds, threads,
                    () -> ok(cached.start(ctx, "PLAIN", Optional.of(plain)))));
            FastScram scram = new FastScram();
            results.add(run("AuthService", "SCRAM-SHA-256", seconds, threads, () -> {
                String nonce = Long.toHexString(System.nanoTime());
                SaslStep first = get(cached.start(ctx, "SCRAM-SHA-256", Optional.of(scram.clientFirst(nonce))));
                if (!(first instanceof SaslStep.Challenge c)) return false;
                return get(c.exchange().respond(scram.clientFinal(nonce, c.data()))) instanceof SaslStep.Success;
            }));
        }
        AuthSettings blockAtOnce = new AuthSettings(iterations, 0, 0, 1, 0, 1, Duration.ZERO, Duration.ZERO,
                Duration.ofHours(1), Duration.ofHours(1), AuthSettings.DEFAULT_MAX_TRACKED, threads);
        try (AuthService limiter = new AuthService(one, blockAtOnce, Clock.systemUTC())) {
            AuthContext blocked = new AuthContext("bench", "imap", BLOCKED, true, false, Optional.empty(), Optional.empty());
            get(limiter.start(blocked, "PLAIN", Optional.of(("\0" + ACCOUNT + "\0wrong").getBytes(StandardCharsets.UTF_8))));
            results.add(run("AuthService", "refused, source blocked", seconds, threads,
                    () -> get(limiter.start(blocked, "PLAIN", Optional.of(plain))) instanceof SaslStep.Failure));
        }
        return results;
    }

    private static AuthService service(CredentialStore store, int iterations, int cacheSize, int threads) {
        AuthSettings d = AuthSettings.defaults();
        return new AuthService(store, new AuthSettings(iterations, cacheSize, d.freeFailures(), d.blockAfter(),
                d.networkFreeFailures(), d.networkBlockAfter(), d.firstDelay(), d.maxDelay(), d.blockDuration(),
                d.failureMemory(), d.maxTracked(), threads), Clock.systemUTC());
    }

    /** Runs {@code login} on {@code threads} threads for the warm-up, then for {@code seconds}; CPU of this process. */
    private static Result run(String path, String kind, int seconds, int threads, Login login) throws Exception {
        measure(WARM_UP_SECONDS, threads, login);
        long cpuBefore = processCpuNanos();
        long start = System.nanoTime();
        long count = measure(seconds, threads, login);
        double wall = (System.nanoTime() - start) / 1e9;
        return new Result(path, kind, count, wall, (processCpuNanos() - cpuBefore) / 1e9);
    }

    static long measure(int seconds, int threads, Login login) throws Exception {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        AtomicLong count = new AtomicLong();
        try (ExecutorService pool = Executors.newFixedThreadPool(threads)) {
            List<Future<Void>> done = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                done.add(pool.submit((Callable<Void>) () -> {
                    while (System.nanoTime() < end) {
                        if (!login.attempt()) throw new IllegalStateException("an attempt did not end as expected");
                        count.incrementAndGet();
                    }
                    return null;
                }));
            }
            for (Future<Void> f : done) f.get();
        }
        return count.get();
    }

    private static boolean ok(CompletionStage<SaslStep> stage) throws Exception {
        return get(stage) instanceof SaslStep.Success;
    }

    private static SaslStep get(CompletionStage<SaslStep> stage) throws Exception {
        return stage.toCompletableFuture().get(60, TimeUnit.SECONDS);
    }

    private static long processCpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
    }

    /**
     * A SCRAM-SHA-256 client (RFC 5802 §3) that derives the SaltedPassword once per salt and keeps
     * it, as a client that caches it does: the server's cost is what is measured, not the
     * client's PBKDF2.
     */
    static final class FastScram {
        private static final String NO_BINDING = "n,,";

        private record Keys(String salt, byte[] clientKey, byte[] storedKey) {}

        private volatile Keys keys;

        byte[] clientFirst(String nonce) {
            return clientFirst(NO_BINDING, nonce);
        }

        /** With the gs2 header {@code gs2}, such as {@code "p=tls-exporter,,"} (RFC 5802 §7). */
        byte[] clientFirst(String gs2, String nonce) {
            return (gs2 + "n=" + ACCOUNT + ",r=" + nonce).getBytes(StandardCharsets.UTF_8);
        }

        byte[] clientFinal(String nonce, byte[] serverFirst) {
            return clientFinal(NO_BINDING, new byte[0], nonce, serverFirst);
        }

        /** RFC 5802 §7: {@code c=} carries the gs2 header followed by the channel binding data. */
        byte[] clientFinal(String gs2, byte[] binding, String nonce, byte[] serverFirst) {
            String first = new String(serverFirst, StandardCharsets.UTF_8);
            String[] fields = first.split(",");
            String serverNonce = fields[0].substring(2);
            Keys k = keys(fields[1].substring(2), Integer.parseInt(fields[2].substring(2)));
            byte[] header = gs2.getBytes(StandardCharsets.UTF_8);
            byte[] cbind = Arrays.copyOf(header, header.length + binding.length);
            System.arraycopy(binding, 0, cbind, header.length, binding.length);
            String withoutProof = "c=" + b64(cbind) + ",r=" + serverNonce;
            String authMessage = "n=" + ACCOUNT + ",r=" + nonce + "," + first + "," + withoutProof;
            byte[] signature = ScramClient.hmac(k.storedKey(), authMessage);
            byte[] proof = new byte[k.clientKey().length];
            for (int i = 0; i < proof.length; i++) proof[i] = (byte) (k.clientKey()[i] ^ signature[i]);
            return (withoutProof + ",p=" + Base64.getEncoder().encodeToString(proof)).getBytes(StandardCharsets.UTF_8);
        }

        private Keys keys(String salt, int iterations) {
            Keys k = keys;
            if (k != null && k.salt().equals(salt)) return k;
            byte[] clientKey = ScramClient.hmac(ScramClient.saltedPassword(PASSWORD, Base64.getDecoder().decode(salt), iterations),
                    "Client Key");
            k = new Keys(salt, clientKey, ScramClient.sha256(clientKey));
            keys = k;
            return k;
        }
    }

    // --- IMAP and IMAPS against a child JVM -----------------------------------------------------

    /** What a client sends on a new connection: the command, and its answer to each challenge. */
    record Dialogue(String command, UnaryOperator<byte[]> respond) {}

    @FunctionalInterface
    interface Opening {
        /** The dialogue for this connection (SCRAM-PLUS reads the TLS session's exporter). */
        Dialogue on(Socket connection) throws Exception;
    }

    private record Case(String kind, Login login) {}

    private static List<Result> overImap(Path dir, int seconds, int iterations, int threads, boolean cleartext, int rotate)
            throws Exception {
        TestPki pki = TestPki.create(Files.createDirectories(dir.resolve("test-pki")));
        BenchRealm realm = null;
        if (BenchRealm.available()) {
            realm = BenchRealm.create(dir.resolve("realm"));
            realm.addUser(KERBEROS_USER + "@" + BenchRealm.REALM, KERBEROS_PASSWORD);
            realm.addService("imap/localhost@" + BenchRealm.REALM);
            // Read once per JVM, before the first Kerberos class loads (the client's, below).
            System.setProperty("java.security.krb5.conf", realm.krb5Conf().toString());
        } else {
            System.out.println("GSSAPI skipped: MIT Kerberos (krb5kdc, kdb5_util, kadmin.local) is not installed");
        }
        try (BenchIssuer issuer = BenchIssuer.start(pki)) {
            Path config = dir.resolve("castellan.toml");
            List<String> lines = new ArrayList<>(List.of("[server]", "hostname = \"localhost\"", "data-dir = \".\"",
                    "shutdown-grace = \"1s\"",
                    "[tls]", "certificate = \"" + pki.server().chainFile() + "\"", "key = \"" + pki.server().keyFile() + "\"",
                    "[auth]", "scram-iterations = " + iterations,
                    // One failure blocks a source, so that the refused case is reached at once; no delays.
                    "free-failures = 0", "block-after = 1", "first-delay = \"0ms\"", "max-delay = \"0ms\"", "block-duration = \"1h\"",
                    "[[listener]]", "name = \"imap\"", "protocol = \"imap\"", "address = \"127.0.0.1\"", "port = 0",
                    "tls = \"none\"", "cleartext-auth = true", "accept-cleartext-risk = true",
                    "[[listener]]", "name = \"imaps\"", "protocol = \"imap\"", "address = \"127.0.0.1\"", "port = 0",
                    "tls = \"implicit\"",
                    "[[oauth-issuer]]", "issuer = \"" + issuer.issuer() + "\"", "jwks-uri = \"" + issuer.jwksUri() + "\"",
                    "audience = \"" + BenchIssuer.AUDIENCE + "\"", "required-scope = \"" + BenchIssuer.SCOPE + "\"",
                    "ca-file = \"" + pki.trustFile() + "\""));
            if (realm != null) {
                lines.addAll(List.of("[kerberos]", "keytab = \"" + realm.keytab() + "\"", "realm = \"" + BenchRealm.REALM + "\"",
                        "realm-domain = \"" + ACCOUNT.substring(ACCOUNT.indexOf('@') + 1) + "\""));
            }
            lines.add("");
            Files.writeString(config, String.join("\n", lines));
            String java = ProcessHandle.current().info().command().orElseThrow();
            List<String> command = new ArrayList<>(List.of(java, "--enable-native-access=ALL-UNNAMED"));
            if (realm != null) command.add("-Djava.security.krb5.conf=" + realm.krb5Conf());
            command.addAll(List.of("-cp", System.getProperty("java.class.path"), LoginServer.class.getName(), config.toString(),
                    ACCOUNT, PASSWORD));
            Process server = new ProcessBuilder(command).redirectError(dir.resolve("server.err").toFile()).start();
            try {
                BufferedReader out = new BufferedReader(new InputStreamReader(server.getInputStream(), StandardCharsets.UTF_8));
                String ready = out.readLine();
                if (ready == null || !ready.startsWith("READY ")) {
                    throw new IllegalStateException("the server did not start; see " + dir.resolve("server.err"));
                }
                String[] ports = ready.substring(6).split(" ");
                InetSocketAddress at = new InetSocketAddress("127.0.0.1", Integer.parseInt(ports[0]));
                InetSocketAddress tlsAt = new InetSocketAddress("127.0.0.1", Integer.parseInt(ports[1]));
                List<Result> results = new ArrayList<>();
                if (cleartext) {
                    for (Case c : cases(at, null, null, null)) results.add(remote(server, "IMAP", c.kind(), seconds, threads, c.login()));
                }
                List<Case> tls = new ArrayList<>(cases(tlsAt, new FreshTls(pki), realm == null ? null : kerberosLogin(),
                        issuer.token(ACCOUNT)));
                Collections.rotate(tls, -rotate);
                // The server's JIT first meets TLS and these mechanisms here: a first pass over every case
                // keeps that cost off whichever case happens to run first.
                for (Case c : tls) measure(TLS_WARM_UP_SECONDS, threads, c.login());
                for (Case c : tls) results.add(remote(server, "IMAPS", c.kind(), seconds, threads, c.login()));
                if (cleartext) {
                    imap(at, BLOCKED, null, s -> new Dialogue("a LOGIN \"" + ACCOUNT + "\" \"wrong\"", null));
                    byte[] plain = ("\0" + ACCOUNT + "\0" + PASSWORD).getBytes(StandardCharsets.UTF_8);
                    results.add(remote(server, "IMAP", "refused, source blocked", seconds, threads,
                            () -> imap(at, BLOCKED, null, s -> new Dialogue("a AUTHENTICATE PLAIN " + b64(plain), null))
                                    .contains("[UNAVAILABLE]")));
                }
                return results;
            } finally {
                server.destroyForcibly().waitFor(START_LIMIT_SECONDS, TimeUnit.SECONDS);
            }
        } finally {
            if (realm != null) realm.close();
        }
    }

    /**
     * The logins that succeed, in this order: LOGIN and SCRAM-SHA-256 everywhere; with TLS also
     * SCRAM-SHA-256-PLUS, GSSAPI when {@code kerberos} is there, and OAUTHBEARER with {@code token}.
     */
    private static List<Case> cases(InetSocketAddress at, FreshTls tls, Subject kerberos, String token) {
        List<Case> cases = new ArrayList<>();
        cases.add(new Case("LOGIN (cached)", () -> untilAvailable(at, tls,
                s -> new Dialogue("a LOGIN \"" + ACCOUNT + "\" \"" + PASSWORD + "\"", null)).startsWith("a OK")));
        FastScram scram = new FastScram();
        cases.add(new Case("SCRAM-SHA-256", () -> untilAvailable(at, tls, s -> {
            String nonce = Long.toHexString(System.nanoTime());
            return new Dialogue("a AUTHENTICATE SCRAM-SHA-256 " + b64(scram.clientFirst(nonce)),
                    firstOnly(challenge -> scram.clientFinal(nonce, challenge)));
        }).startsWith("a OK")));
        if (tls == null) return cases;
        cases.add(new Case("SCRAM-SHA-256-PLUS", () -> untilAvailable(at, tls, s -> {
            String nonce = Long.toHexString(System.nanoTime());
            byte[] binding = FreshTls.exporter((SSLSocket) s);
            return new Dialogue("a AUTHENTICATE SCRAM-SHA-256-PLUS " + b64(scram.clientFirst(TLS_EXPORTER, nonce)),
                    firstOnly(challenge -> scram.clientFinal(TLS_EXPORTER, binding, nonce, challenge)));
        }).startsWith("a OK")));
        if (kerberos != null) {
            cases.add(new Case("GSSAPI", () -> untilAvailable(at, tls, s -> {
                // RFC 4752 §3.1: the host-based service name imap@localhost.
                SaslClient client = as(kerberos, () -> Sasl.createSaslClient(new String[] {"GSSAPI"}, null, "imap", "localhost",
                        Map.of(Sasl.QOP, "auth"), null));
                byte[] first = as(kerberos, () -> client.evaluateChallenge(new byte[0]));
                return new Dialogue("a AUTHENTICATE GSSAPI " + b64(first),
                        challenge -> as(kerberos, () -> client.evaluateChallenge(challenge)));
            }).startsWith("a OK")));
        }
        // RFC 7628 §3.1: gs2 header, then host, port and auth, each ended by %x01.
        byte[] bearer = ("n,,\u0001host=localhost\u0001port=" + at.getPort() + "\u0001auth=Bearer " + token + "\u0001\u0001")
                .getBytes(StandardCharsets.US_ASCII);
        cases.add(new Case("OAUTHBEARER", () -> untilAvailable(at, tls,
                s -> new Dialogue("a AUTHENTICATE OAUTHBEARER " + b64(bearer), null)).startsWith("a OK")));
        return cases;
    }

    /** As {@link #run}, with the CPU of the server process only. */
    private static Result remote(Process server, String path, String kind, int seconds, int threads, Login login)
            throws Exception {
        measure(WARM_UP_SECONDS, threads, login);
        Duration before = server.info().totalCpuDuration().orElseThrow();
        long start = System.nanoTime();
        long count = measure(seconds, threads, login);
        double wall = (System.nanoTime() - start) / 1e9;
        return new Result(path, kind, count, wall, server.info().totalCpuDuration().orElseThrow().minus(before).toNanos() / 1e9);
    }

    /**
     * {@link #imap} again, on a new connection after {@link #RETRY_MILLIS}, while the login is
     * refused as temporarily unavailable (RFC 5530 §3), such as by a busy login limiter: what a
     * client does, rather than an error.
     */
    static String untilAvailable(InetSocketAddress at, FreshTls tls, Opening opening) throws Exception {
        while (true) {
            String reply = imap(at, CLIENT, tls, opening);
            if (!reply.startsWith("a NO [UNAVAILABLE]")) return reply;
            Thread.sleep(RETRY_MILLIS);
        }
    }

    /**
     * One connection (over TLS when {@code tls} is given): greeting, the command, the dialogue's
     * answer to each challenge (an empty one without an answerer), the final line, LOGOUT.
     */
    private static String imap(InetSocketAddress at, InetAddress from, FreshTls tls, Opening opening) throws Exception {
        try (Socket raw = new Socket()) {
            raw.bind(new InetSocketAddress(from, 0));
            // Without it the command that follows the handshake's last flight waits for that flight's
            // ACK (Nagle), which the server delays: 40 ms a login, the kernel's, not the server's.
            raw.setTcpNoDelay(true);
            raw.connect(at, 10_000);
            raw.setSoTimeout(30_000);
            return tls == null ? dialogue(raw, opening) : dialogue(tls.over(raw), opening);
        }
    }

    private static String dialogue(Socket s, Opening opening) throws Exception {
        try (s) {
            if (s instanceof SSLSocket secure) secure.startHandshake();
            BufferedReader in = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8));
            OutputStream out = s.getOutputStream();
            in.readLine();
            Dialogue dialogue = opening.on(s);
            out.write((dialogue.command() + "\r\n").getBytes(StandardCharsets.UTF_8));
            out.flush();
            for (String line = in.readLine(); line != null; line = in.readLine()) {
                if (line.startsWith("+")) {
                    byte[] challenge = Base64.getDecoder().decode(line.substring(1).trim());
                    byte[] answer = dialogue.respond() == null ? new byte[0] : dialogue.respond().apply(challenge);
                    out.write((b64(answer == null ? new byte[0] : answer) + "\r\n").getBytes(StandardCharsets.UTF_8));
                    out.flush();
                } else if (line.startsWith("a ")) {
                    out.write("z LOGOUT\r\n".getBytes(StandardCharsets.UTF_8));
                    out.flush();
                    return line;
                }
            }
            return "";
        }
    }

    /** Answers the first challenge with {@code answer}, later ones (SCRAM's server-final) with nothing. */
    static UnaryOperator<byte[]> firstOnly(UnaryOperator<byte[]> answer) {
        boolean[] answered = {false};
        return challenge -> {
            if (answered[0]) return new byte[0];
            answered[0] = true;
            return answer.apply(challenge);
        };
    }

    /**
     * TLS client connections that never resume: a new context per connection, trusting the test
     * PKI's root, so that every login pays a full TLS 1.3 handshake; made by {@link #presenting},
     * with a client certificate too.
     */
    static final class FreshTls {
        private final TrustManager[] trust;
        /** The client certificate offered when the server asks for one; null: none. */
        private final KeyManager[] keys;

        FreshTls(TestPki pki) throws GeneralSecurityException {
            this(pki, null);
        }

        private FreshTls(TestPki pki, KeyManager[] keys) throws GeneralSecurityException {
            TrustManagerFactory factory = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            factory.init(pki.trustStore());
            trust = factory.getTrustManagers();
            this.keys = keys;
        }

        /** The same, presenting the certificate chain in {@code chainFile} with the PEM key in {@code keyFile}. */
        static FreshTls presenting(TestPki pki, Path chainFile, Path keyFile) throws GeneralSecurityException, IOException {
            char[] none = new char[0];
            KeyStore store = KeyStore.getInstance("PKCS12");
            store.load(null, null);
            store.setKeyEntry("client", Pem.readPrivateKey(keyFile), none,
                    Pem.readCertificates(chainFile).toArray(new X509Certificate[0]));
            KeyManagerFactory factory = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            factory.init(store, none);
            return new FreshTls(pki, factory.getKeyManagers());
        }

        /** TLS to localhost over the connected {@code raw}. */
        Socket over(Socket raw) throws GeneralSecurityException, IOException {
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(keys, trust, null);
            return context.getSocketFactory().createSocket(raw, "localhost", raw.getPort(), true);
        }

        /** RFC 9266 §2: TLS-Exporter("EXPORTER-Channel-Binding", "", 32), by the JDK 25 API (the build's release is 21). */
        static byte[] exporter(SSLSocket s) throws Exception {
            try {
                return (byte[]) EXPORT.invoke((ExtendedSSLSession) s.getSession(), "EXPORTER-Channel-Binding", new byte[0], 32);
            } catch (Exception | Error e) {
                throw e;
            } catch (Throwable t) {
                throw new IllegalStateException(t);
            }
        }
    }

    /** {@code ExtendedSSLSession.exportKeyingMaterialData(String, byte[], int)}, from JDK 25 on. */
    private static MethodHandle exportKeyingMaterial() {
        try {
            return MethodHandles.publicLookup().findVirtual(ExtendedSSLSession.class, "exportKeyingMaterialData",
                    MethodType.methodType(byte[].class, String.class, byte[].class, int.class));
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("SCRAM-SHA-256-PLUS's client needs JDK 25's TLS exporter", e);
        }
    }

    /** A TGT for the bench's principal from the realm's KDC, by the JDK's Krb5LoginModule with the password. */
    private static Subject kerberosLogin() throws Exception {
        Configuration krb5 = new Configuration() {
            @Override
            public AppConfigurationEntry[] getAppConfigurationEntry(String name) {
                return new AppConfigurationEntry[] {new AppConfigurationEntry("com.sun.security.auth.module.Krb5LoginModule",
                        AppConfigurationEntry.LoginModuleControlFlag.REQUIRED, Map.of("refreshKrb5Config", "true"))};
            }
        };
        LoginContext context = new LoginContext("login-bench", new Subject(), callbacks -> {
            for (Callback callback : callbacks) {
                if (callback instanceof NameCallback n) n.setName(KERBEROS_USER + "@" + BenchRealm.REALM);
                if (callback instanceof PasswordCallback p) p.setPassword(KERBEROS_PASSWORD.toCharArray());
            }
        }, krb5);
        context.login();
        return context.getSubject();
    }

    private static <T> T as(Subject subject, Callable<T> action) {
        return Subject.callAs(subject, action);
    }

    static String b64(byte[] bytes) {
        return Base64.getEncoder().encodeToString(bytes);
    }

    private static InetAddress loopback(String literal) {
        try {
            return InetAddress.getByName(literal);
        } catch (IOException e) {
            throw new IllegalArgumentException(e);
        }
    }
}
