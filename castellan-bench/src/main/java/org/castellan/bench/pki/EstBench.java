package org.castellan.bench.pki;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.SocketFactory;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder;
import org.castellan.security.pki.CertificateAuthority;
import org.castellan.server.http.est.EstRoutes;

/**
 * EST enrollments (RFC 7030) per second and per server CPU-second: Castellan's HTTPS listener in
 * a child JVM ({@link PkiServer}, a data directory made by {@code castellan init}), requests
 * signed beforehand with P-256 keys so that the client's key generation is not measured.
 *
 * <p>Three ways of proving who asks, each a case: {@code simpleenroll} with HTTP Basic and the
 * account's password (a SCRAM-SHA-256 secret: PBKDF2 at the server's {@code scram-iterations},
 * unless AuthService's verification cache already has it), the same with an app password of scope
 * {@code enroll}, and {@code simplereenroll} with the current device certificate as the TLS
 * client certificate (no password at all: what the CA itself costs). Each case in both ways of
 * using connections ({@link HttpLoad.Mode}): keep-alive, and a new TLS connection per request
 * with a full handshake (a new client context for each, so nothing is resumed). There is no
 * reference server: EJBCA and step-ca are not installable on the benchmark machine.
 *
 * <p>Every enrollment adds a certificate to the CA's index, which is rewritten whole each time
 * ({@code issued.tsv}); the index's size is printed with each window.
 *
 * <p>Arguments, each {@code name=value}: {@code seconds=5} per window, {@code clients=2},
 * {@code requests=200} (pre-made, one per key), {@code threads=no|yes}.
 */
public final class EstBench {

    private static final String ACCOUNT = "bench@example.org";
    private static final String PASSWORD = "correct horse battery staple";
    private static final String P12_PASSPHRASE = "bench pass phrase";
    private static final String DEVICE = "bench-laptop";
    private static final Pattern APP_PASSWORD = Pattern.compile("password: (\\S+)");

    private EstBench() {}

    public static void main(String[] args) throws Exception {
        Map<String, String> a = OcspBench.named(args);
        int seconds = Integer.parseInt(a.getOrDefault("seconds", "5"));
        int clients = Integer.parseInt(a.getOrDefault("clients", "2"));
        int count = Integer.parseInt(a.getOrDefault("requests", "200"));
        boolean threads = a.getOrDefault("threads", "no").equals("yes");

        Path dir = Files.createTempDirectory("castellan-est-bench");
        Path data = dir.resolve("data");
        PkiServer.init(data);
        PkiServer.admin(data, "", "domain", "add", "example.org");
        PkiServer.admin(data, PASSWORD + "\n", "user", "add", ACCOUNT, "--password-stdin");
        Matcher m = APP_PASSWORD.matcher(PkiServer.admin(data, "", "user", "app-password", "add", ACCOUNT,
                "--label", "bench", "--scope", "enroll"));
        if (!m.find()) throw new IllegalStateException("no app password printed");
        String appPassword = m.group(1);
        Path out = dir.resolve("device");
        PkiServer.admin(data, P12_PASSPHRASE + "\n", "cert", "issue", "device", DEVICE, "--owner", ACCOUNT,
                "--passphrase-stdin", "--out", out.toString());
        Path p12 = out.resolve(DEVICE + ".p12");

        List<byte[]> enroll = requests(count, "bench-");
        List<byte[]> renew = requests(count, DEVICE);
        Path root = data.resolve("pki/root.crt");
        Path index = data.resolve("pki").resolve(CertificateAuthority.INDEX_FILE);

        System.out.printf(Locale.ROOT, "EST: P-256 requests made beforehand (%d), %d clients, %d s per window, HTTPS"
                + " (TLS 1.3, BoringSSL on the server); %d cores; load %s%n", count, clients, seconds,
                Runtime.getRuntime().availableProcessors(), OcspBench.load());
        record Case(String name, String path, List<String> headers, List<byte[]> bodies, Path clientKeys) {}
        List<Case> cases = List.of(
                new Case("simpleenroll, password", "simpleenroll", List.of(basic(ACCOUNT, PASSWORD)), enroll, null),
                new Case("simpleenroll, app password", "simpleenroll", List.of(basic(ACCOUNT, appPassword)), enroll, null),
                new Case("simplereenroll, certificate", "simplereenroll", List.of(), renew, p12));
        try (PkiServer server = PkiServer.start(data, "")) {
            int port = server.port("https");
            for (Case c : cases) {
                List<String> headers = new ArrayList<>(c.headers());
                headers.add("Content-Type: application/pkcs10");
                for (HttpLoad.Mode mode : List.of(HttpLoad.Mode.KEEP_ALIVE, HttpLoad.Mode.CONNECTION_PER_REQUEST)) {
                    HttpLoad.Target target = new HttpLoad.Target(new FreshTls(root, c.clientKeys()), "localhost", port,
                            EstRoutes.BASE + c.path(), headers, c.bodies());
                    HttpLoad.run(target, mode, clients, seconds); // warm-up
                    String load = OcspBench.load();
                    long entries = Files.lines(index).count();
                    var before = threads ? org.castellan.bench.ProcessCpu.byThreadName(server.pid()) : null;
                    double cpuBefore = server.cpuSeconds();
                    long start = System.nanoTime();
                    HttpLoad.Counts counts = HttpLoad.run(target, mode, clients, seconds);
                    double elapsed = (System.nanoTime() - start) / 1e9;
                    double cpu = server.cpuSeconds() - cpuBefore;
                    System.out.printf(Locale.ROOT, "%-29s %-26s %6d enrollments in %.1f s (%5d connections): %6.1f /s,"
                                    + " %6.1f per server CPU-second (%.2f CPU-s); index %d entries; load %s%n", c.name(),
                            mode.label, counts.responses(), elapsed, counts.connections(), counts.responses() / elapsed,
                            counts.responses() / cpu, cpu, entries, load);
                    if (threads) OcspBench.printThreads(before, org.castellan.bench.ProcessCpu.byThreadName(server.pid()));
                }
            }
        }
    }

    private static String basic(String user, String password) {
        return "Authorization: Basic " + Base64.getEncoder().encodeToString((user + ":" + password)
                .getBytes(StandardCharsets.UTF_8));
    }

    /**
     * {@code count} PKCS#10 requests in base64 (RFC 7030 §4.2.1), each with a P-256 key of its
     * own, signed with ECDSA-SHA256; CN {@code name}, followed by the request's number if
     * {@code name} ends in '-'.
     */
    private static List<byte[]> requests(int count, String name) throws Exception {
        KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
        generator.initialize(new ECGenParameterSpec("secp256r1"));
        List<byte[]> requests = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            KeyPair key = generator.generateKeyPair();
            String cn = name.endsWith("-") ? name + i : name;
            byte[] der = new JcaPKCS10CertificationRequestBuilder(new X500Name("CN=" + cn), key.getPublic())
                    .build(new JcaContentSignerBuilder("SHA256withECDSA").build(key.getPrivate())).getEncoded();
            requests.add(Base64.getEncoder().encode(der));
        }
        return requests;
    }

    /**
     * TLS sockets from a new client context each time, so that every connection is a full
     * handshake (no session is resumed); trusting the built-in root, presenting {@code p12} if
     * not null.
     */
    private static final class FreshTls extends SocketFactory {
        private final KeyStore trust;
        private final KeyStore keys;

        FreshTls(Path root, Path p12) throws Exception {
            trust = KeyStore.getInstance("PKCS12");
            trust.load(null, null);
            try (InputStream in = Files.newInputStream(root)) {
                trust.setCertificateEntry("root", (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in));
            }
            if (p12 == null) {
                keys = null;
            } else {
                keys = KeyStore.getInstance("PKCS12");
                try (InputStream in = Files.newInputStream(p12)) {
                    keys.load(in, P12_PASSPHRASE.toCharArray());
                }
            }
        }

        @Override
        public Socket createSocket(String host, int port) throws IOException {
            try {
                TrustManagerFactory tmf = TrustManagerFactory.getInstance("PKIX");
                tmf.init(trust);
                KeyManagerFactory kmf = null;
                if (keys != null) {
                    kmf = KeyManagerFactory.getInstance("PKIX");
                    kmf.init(keys, P12_PASSPHRASE.toCharArray());
                }
                SSLContext context = SSLContext.getInstance("TLS");
                context.init(kmf == null ? null : kmf.getKeyManagers(), tmf.getTrustManagers(), null);
                SSLSocket socket = (SSLSocket) context.getSocketFactory().createSocket(host, port);
                socket.setSoTimeout(HttpLoad.READ_TIMEOUT_MILLIS);
                socket.startHandshake();
                return socket;
            } catch (java.security.GeneralSecurityException e) {
                throw new IOException("cannot make a TLS client context: " + e.getMessage(), e);
            }
        }

        @Override
        public Socket createSocket(String host, int port, InetAddress localHost, int localPort) {
            throw new UnsupportedOperationException("only createSocket(host, port)");
        }

        @Override
        public Socket createSocket(InetAddress host, int port) {
            throw new UnsupportedOperationException("only createSocket(host, port)");
        }

        @Override
        public Socket createSocket(InetAddress address, int port, InetAddress localAddress, int localPort) {
            throw new UnsupportedOperationException("only createSocket(host, port)");
        }
    }
}
