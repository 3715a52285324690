package org.castellan.bench.auth;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.castellan.security.auth.AuthContext;
import org.castellan.security.auth.AuthService;
import org.castellan.security.auth.AuthSettings;
import org.castellan.security.auth.CredentialStore;
import org.castellan.security.auth.SaslStep;
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
 * </ol>
 *
 * <p>Arguments: {@code [seconds=5] [scram-iterations=4096] [threads=cores]}.
 */
public final class LoginBench {

    private static final String ACCOUNT = "bench@example.org";
    private static final String PASSWORD = "correct horse battery staple";
    private static final int WARM_UP_SECONDS = 2;
    private static final InetAddress CLIENT = loopback("127.0.0.1");
    /** Any loopback address on Linux; blocked after its first failure in the IMAP runs. */
    private static final InetAddress BLOCKED = loopback("127.0.0.66");
    /** A server that has not printed its ready line in this time did not start. */
    private static final long START_LIMIT_SECONDS = 60;
    /** How long a client waits before logging in again after a temporary refusal, as imap/Fill does. */
    private static final long RETRY_MILLIS = 100;

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
        Path dir = Files.createTempDirectory("castellan-login-bench");
        List<Result> results = new ArrayList<>();
        // One INFO line per attempt is part of an attempt's cost: it goes to a file, as a server's would.
        PrintStream terminal = System.err;
        try (PrintStream log = new PrintStream(Files.newOutputStream(dir.resolve("bench.log")), false, StandardCharsets.UTF_8)) {
            System.setErr(log);
            results.addAll(direct(seconds, iterations, threads));
        } finally {
            System.setErr(terminal);
        }
        results.addAll(overImap(dir, seconds, iterations, threads));

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

    private static long measure(int seconds, int threads, Login login) throws Exception {
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
    private static final class FastScram {
        private record Keys(String salt, byte[] clientKey, byte[] storedKey) {}

        private volatile Keys keys;

        byte[] clientFirst(String nonce) {
            return ("n,,n=" + ACCOUNT + ",r=" + nonce).getBytes(StandardCharsets.UTF_8);
        }

        byte[] clientFinal(String nonce, byte[] serverFirst) {
            String first = new String(serverFirst, StandardCharsets.UTF_8);
            String[] fields = first.split(",");
            String serverNonce = fields[0].substring(2);
            Keys k = keys(fields[1].substring(2), Integer.parseInt(fields[2].substring(2)));
            String withoutProof = "c=biws,r=" + serverNonce;
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

    // --- IMAP against a child JVM ---------------------------------------------------------------

    private static List<Result> overImap(Path dir, int seconds, int iterations, int threads) throws Exception {
        TestPki pki = TestPki.create(Files.createDirectories(dir.resolve("test-pki")));
        Path config = dir.resolve("castellan.toml");
        Files.writeString(config, String.join("\n", "[server]", "hostname = \"localhost\"", "data-dir = \".\"",
                "shutdown-grace = \"1s\"",
                "[tls]", "certificate = \"" + pki.server().chainFile() + "\"", "key = \"" + pki.server().keyFile() + "\"",
                "[auth]", "scram-iterations = " + iterations,
                // One failure blocks a source, so that the refused case is reached at once; no delays.
                "free-failures = 0", "block-after = 1", "first-delay = \"0ms\"", "max-delay = \"0ms\"", "block-duration = \"1h\"",
                "[[listener]]", "name = \"imap\"", "protocol = \"imap\"", "address = \"127.0.0.1\"", "port = 0",
                "tls = \"none\"", "cleartext-auth = true", "accept-cleartext-risk = true", ""));
        String java = ProcessHandle.current().info().command().orElseThrow();
        Process server = new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                LoginServer.class.getName(), config.toString(), ACCOUNT, PASSWORD)
                .redirectError(dir.resolve("server.err").toFile()).start();
        try {
            BufferedReader out = new BufferedReader(new InputStreamReader(server.getInputStream(), StandardCharsets.UTF_8));
            String ready = out.readLine();
            if (ready == null || !ready.startsWith("READY ")) {
                throw new IllegalStateException("the server did not start; see " + dir.resolve("server.err"));
            }
            InetSocketAddress at = new InetSocketAddress("127.0.0.1", Integer.parseInt(ready.substring(6)));
            List<Result> results = new ArrayList<>();
            results.add(remote(server, "LOGIN (cached)", seconds, threads,
                    () -> untilAvailable(at, CLIENT, "a LOGIN \"" + ACCOUNT + "\" \"" + PASSWORD + "\"", null)
                            .startsWith("a OK")));
            FastScram scram = new FastScram();
            results.add(remote(server, "SCRAM-SHA-256", seconds, threads, () -> {
                String nonce = Long.toHexString(System.nanoTime());
                return untilAvailable(at, CLIENT, "a AUTHENTICATE SCRAM-SHA-256 " + b64(scram.clientFirst(nonce)),
                        challenge -> scram.clientFinal(nonce, challenge)).startsWith("a OK");
            }));
            imap(at, BLOCKED, "a LOGIN \"" + ACCOUNT + "\" \"wrong\"", null);
            byte[] plain = ("\0" + ACCOUNT + "\0" + PASSWORD).getBytes(StandardCharsets.UTF_8);
            results.add(remote(server, "refused, source blocked", seconds, threads,
                    () -> imap(at, BLOCKED, "a AUTHENTICATE PLAIN " + b64(plain), null).contains("[UNAVAILABLE]")));
            return results;
        } finally {
            server.destroyForcibly().waitFor(START_LIMIT_SECONDS, TimeUnit.SECONDS);
        }
    }

    /** As {@link #run}, with the CPU of the server process only. */
    private static Result remote(Process server, String kind, int seconds, int threads, Login login) throws Exception {
        measure(WARM_UP_SECONDS, threads, login);
        Duration before = server.info().totalCpuDuration().orElseThrow();
        long start = System.nanoTime();
        long count = measure(seconds, threads, login);
        double wall = (System.nanoTime() - start) / 1e9;
        return new Result("IMAP", kind, count, wall, server.info().totalCpuDuration().orElseThrow().minus(before).toNanos() / 1e9);
    }

    /**
     * {@link #imap} again, on a new connection after {@link #RETRY_MILLIS}, while the login is
     * refused as temporarily unavailable (RFC 5530 §3), such as by a busy login limiter: what a
     * client does, rather than an error.
     */
    private static String untilAvailable(InetSocketAddress at, InetAddress from, String command,
            java.util.function.UnaryOperator<byte[]> respond) throws IOException, InterruptedException {
        while (true) {
            String reply = imap(at, from, command, respond);
            if (!reply.startsWith("a NO [UNAVAILABLE]")) return reply;
            Thread.sleep(RETRY_MILLIS);
        }
    }

    /** One connection: greeting, {@code command}, answers to challenges (server-final gets an empty one), the final line. */
    private static String imap(InetSocketAddress at, InetAddress from, String command,
            java.util.function.UnaryOperator<byte[]> respond) throws IOException {
        try (Socket s = new Socket()) {
            s.bind(new InetSocketAddress(from, 0));
            s.connect(at, 10_000);
            s.setSoTimeout(30_000);
            BufferedReader in = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8));
            OutputStream out = s.getOutputStream();
            in.readLine();
            out.write((command + "\r\n").getBytes(StandardCharsets.UTF_8));
            out.flush();
            boolean answered = false;
            for (String line = in.readLine(); line != null; line = in.readLine()) {
                if (line.startsWith("+")) {
                    byte[] challenge = Base64.getDecoder().decode(line.substring(1).trim());
                    byte[] answer = answered || respond == null ? new byte[0] : respond.apply(challenge);
                    answered = true;
                    out.write((b64(answer) + "\r\n").getBytes(StandardCharsets.UTF_8));
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

    private static String b64(byte[] bytes) {
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
