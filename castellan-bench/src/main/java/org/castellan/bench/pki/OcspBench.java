package org.castellan.bench.pki;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import javax.net.SocketFactory;
import org.awaitility.Awaitility;
import org.awaitility.core.ConditionTimeoutException;
import org.bouncycastle.asn1.DEROctetString;
import org.bouncycastle.asn1.ocsp.OCSPObjectIdentifiers;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.Extensions;
import org.bouncycastle.cert.jcajce.JcaX509CertificateHolder;
import org.bouncycastle.cert.ocsp.BasicOCSPResp;
import org.bouncycastle.cert.ocsp.CertificateID;
import org.bouncycastle.cert.ocsp.OCSPReqBuilder;
import org.bouncycastle.cert.ocsp.OCSPResp;
import org.bouncycastle.cert.ocsp.RevokedStatus;
import org.bouncycastle.operator.jcajce.JcaDigestCalculatorProviderBuilder;
import org.castellan.bench.ProcessCpu;
import org.castellan.security.pki.CertificateAuthority;
import org.castellan.security.pki.CertificateKind;
import org.castellan.security.pki.IssuedEntry;
import org.castellan.security.pki.OcspResponder;
import org.castellan.security.pki.RevocationReason;
import org.castellan.server.http.pki.RevocationRoutes;

/**
 * OCSP responses per server CPU-second: Castellan's responder route ({@code POST /ocsp}) on a
 * plain-HTTP listener of a real server in a child JVM ({@link PkiServer}: a data directory made by
 * {@code castellan init}) against {@code openssl ocsp -port} serving the same certificates from
 * the CA's index exported in OpenSSL's {@code index.txt} form, signing with the same delegated
 * responder certificate and key, responses valid as long (4 hours).
 *
 * <p>Both servers run for the whole benchmark; the client ({@link HttpLoad}) is the same for both.
 * For each case (nonce or none; a connection per request or keep-alive) each server gets a warm-up
 * window, then {@code pairs} measured windows, alternating Castellan and OpenSSL, so that what
 * else the machine runs falls on both alike; every window is printed with the load average, and
 * the ratio's median and spread (min–max over the pairs). Server CPU is the process's user and
 * system time over the window, read from /proc ({@link ProcessCpu}). Without a nonce (what TLS
 * servers fetching a staple and most clients send) Castellan answers from pre-signed responses
 * and OpenSSL signs each; with a nonce both sign each response. The requests are about a random
 * certificate of the index, a tenth of them revoked. A row "responder" is the responder alone in
 * this JVM, without HTTP, for what the HTTP layer adds.
 *
 * <p>Arguments, each {@code name=value}: {@code seconds=5} per window, {@code certificates=300},
 * {@code clients=2}, {@code pairs=3}, {@code nonce=both|no|yes}, {@code mode=both|close|keep-alive}, {@code threads=no|yes} (yes: the CPU
 * of each of the server's threads in each window, by name, user and system).
 */
public final class OcspBench {

    private static final DateTimeFormatter OPENSSL_TIME = DateTimeFormatter.ofPattern("yyMMddHHmmss'Z'", Locale.ROOT)
            .withZone(ZoneOffset.UTC);
    private static final long START_LIMIT_SECONDS = 60;
    private static final String LISTENER = "pki";

    /** @param mode null for the responder alone, without HTTP */
    record Window(String server, HttpLoad.Mode mode, boolean nonce, HttpLoad.Counts counts, double seconds,
                  double cpuSeconds, String load) {
        double perSecond() { return counts.responses() / seconds; }

        double perCpuSecond() { return counts.responses() / cpuSeconds; }
    }

    /** A server under test: its name, where to send requests, and its CPU time so far. */
    private record Server(String name, int port, long pid) {
        double cpuSeconds() {
            return ProcessCpu.treeSeconds(pid);
        }
    }

    private OcspBench() {}

    public static void main(String[] args) throws Exception {
        Map<String, String> a = named(args);
        int seconds = Integer.parseInt(a.getOrDefault("seconds", "5"));
        int certificates = Integer.parseInt(a.getOrDefault("certificates", "300"));
        int clients = Integer.parseInt(a.getOrDefault("clients", "2"));
        int pairs = Integer.parseInt(a.getOrDefault("pairs", "3"));
        boolean threads = a.getOrDefault("threads", "no").equals("yes");
        List<Boolean> nonces = switch (a.getOrDefault("nonce", "both")) {
            case "no" -> List.of(false);
            case "yes" -> List.of(true);
            default -> List.of(false, true);
        };
        List<HttpLoad.Mode> modes = switch (a.getOrDefault("mode", "both")) {
            case "close" -> List.of(HttpLoad.Mode.CONNECTION_PER_REQUEST);
            case "keep-alive" -> List.of(HttpLoad.Mode.KEEP_ALIVE);
            default -> List.of(HttpLoad.Mode.values());
        };

        Path dir = Files.createTempDirectory("castellan-ocsp-bench");
        Path data = dir.resolve("data");
        PkiServer.init(data);
        Path pki = data.resolve("pki");
        CertificateAuthority ca = CertificateAuthority.load(pki);
        for (int i = 0; i < certificates; i++) {
            var issued = ca.issueServer(List.of("host" + i + ".example.org"), List.of(), Duration.ofDays(90));
            if (i % 10 == 0) ca.revoke(issued.certificate().getSerialNumber(), RevocationReason.KEY_COMPROMISE);
        }
        OcspResponder.open(ca, Clock.systemUTC()); // writes the delegated responder files both servers use
        Path index = exportIndex(ca, dir.resolve("index.txt"));
        List<byte[]> plain = requests(ca, false);
        List<byte[]> withNonce = requests(ca, true);

        System.out.printf(Locale.ROOT, "OCSP: %d certificates of the built-in CA (a tenth revoked), %d clients, %d s per"
                + " window, %d pairs; %s; %d cores; load %s%n", certificates, clients, seconds, pairs, openSslVersion(),
                Runtime.getRuntime().availableProcessors(), load());
        for (boolean nonce : nonces) {
            Window alone = inProcess(ca, nonce ? withNonce : plain, nonce, seconds);
            print(alone);
        }
        try (PkiServer castellan = PkiServer.start(data, PkiServer.httpListener(LISTENER));
             OpenSsl openssl = OpenSsl.start(dir, pki, index, plain.get(0))) {
            Server c = new Server("castellan", castellan.port(LISTENER), castellan.pid());
            Server o = new Server("openssl", openssl.port, openssl.process.pid());
            for (Server s : List.of(c, o)) checkFirst(s, plain.get(0));
            List<String> summary = new ArrayList<>();
            for (boolean nonce : nonces) {
                for (HttpLoad.Mode mode : modes) {
                    List<byte[]> requests = nonce ? withNonce : plain;
                    measure(c, mode, nonce, requests, clients, seconds, "warm-up");
                    measure(o, mode, nonce, requests, clients, seconds, "warm-up");
                    List<double[]> ratios = new ArrayList<>();
                    for (int p = 0; p < pairs; p++) {
                        Window cw = measureAndPrint(c, mode, nonce, requests, clients, seconds, threads);
                        Window ow = measureAndPrint(o, mode, nonce, requests, clients, seconds, threads);
                        ratios.add(new double[] {cw.perSecond() / ow.perSecond(), cw.perCpuSecond() / ow.perCpuSecond()});
                    }
                    summary.add(String.format(Locale.ROOT, "%-26s nonce %-3s castellan/openssl: %s per second, %s per"
                            + " CPU-second", mode.label, nonce ? "yes" : "no", spread(ratios, 0), spread(ratios, 1)));
                }
            }
            System.out.println("castellan/openssl, median (min-max) over " + pairs + " pairs; goal >= 3 x per CPU-second:");
            summary.forEach(System.out::println);
        }
    }

    /** Arguments of the form {@code name=value}; anything else is refused with the usage. */
    static Map<String, String> named(String[] args) {
        Map<String, String> named = new HashMap<>();
        for (String arg : args) {
            int eq = arg.indexOf('=');
            if (eq <= 0) throw new IllegalArgumentException("arguments are name=value, not " + arg);
            named.put(arg.substring(0, eq), arg.substring(eq + 1));
        }
        return named;
    }

    private static String spread(List<double[]> ratios, int column) {
        double[] values = ratios.stream().mapToDouble(r -> r[column]).sorted().toArray();
        return String.format(Locale.ROOT, "%.2f x (%.2f-%.2f)", values[values.length / 2], values[0], values[values.length - 1]);
    }

    private static Window print(Window w) {
        System.out.printf(Locale.ROOT, "%-9s %-26s nonce %-3s %8d responses in %.1f s (%7d connections): %7.0f /s,"
                        + " %7.0f per server CPU-second (%.2f CPU-s); load %s%n", w.server(),
                w.mode() == null ? "in process, no HTTP" : w.mode().label,
                w.nonce() ? "yes" : "no", w.counts().responses(), w.seconds(), w.counts().connections(), w.perSecond(),
                w.perCpuSecond(), w.cpuSeconds(), w.load());
        return w;
    }

    /** A measured window, printed; with {@code threads} followed by the CPU of each of the server's threads. */
    private static Window measureAndPrint(Server server, HttpLoad.Mode mode, boolean nonce, List<byte[]> requests,
                                         int clients, int seconds, boolean threads) throws Exception {
        var before = threads ? ProcessCpu.byThreadName(server.pid()) : null;
        Window w = print(measure(server, mode, nonce, requests, clients, seconds, null));
        if (threads) printThreads(before, ProcessCpu.byThreadName(server.pid()));
        return w;
    }

    /** The server's threads that used CPU between two readings, most first: user and system seconds. */
    static void printThreads(Map<String, double[]> before, Map<String, double[]> after) {
        after.entrySet().stream()
                .map(e -> {
                    double[] b = before.getOrDefault(e.getKey(), new double[2]);
                    return Map.entry(e.getKey(), new double[] {e.getValue()[0] - b[0], e.getValue()[1] - b[1]});
                })
                .filter(e -> e.getValue()[0] + e.getValue()[1] > 0)
                .sorted((x, y) -> Double.compare(y.getValue()[0] + y.getValue()[1], x.getValue()[0] + x.getValue()[1]))
                .forEach(e -> System.out.printf(Locale.ROOT, "    %-24s user %5.2f s, system %5.2f s%n", e.getKey(),
                        e.getValue()[0], e.getValue()[1]));
    }

    /** The 1-, 5- and 15-minute load averages, as uptime prints them. */
    static String load() {
        try {
            String[] f = Files.readString(Path.of("/proc/loadavg")).split(" ");
            return f[0] + " " + f[1] + " " + f[2];
        } catch (IOException e) {
            return "unknown";
        }
    }

    /**
     * The responder alone, without HTTP, on this thread: what the server's route adds its own cost
     * to. A warm-up, then the measured window; CPU is this thread's.
     */
    private static Window inProcess(CertificateAuthority ca, List<byte[]> requests, boolean nonce, int seconds) {
        OcspResponder responder = OcspResponder.open(ca, Clock.systemUTC());
        var threads = java.lang.management.ManagementFactory.getThreadMXBean();
        long responses = 0;
        double elapsed = 0;
        double cpu = 0;
        String load = load();
        for (int round = 0; round < 2; round++) {
            load = load();
            long cpuStart = threads.getCurrentThreadCpuTime();
            long start = System.nanoTime();
            long end = start + TimeUnit.SECONDS.toNanos(seconds);
            responses = 0;
            while (System.nanoTime() < end) {
                for (int i = 0; i < 100; i++) {
                    responder.respond(requests.get(ThreadLocalRandom.current().nextInt(requests.size())));
                }
                responses += 100;
            }
            elapsed = (System.nanoTime() - start) / 1e9;
            cpu = (threads.getCurrentThreadCpuTime() - cpuStart) / 1e9;
        }
        return new Window("responder", null, nonce, new HttpLoad.Counts(responses, 0), elapsed, cpu, load);
    }

    private static HttpLoad.Target target(Server server, List<byte[]> requests) {
        return new HttpLoad.Target(SocketFactory.getDefault(), "127.0.0.1", server.port(), RevocationRoutes.OCSP,
                List.of("Content-Type: application/ocsp-request"), requests);
    }

    /**
     * The first request (about a revoked certificate) must be answered successfully and say
     * revoked: both servers answer from the same index.
     */
    private static void checkFirst(Server server, byte[] request) throws Exception {
        OCSPResp first = new OCSPResp(HttpLoad.once(target(server, List.of(request)), request));
        if (first.getStatus() != OCSPResp.SUCCESSFUL) {
            throw new IllegalStateException(server.name() + " answered status " + first.getStatus());
        }
        var status = ((BasicOCSPResp) first.getResponseObject()).getResponses()[0].getCertStatus();
        if (!(status instanceof RevokedStatus)) throw new IllegalStateException(server.name() + " did not say revoked");
    }

    /** One window of load on {@code server}; {@code warmUp} non-null: not printed by the caller. */
    private static Window measure(Server server, HttpLoad.Mode mode, boolean nonce, List<byte[]> requests, int clients,
                                  int seconds, String warmUp) throws InterruptedException {
        String load = load();
        double cpuBefore = server.cpuSeconds();
        long start = System.nanoTime();
        HttpLoad.Counts counts = HttpLoad.run(target(server, requests), mode, clients, seconds);
        double elapsed = (System.nanoTime() - start) / 1e9;
        double cpu = server.cpuSeconds() - cpuBefore;
        return new Window(warmUp == null ? server.name() : warmUp, mode, nonce, counts, elapsed, cpu, load);
    }

    /**
     * The server CA's part of the index in OpenSSL's {@code index.txt} form: status, expiry,
     * revocation time and reason, serial in upper-case hex, file name, subject.
     */
    static Path exportIndex(CertificateAuthority ca, Path file) throws IOException {
        StringBuilder text = new StringBuilder();
        for (IssuedEntry e : ca.issued()) {
            if (e.kind() != CertificateKind.SERVER) continue;
            String serial = e.serial().toString(16).toUpperCase(Locale.ROOT);
            if (serial.length() % 2 == 1) serial = "0" + serial;
            String revoked = e.revocation().map(r -> OPENSSL_TIME.format(r.time()) + "," + openSslReason(r.reason())).orElse("");
            text.append(e.revoked() ? 'R' : 'V').append('\t').append(OPENSSL_TIME.format(e.notAfter())).append('\t')
                    .append(revoked).append('\t').append(serial).append("\tunknown\t/CN=").append(e.owner()).append('\n');
        }
        Files.writeString(file, text);
        return file;
    }

    private static String openSslReason(RevocationReason reason) {
        return switch (reason) {
            case UNSPECIFIED -> "unspecified";
            case KEY_COMPROMISE -> "keyCompromise";
            case AFFILIATION_CHANGED -> "affiliationChanged";
            case SUPERSEDED -> "superseded";
            case CESSATION_OF_OPERATION -> "cessationOfOperation";
            case PRIVILEGE_WITHDRAWN -> "privilegeWithdrawn";
        };
    }

    /**
     * One DER request per server certificate (the first revoked), SHA-1 CertIDs as OpenSSL and
     * browsers send them; with {@code nonce} a 16-octet nonce each (RFC 9654 §2.1).
     */
    private static List<byte[]> requests(CertificateAuthority ca, boolean nonce) throws Exception {
        var digest = new JcaDigestCalculatorProviderBuilder().build().get(CertificateID.HASH_SHA1);
        var issuer = new JcaX509CertificateHolder(ca.caCertificate(CertificateKind.SERVER));
        SecureRandom random = new SecureRandom();
        List<byte[]> requests = new ArrayList<>();
        for (IssuedEntry e : ca.issued()) {
            // The server certificates issued here; init's own (the first) is not in the benchmark.
            if (e.kind() != CertificateKind.SERVER || e.owner().equals("localhost")) continue;
            OCSPReqBuilder builder = new OCSPReqBuilder().addRequest(new CertificateID(digest, issuer, e.serial()));
            if (nonce) {
                byte[] value = new byte[16];
                random.nextBytes(value);
                builder.setRequestExtensions(new Extensions(new Extension(OCSPObjectIdentifiers.id_pkix_ocsp_nonce,
                        false, new DEROctetString(value).getEncoded())));
            }
            requests.add(builder.build().getEncoded());
        }
        return requests;
    }

    private static String openSslVersion() throws IOException, InterruptedException {
        Process p = new ProcessBuilder("openssl", "version").redirectErrorStream(true).start();
        String version = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8).strip();
        p.waitFor();
        return version;
    }

    /** {@code openssl ocsp -port} on the exported index, with the same delegated responder. */
    private record OpenSsl(Process process, int port) implements AutoCloseable {

        static OpenSsl start(Path dir, Path pki, Path index, byte[] probe) throws Exception {
            int port;
            try (ServerSocket s = new ServerSocket(0)) {
                port = s.getLocalPort();
            }
            Path err = dir.resolve("openssl.err");
            Process server = new ProcessBuilder("openssl", "ocsp", "-index", index.toString(), "-port", String.valueOf(port),
                    "-rsigner", pki.resolve("server-ca-ocsp.crt").toString(), "-rkey", pki.resolve("server-ca-ocsp.key").toString(),
                    "-CA", pki.resolve("server-ca.crt").toString(), "-nmin", "240")
                    .redirectError(err.toFile()).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            OpenSsl openssl = new OpenSsl(server, port);
            HttpLoad.Target target = new HttpLoad.Target(SocketFactory.getDefault(), "127.0.0.1", port, RevocationRoutes.OCSP,
                    List.of("Content-Type: application/ocsp-request"), List.of(probe));
            // A connection closed without a request sends openssl ocsp 3.0 into a busy loop, so
            // readiness is probed with a real request.
            try {
                Awaitility.await().atMost(Duration.ofSeconds(START_LIMIT_SECONDS)).pollInterval(Duration.ofMillis(50))
                        .until(() -> !server.isAlive() || answers(target, probe));
            } catch (ConditionTimeoutException notStarted) {
                // said below
            }
            if (!server.isAlive() || !answers(target, probe)) {
                openssl.close();
                throw new IllegalStateException("openssl ocsp did not start: " + Files.readString(err));
            }
            return openssl;
        }

        private static boolean answers(HttpLoad.Target target, byte[] probe) {
            try {
                HttpLoad.once(target, probe);
                return true;
            } catch (IOException notYet) {
                return false;
            }
        }

        @Override
        public void close() throws InterruptedException {
            process.destroy();
            if (!process.waitFor(START_LIMIT_SECONDS, TimeUnit.SECONDS)) process.destroyForcibly();
        }
    }
}
