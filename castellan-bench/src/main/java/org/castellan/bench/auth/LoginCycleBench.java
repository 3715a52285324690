package org.castellan.bench.auth;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Date;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.cert.X509v2CRLBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CRLConverter;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.castellan.bench.imap.CastellanImap;
import org.castellan.bench.imap.Dovecot;
import org.castellan.bench.imap.ServerUnderTest;
import org.castellan.security.pki.CertificateAuthority;
import org.castellan.security.pki.CertificateKind;
import org.castellan.security.pki.Pem;
import org.castellan.server.cli.Main;
import org.castellan.testkit.TestPki;

/**
 * Login cycles over IMAPS, Castellan against Dovecot in one run: each cycle a new connection, a
 * full TLS 1.3 handshake (a new client context every time, so nothing resumes), a login, LOGOUT.
 * The logins, chosen by {@code cases=}:
 *
 * <ul>
 *   <li>{@code login}: {@code LOGIN} with the password. Castellan answers it from its
 *       verification cache after the first; Dovecot's passdb holds that user's password in the
 *       clear, its cheapest check.</li>
 *   <li>{@code plain}: {@code AUTHENTICATE PLAIN} with the initial response (RFC 4959 SASL-IR),
 *       the same account and the same checks as {@code login}: "PLAIN cached".</li>
 *   <li>{@code scram}: {@code AUTHENTICATE SCRAM-SHA-256}; both servers hold stored keys, so no
 *       PBKDF2 per login; the client keeps its SaltedPassword.</li>
 *   <li>{@code external}: {@code AUTHENTICATE EXTERNAL =} (RFC 4422 Appendix A; RFC 9051 §6.2.2)
 *       on a listener that asks for a client certificate, each handshake presenting the user
 *       certificate of the account. Castellan's comes from its own CA, as an operator gets it:
 *       {@code castellan init} makes the CA, {@code castellan cert issue user} the certificate
 *       (its CN and rfc822Name the address), the listener {@code imaps-cert} has
 *       {@code client-cert = "request"}. Each handshake checks the client's signature
 *       (CertificateVerify); the chain is path-validated against the user CA and its CRL at the
 *       first one and the success remembered for at most five minutes (docs/architecture.md; a
 *       CRL reload, within a second of {@code castellan cert revoke}, starts afresh), so later
 *       logins pay a lookup by the chain's SHA-256 and the check against revocations learnt
 *       from other nodes, not the certificate's signature and CRL; no OCSP ({@code tls.ocsp} is
 *       off). The server then looks the certificate up among the bound ones and maps its
 *       address to the account. Dovecot, an instance of its own
 *       ({@link Dovecot#startForCertificateLogins}), asks for the certificate and has OpenSSL
 *       verify it at every handshake against the same user CA, the root and a CRL of each
 *       ({@code ssl_verify_client_cert}, its default {@code ssl_require_crl = yes}): two
 *       certificate signatures and two CRLs per login. It takes the user name from the CN and
 *       finds it in its passwd-file. Neither asks a responder; Castellan refuses a revoked
 *       certificate within a second, Dovecot once its CRL file is replaced and reloaded.</li>
 * </ul>
 *
 * <p>Both servers run for the whole invocation and take turns window by window, login by login,
 * {@code pairs} times; reported per server are logins per second and per server CPU-second (its
 * whole process tree, from /proc), then Castellan's ratio to Dovecot pair by pair, as median
 * [min-max]. Should Dovecot refuse EXTERNAL, the output says why and gives Castellan's figure
 * alone.
 *
 * <p>The client is this JVM's blocking JDK TLS, {@code threads} connections at a time; on a small
 * machine it takes much of the CPU, which is why the figure that compares servers is per server
 * CPU-second.
 *
 * <p>Arguments: {@code [seconds=10] [pairs=3] [threads=2 per core] [cases=login,plain,scram,external]}.
 */
public final class LoginCycleBench {

    /** The LOGIN and PLAIN cases' account; the SCRAM case's is {@link LoginBench#ACCOUNT}. */
    private static final String PLAIN_ACCOUNT = "plain@example.org";
    /** The EXTERNAL case's account, which its user certificate names. */
    private static final String CERTIFICATE_ACCOUNT = "device@example.org";
    /** Castellan's listener that asks for client certificates. */
    private static final String CERTIFICATE_LISTENER = "imaps-cert";
    private static final String CASES = "cases=";
    /** Every case, in the order they run within a pair. */
    private static final List<String> ALL_CASES = List.of("login", "plain", "scram", "external");

    private LoginCycleBench() {}

    /** One login case at one server: the server whose CPU it costs and one attempt. */
    private record Target(ServerUnderTest server, LoginBench.Login login) {}

    private record Case(String kind, List<Target> targets) {}

    private record Window(String server, String kind, long logins, double seconds, double cpuSeconds) {
        double perSecond() { return logins / seconds; }

        double perCpuSecond() { return logins / cpuSeconds; }
    }

    public static void main(String[] args) throws Exception {
        List<String> numbers = Arrays.stream(args).filter(a -> !a.startsWith(CASES)).toList();
        List<String> chosen = Arrays.stream(args).filter(a -> a.startsWith(CASES)).findFirst()
                .map(a -> List.of(a.substring(CASES.length()).split(","))).orElse(ALL_CASES);
        if (!ALL_CASES.containsAll(chosen)) throw new IllegalArgumentException("cases are among " + ALL_CASES + ", not " + chosen);
        int seconds = numbers.size() > 0 ? Integer.parseInt(numbers.get(0)) : 10;
        int pairs = numbers.size() > 1 ? Integer.parseInt(numbers.get(1)) : 3;
        int threads = numbers.size() > 2 ? Integer.parseInt(numbers.get(2)) : 2 * Runtime.getRuntime().availableProcessors();
        Path dir = Files.createTempDirectory("castellan-bench-logins");
        TestPki pki = TestPki.create(Files.createDirectories(dir.resolve("test-pki")));
        System.out.printf("IMAPS login cycles: %d pairs of %d s windows, %d client threads, cases %s, in %s%n", pairs, seconds,
                threads, String.join(",", chosen), dir);
        System.out.printf("machine: %d CPUs, load average %s%n", Runtime.getRuntime().availableProcessors(),
                org.castellan.bench.imap.MixedWorkloadBench.loadAverage());
        List<ServerUnderTest> servers = new ArrayList<>();
        try {
            Path data = dir.resolve("castellan");
            Path operatorLog = dir.resolve("operator.log");
            // The built-in CA, made as an operator makes it; the bench's castellan.toml then replaces init's.
            operator(operatorLog, "init", "--data", data.toString(), "--hostname", "localhost", "--port-base", "0");
            CastellanImap castellan = CastellanImap.start(data, pki, List.of(LoginBench.ACCOUNT, PLAIN_ACCOUNT, CERTIFICATE_ACCOUNT),
                    LoginBench.PASSWORD, List.of(), List.of("[[listener]]", "name = \"" + CERTIFICATE_LISTENER + "\"",
                            "protocol = \"imap\"", "address = \"127.0.0.1\"", "port = 0", "tls = \"implicit\"",
                            "client-cert = \"request\""));
            servers.add(castellan);
            Dovecot dovecot = Dovecot.startForLogins(dir.resolve("dovecot"), pki, PLAIN_ACCOUNT, LoginBench.ACCOUNT,
                    LoginBench.PASSWORD, threads);
            servers.add(dovecot);
            Map<String, Case> cases = new LinkedHashMap<>();
            LoginBench.FreshTls tls = new LoginBench.FreshTls(pki);
            for (Case c : passwordCases(List.of(castellan, dovecot), tls)) cases.put(c.kind(), c);
            if (chosen.contains("external")) {
                Case external = external(dir, data, operatorLog, pki, castellan, threads, servers);
                cases.put(external.kind(), external);
            }
            List<Case> run = chosen.stream().map(k -> cases.get(kind(k))).toList();
            // The server's JIT and Dovecot's login processes first meet each case here, not in a window.
            for (Case c : run) {
                for (Target t : c.targets()) LoginBench.measure(LoginBench.TLS_WARM_UP_SECONDS, threads, t.login());
            }
            List<Window> windows = new ArrayList<>();
            for (int pair = 1; pair <= pairs; pair++) {
                for (Case c : run) {
                    for (Target t : c.targets()) {
                        double before = t.server().cpuSeconds();
                        long start = System.nanoTime();
                        long logins = LoginBench.measure(seconds, threads, t.login());
                        Window w = new Window(t.server().name(), c.kind(), logins, (System.nanoTime() - start) / 1e9,
                                t.server().cpuSeconds() - before);
                        System.out.printf("pair %d %-10s %-14s %8.1f logins/s %8.1f per server CPU-s (%.2f CPU-s)%n", pair,
                                w.server(), w.kind(), w.perSecond(), w.perCpuSecond(), w.cpuSeconds());
                        windows.add(w);
                    }
                }
            }
            summary(windows, run, pairs);
        } finally {
            for (ServerUnderTest server : servers) server.close();
        }
    }

    /** The case's name in the output from its name in {@code cases=}. */
    private static String kind(String name) {
        return switch (name) {
            case "login" -> "LOGIN";
            case "plain" -> "PLAIN";
            case "scram" -> "SCRAM-SHA-256";
            default -> "EXTERNAL";
        };
    }

    /** LOGIN, PLAIN and SCRAM-SHA-256, each at every one of {@code servers}' implicit-TLS port. */
    private static List<Case> passwordCases(List<ServerUnderTest> servers, LoginBench.FreshTls tls) {
        byte[] plain = ("\0" + PLAIN_ACCOUNT + "\0" + LoginBench.PASSWORD).getBytes(StandardCharsets.UTF_8);
        List<Target> login = new ArrayList<>();
        List<Target> saslPlain = new ArrayList<>();
        List<Target> scram = new ArrayList<>();
        for (ServerUnderTest server : servers) {
            InetSocketAddress at = new InetSocketAddress("127.0.0.1", server.port());
            login.add(new Target(server, () -> LoginBench.untilAvailable(at, tls,
                    s -> new LoginBench.Dialogue("a LOGIN \"" + PLAIN_ACCOUNT + "\" \"" + LoginBench.PASSWORD + "\"", null))
                    .startsWith("a OK")));
            // RFC 4959 §3: the initial response on the command line, no round trip for a challenge.
            saslPlain.add(new Target(server, () -> LoginBench.untilAvailable(at, tls,
                    s -> new LoginBench.Dialogue("a AUTHENTICATE PLAIN " + LoginBench.b64(plain), null)).startsWith("a OK")));
            LoginBench.FastScram client = new LoginBench.FastScram();
            scram.add(new Target(server, () -> LoginBench.untilAvailable(at, tls, s -> {
                String nonce = Long.toHexString(System.nanoTime());
                return new LoginBench.Dialogue("a AUTHENTICATE SCRAM-SHA-256 " + LoginBench.b64(client.clientFirst(nonce)),
                        LoginBench.firstOnly(challenge -> client.clientFinal(nonce, challenge)));
            }).startsWith("a OK")));
        }
        return List.of(new Case("LOGIN", login), new Case("PLAIN", saslPlain), new Case("SCRAM-SHA-256", scram));
    }

    /**
     * EXTERNAL: the account's user certificate issued by {@code castellan cert issue user}, then
     * Castellan's {@value #CERTIFICATE_LISTENER} and a Dovecot of its own that trusts the same
     * CA; Dovecot is left out, with the reason printed, if it does not start or refuses the login.
     */
    private static Case external(Path dir, Path data, Path operatorLog, TestPki pki, CastellanImap castellan, int threads,
                                 List<ServerUnderTest> servers) throws Exception {
        Path issued = dir.resolve("user-certificate");
        operator(operatorLog, "cert", "issue", "user", CERTIFICATE_ACCOUNT, "--out", issued.toString(), "--days", "1",
                "--data", data.toString());
        LoginBench.FreshTls tls = LoginBench.FreshTls.presenting(pki, issued.resolve("chain.pem"), issued.resolve("key.pem"));
        List<Target> targets = new ArrayList<>();
        targets.add(new Target(castellan, externalLogin(castellan.port(CERTIFICATE_LISTENER), tls)));
        if (!externalLogin(castellan.port(CERTIFICATE_LISTENER), tls).attempt()) {
            throw new IllegalStateException("Castellan refused EXTERNAL with the issued certificate; see " + data);
        }
        Path caFile = dovecotCa(dir, data);
        try {
            Dovecot dovecot = Dovecot.startForCertificateLogins(dir.resolve("dovecot-external"), pki, caFile,
                    CERTIFICATE_ACCOUNT, threads);
            servers.add(dovecot);
            LoginBench.Login login = externalLogin(dovecot.port(), tls);
            if (!login.attempt()) {
                throw new IllegalStateException("it refused the login; see " + dir.resolve("dovecot-external/dovecot.log"));
            }
            targets.add(new Target(dovecot, login));
        } catch (RuntimeException | IOException e) {
            System.out.println("Dovecot EXTERNAL not measured: " + e.getMessage());
        }
        return new Case("EXTERNAL", targets);
    }

    /** RFC 4959 §3: "=" is the empty initial response; EXTERNAL's is the authorization identity, none here. */
    private static LoginBench.Login externalLogin(int port, LoginBench.FreshTls tls) {
        InetSocketAddress at = new InetSocketAddress("127.0.0.1", port);
        return () -> LoginBench.untilAvailable(at, tls, s -> new LoginBench.Dialogue("a AUTHENTICATE EXTERNAL =", null))
                .startsWith("a OK");
    }

    /**
     * Dovecot's {@code ssl_ca}: the user CA and the root that signed it, each followed by its CRL,
     * as OpenSSL reads them from one file. Castellan's verification takes the user CA as the
     * trust anchor and so publishes no CRL of the root; OpenSSL, which Dovecot leaves to build
     * the chain up to the root and to check every link ({@code ssl_require_crl = yes}), refuses
     * the certificate without one ("unable to get certificate CRL" at the user CA), so the
     * bench signs an empty one with the root's key: Dovecot checks one CRL more per login.
     */
    private static Path dovecotCa(Path dir, Path data) throws Exception {
        CertificateAuthority ca = CertificateAuthority.load(data.resolve("pki"));
        StringBuilder pem = new StringBuilder();
        for (Path part : List.of(ca.caCertificateFile(CertificateKind.USER), ca.crlFile(CertificateKind.USER),
                ca.rootCertificateFile())) {
            pem.append(Files.readString(part));
        }
        X509Certificate root = ca.rootCertificate();
        Instant now = Instant.now();
        X509v2CRLBuilder crl = new X509v2CRLBuilder(X500Name.getInstance(root.getSubjectX500Principal().getEncoded()),
                Date.from(now.minus(Duration.ofHours(1))));
        crl.setNextUpdate(Date.from(now.plus(Duration.ofDays(1))));
        PrivateKey rootKey = Pem.readPrivateKey(ca.directory().resolve("root.key"));
        pem.append(Pem.encode(new JcaX509CRLConverter().getCRL(crl.build(new JcaContentSignerBuilder("SHA256withECDSA")
                .build(rootKey)))));
        Path file = dir.resolve("dovecot-client-ca.pem");
        Files.writeString(file, pem);
        return file;
    }

    /** Runs a {@code castellan} command in this JVM, its output appended to {@code log}; fails if it fails. */
    private static void operator(Path log, String... args) throws IOException {
        PrintStream out = System.out;
        PrintStream err = System.err;
        int code;
        try (OutputStream file = Files.newOutputStream(log, java.nio.file.StandardOpenOption.CREATE,
                java.nio.file.StandardOpenOption.APPEND); PrintStream to = new PrintStream(file, true, StandardCharsets.UTF_8)) {
            to.println("$ castellan " + String.join(" ", args));
            System.setOut(to);
            System.setErr(to);
            code = Main.run(args);
        } finally {
            System.setOut(out);
            System.setErr(err);
        }
        if (code != Main.OK) {
            throw new IllegalStateException("castellan " + args[0] + " failed (" + code + "): " + Files.readString(log));
        }
    }

    private static void summary(List<Window> windows, List<Case> cases, int pairs) {
        System.out.printf("%nmedian [min-max] over %d pairs%n", pairs);
        for (Case c : cases) {
            String kind = c.kind();
            List<Window> castellan = windows.stream().filter(w -> w.kind().equals(kind) && w.server().equals("castellan")).toList();
            List<Window> dovecot = windows.stream().filter(w -> w.kind().equals(kind) && w.server().equals("dovecot")).toList();
            for (List<Window> w : List.of(castellan, dovecot)) {
                if (w.isEmpty()) continue;
                System.out.printf("  %-14s %-10s logins/s %s  per server CPU-s %s%n", kind, w.get(0).server(),
                        spread(w.stream().mapToDouble(Window::perSecond).toArray(), "%.0f"),
                        spread(w.stream().mapToDouble(Window::perCpuSecond).toArray(), "%.0f"));
            }
            if (dovecot.isEmpty()) {
                System.out.printf("  %-14s castellan alone (Dovecot not measured, see above)%n", kind);
                continue;
            }
            double[] ratio = new double[castellan.size()];
            for (int i = 0; i < ratio.length; i++) ratio[i] = castellan.get(i).perCpuSecond() / dovecot.get(i).perCpuSecond();
            System.out.printf("  %-14s castellan/dovecot per server CPU-s %sx (goal >= 3x)%n", kind, spread(ratio, "%.2f"));
        }
    }

    private static String spread(double[] values, String format) {
        return org.castellan.bench.imap.MixedWorkloadBench.spread(values, format);
    }
}
