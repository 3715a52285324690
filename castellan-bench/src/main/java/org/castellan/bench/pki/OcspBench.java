package org.castellan.bench.pki;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.bouncycastle.asn1.DEROctetString;
import org.bouncycastle.asn1.ocsp.OCSPObjectIdentifiers;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.Extensions;
import org.bouncycastle.cert.jcajce.JcaX509CertificateHolder;
import org.bouncycastle.cert.ocsp.CertificateID;
import org.bouncycastle.cert.ocsp.OCSPReqBuilder;
import org.bouncycastle.cert.ocsp.OCSPResp;
import org.bouncycastle.operator.jcajce.JcaDigestCalculatorProviderBuilder;
import org.castellan.bench.ProcessCpu;
import org.castellan.security.pki.CertificateAuthority;
import org.castellan.security.pki.CertificateKind;
import org.castellan.security.pki.IssuedEntry;
import org.castellan.security.pki.OcspResponder;
import org.castellan.security.pki.RevocationReason;

/**
 * OCSP responses per server CPU-second: the built-in CA's {@link OcspResponder} (in a child JVM,
 * behind the JDK's HTTP server, {@link OcspServer}) against {@code openssl ocsp -port} serving
 * the same certificates from the CA's index exported in OpenSSL's {@code index.txt} form, signing
 * with the same delegated responder certificate and key, responses valid as long (4 hours).
 *
 * <p>The client is the same for both: {@code clients} threads, each posting one request per
 * connection (HTTP/1.0, as {@code openssl ocsp -port} serves one request per connection) about a
 * random certificate of the index (a tenth of them revoked), reading the whole response; each
 * response is counted once its body has arrived. Without a nonce (what TLS servers fetching a
 * staple and most clients send) Castellan answers from pre-signed responses and OpenSSL signs each;
 * with {@code nonce=yes} both sign each response. Server CPU is the process's user+system time
 * over the measured window, after a warm-up of the same length (the JVM's JIT).
 *
 * <p>Arguments: {@code [seconds=10] [certificates=1000] [clients=4] [nonce=no|yes]}.
 */
public final class OcspBench {

    private static final DateTimeFormatter OPENSSL_TIME = DateTimeFormatter.ofPattern("yyMMddHHmmss'Z'", Locale.ROOT)
            .withZone(ZoneOffset.UTC);
    private static final long START_LIMIT_SECONDS = 60;
    /** A server that does not answer within this is broken, not slow: the run stops instead of hanging. */
    private static final int READ_TIMEOUT_MILLIS = 10_000;

    record Result(String server, long responses, double seconds, double cpuSeconds) {
        double perSecond() { return responses / seconds; }

        double perCpuSecond() { return responses / cpuSeconds; }
    }

    private OcspBench() {}

    public static void main(String[] args) throws Exception {
        int seconds = args.length > 0 ? Integer.parseInt(args[0]) : 10;
        int certificates = args.length > 1 ? Integer.parseInt(args[1]) : 1000;
        int clients = args.length > 2 ? Integer.parseInt(args[2]) : 4;
        boolean nonce = args.length > 3 && args[3].equals("nonce=yes");
        Path dir = Files.createTempDirectory("castellan-ocsp-bench");
        Path pki = dir.resolve("pki");
        CertificateAuthority ca = CertificateAuthority.initialize(pki, "Bench Org");
        for (int i = 0; i < certificates; i++) {
            var issued = ca.issueServer(List.of("host" + i + ".example.org"), List.of(), Duration.ofDays(90));
            if (i % 10 == 0) ca.revoke(issued.certificate().getSerialNumber(), RevocationReason.KEY_COMPROMISE);
        }
        OcspResponder.open(ca, java.time.Clock.systemUTC()); // writes the delegated responder files both servers use
        Path index = exportIndex(ca, dir.resolve("index.txt"));
        List<byte[]> requests = requests(ca, nonce);

        System.out.printf(Locale.ROOT, "OCSP: %d certificates (a tenth revoked), %d clients, %d s per server, nonce %s%n",
                certificates, clients, seconds, nonce ? "yes" : "no");
        Result alone = inProcess(ca, requests, seconds);
        Result castellan = castellan(dir, pki, requests, clients, seconds);
        Result openssl = openssl(dir, pki, index, requests, clients, seconds);
        for (Result r : List.of(alone, castellan, openssl)) {
            System.out.printf(Locale.ROOT, "%-9s %9d responses in %.1f s: %8.0f /s, %8.0f per server CPU-second (%.2f CPU-s)%n",
                    r.server(), r.responses(), r.seconds(), r.perSecond(), r.perCpuSecond(), r.cpuSeconds());
        }
        System.out.printf(Locale.ROOT, "castellan/openssl: %.2f x per second, %.2f x per CPU-second (goal >= 3 x)%n",
                castellan.perSecond() / openssl.perSecond(), castellan.perCpuSecond() / openssl.perCpuSecond());
    }

    /**
     * The responder alone, without HTTP, on this thread: what the HTTPS listener's route adds its
     * own cost to. A warm-up, then the measured window; CPU is this thread's.
     */
    private static Result inProcess(CertificateAuthority ca, List<byte[]> requests, int seconds) {
        OcspResponder responder = OcspResponder.open(ca, java.time.Clock.systemUTC());
        var threads = java.lang.management.ManagementFactory.getThreadMXBean();
        long responses = 0;
        double elapsed = 0;
        double cpu = 0;
        for (int round = 0; round < 2; round++) {
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
        return new Result("responder", responses, elapsed, cpu);
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

    /** One DER request per server certificate, SHA-1 CertIDs as OpenSSL and browsers send them. */
    private static List<byte[]> requests(CertificateAuthority ca, boolean nonce) throws Exception {
        var digest = new JcaDigestCalculatorProviderBuilder().build().get(CertificateID.HASH_SHA1);
        var issuer = new JcaX509CertificateHolder(ca.caCertificate(CertificateKind.SERVER));
        SecureRandom random = new SecureRandom();
        List<byte[]> requests = new ArrayList<>();
        for (IssuedEntry e : ca.issued()) {
            if (e.kind() != CertificateKind.SERVER) continue;
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

    private static Result castellan(Path dir, Path pki, List<byte[]> requests, int clients, int seconds) throws Exception {
        String java = ProcessHandle.current().info().command().orElseThrow();
        Path err = dir.resolve("castellan.err");
        Process server = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"), OcspServer.class.getName(),
                pki.toString()).redirectError(err.toFile()).start();
        try {
            int port = Integer.parseInt(readyLine(server, "READY ", err).split(" ")[1]);
            return measure("castellan", server, port, requests, clients, seconds);
        } finally {
            stop(server);
        }
    }

    private static Result openssl(Path dir, Path pki, Path index, List<byte[]> requests, int clients, int seconds)
            throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        Path err = dir.resolve("openssl.err");
        Process server = new ProcessBuilder("openssl", "ocsp", "-index", index.toString(), "-port", String.valueOf(port),
                "-rsigner", pki.resolve("server-ca-ocsp.crt").toString(), "-rkey", pki.resolve("server-ca-ocsp.key").toString(),
                "-CA", pki.resolve("server-ca.crt").toString(), "-nmin", "240")
                .redirectError(err.toFile()).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        try {
            // A connection closed without a request sends openssl ocsp 3.0 into a busy loop, so
            // readiness is probed with a real request.
            Instant until = Instant.now().plusSeconds(START_LIMIT_SECONDS);
            while (!answers(port, requests.get(0))) {
                if (!server.isAlive() || Instant.now().isAfter(until)) {
                    throw new IllegalStateException("openssl ocsp did not start: " + Files.readString(err));
                }
                Thread.sleep(50); // polling a port that is not open yet; nothing to wait on instead
            }
            return measure("openssl", server, port, requests, clients, seconds);
        } finally {
            stop(server);
        }
    }

    private static boolean answers(int port, byte[] request) {
        try {
            post(port, request);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    /** A warm-up window, then the measured one; the first response of each server is checked. */
    private static Result measure(String name, Process server, int port, List<byte[]> requests, int clients, int seconds)
            throws Exception {
        OCSPResp first = new OCSPResp(post(port, requests.get(0)));
        if (first.getStatus() != OCSPResp.SUCCESSFUL) {
            throw new IllegalStateException(name + " answered status " + first.getStatus());
        }
        load(port, requests, clients, seconds);
        double cpuBefore = ProcessCpu.treeSeconds(server.pid());
        long start = System.nanoTime();
        long responses = load(port, requests, clients, seconds);
        double elapsed = (System.nanoTime() - start) / 1e9;
        double cpu = ProcessCpu.treeSeconds(server.pid()) - cpuBefore;
        return new Result(name, responses, elapsed, cpu);
    }

    private static long load(int port, List<byte[]> requests, int clients, int seconds) throws InterruptedException {
        AtomicLong responses = new AtomicLong();
        AtomicBoolean stop = new AtomicBoolean();
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < clients; i++) {
            threads.add(Thread.ofPlatform().start(() -> {
                while (!stop.get()) {
                    try {
                        post(port, requests.get(ThreadLocalRandom.current().nextInt(requests.size())));
                        responses.incrementAndGet();
                    } catch (IOException e) {
                        throw new IllegalStateException("request failed: " + e, e);
                    }
                }
            }));
        }
        Thread.sleep(TimeUnit.SECONDS.toMillis(seconds)); // the measured window itself
        stop.set(true);
        for (Thread t : threads) t.join();
        return responses.get();
    }

    /** One HTTP/1.0 POST on its own connection; the response body. */
    static byte[] post(int port, byte[] request) throws IOException {
        try (Socket socket = new Socket("127.0.0.1", port)) {
            socket.setSoTimeout(READ_TIMEOUT_MILLIS);
            OutputStream out = socket.getOutputStream();
            out.write(("POST / HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Type: application/ocsp-request\r\nContent-Length: "
                    + request.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.write(request);
            out.flush();
            InputStream in = socket.getInputStream();
            int length = -1;
            String status = line(in);
            if (!status.contains(" 200")) throw new IOException("HTTP status " + status);
            for (String header = line(in); !header.isEmpty(); header = line(in)) {
                if (header.toLowerCase(Locale.ROOT).startsWith("content-length:")) {
                    length = Integer.parseInt(header.substring("content-length:".length()).strip());
                }
            }
            return length >= 0 ? in.readNBytes(length) : in.readAllBytes();
        }
    }

    private static String line(InputStream in) throws IOException {
        StringBuilder line = new StringBuilder();
        for (int c = in.read(); c != -1 && c != '\n'; c = in.read()) {
            if (c != '\r') line.append((char) c);
        }
        return line.toString();
    }

    private static String readyLine(Process server, String prefix, Path err) throws IOException {
        BufferedReader in = new BufferedReader(new InputStreamReader(server.getInputStream(), StandardCharsets.UTF_8));
        for (String line = in.readLine(); line != null; line = in.readLine()) {
            if (line.startsWith(prefix)) return line;
        }
        throw new IllegalStateException("server did not start: " + Files.readString(err));
    }

    private static void stop(Process server) throws InterruptedException {
        server.destroy();
        if (!server.waitFor(START_LIMIT_SECONDS, TimeUnit.SECONDS)) server.destroyForcibly();
    }
}
