package org.castellan.bench.tls;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.castellan.testkit.TestPki;

/**
 * TLS 1.3 handshakes per second and per server CPU-second, full and resumed, with and without
 * client-certificate verification, for Castellan's {@code TlsPolicy} (Netty with BoringSSL on
 * native epoll, as the server's listeners run, in a child JVM) against {@code openssl s_server},
 * in one run.
 *
 * <p>Both servers use the same ECDSA P-256 certificate and key, send the same chain (leaf and
 * issuing CA), and trust the same issuing CA for client certificates (OpenSSL with
 * {@code -partial_chain}, as Castellan anchors there too). Session tickets as each server issues
 * them in service: without a client certificate both issue TLS 1.3 tickets (BoringSSL's and
 * OpenSSL's default of two); with one, Castellan issues none, so that every connection verifies
 * the certificate and its revocation again, and {@code s_server} gets {@code -num_tickets 0} for
 * full handshakes and its default for resumed ones (it would resume; Castellan does a full
 * handshake instead, which is what the ratio then shows).
 *
 * <p>The client is the same for both: {@code openssl s_time -tls1_3 -new} (full) or
 * {@code -reuse} (resumed), one connection at a time, each sending one line and reading the reply
 * until the server closes; so the server has read the client's whole handshake, certificate
 * included, before the connection counts. Its CPU is not counted; the server's CPU is its
 * process's user+system time over the measured window.
 *
 * <p>Each case is measured in steady state: first the client runs in windows of
 * {@link #WARM_UP_WINDOW_SECONDS} until the server has done {@link #MIN_WARM_UP_HANDSHAKES} and
 * its CPU per handshake changes by less than {@link #STEADY} from one window to the next (at most
 * {@link #MAX_WARM_UP_SECONDS}). A JVM's
 * first tens of thousands of handshakes pay for the JIT compiling Netty's and the TLS engine's
 * paths (two to three times the steady cost here); a server runs for months, so that is not what
 * its handshakes cost. OpenSSL gets the same procedure and settles in the first windows.
 *
 * <p>Arguments: {@code [seconds=10]}.
 */
public final class HandshakeBench {

    /** One warm-up window: long enough for a few thousand handshakes, so that its CPU figure is not noise. */
    private static final int WARM_UP_WINDOW_SECONDS = 3;
    /** Warm-up ends when CPU per handshake moves by less than this between windows. */
    private static final double STEADY = 0.10;
    /**
     * Handshakes before any window may count as steady: on a busy machine two noisy windows can
     * agree by chance while the JIT is still compiling (measured: about 1,000 µs of server CPU per
     * handshake over the first 5,000, under 400 µs after 15,000).
     */
    private static final int MIN_WARM_UP_HANDSHAKES = 15_000;
    /** A server that is still not steady after this is measured anyway (and the output says so). */
    private static final int MAX_WARM_UP_SECONDS = 90;
    /** A server that has not printed its ready line in this time did not start. */
    private static final long START_LIMIT_SECONDS = 60;
    private static final Pattern REAL = Pattern.compile("(\\d+) connections in (\\d+) real seconds");

    record Result(String server, boolean clientCert, boolean resumed, long handshakes, double seconds,
            double cpuSeconds, int warmUpSeconds, boolean steady) {
        double perSecond() { return handshakes / seconds; }

        double perCpuSecond() { return handshakes / cpuSeconds; }
    }

    private HandshakeBench() {}

    public static void main(String[] args) throws Exception {
        int seconds = args.length > 0 ? Integer.parseInt(args[0]) : 10;
        Path dir = Files.createTempDirectory("castellan-handshake-bench");
        TestPki pki = TestPki.create(Files.createDirectories(dir.resolve("pki")));
        List<String> blocks = pemBlocks(Files.readString(pki.server().chainFile()));
        Path leaf = Files.writeString(dir.resolve("leaf.pem"), blocks.get(0));
        Path intermediates = Files.writeString(dir.resolve("intermediates.pem"), String.join("", blocks.subList(1, blocks.size())));
        Path clientCa = pki.issuingCa().certificateFile();
        Path www = Files.createDirectories(dir.resolve("www"));
        Files.writeString(www.resolve("x"), "x\n");

        List<Result> results = new ArrayList<>();
        for (boolean resumed : new boolean[] {false, true}) {
            for (boolean clientCert : new boolean[] {false, true}) {
                results.add(castellan(dir, pki, clientCa, clientCert, resumed, seconds));
                results.add(openssl(dir, www, pki, leaf, intermediates, clientCa, clientCert, resumed, seconds));
            }
        }
        System.out.printf("%nTLS 1.3 handshakes, ECDSA P-256, client openssl s_time -new (full) / -reuse (resumed),"
                + " %d s per case (%s)%n", seconds, version());
        System.out.printf("%-10s %-8s %-12s %10s %10s %12s %14s %10s%n", "server", "kind", "client cert", "handshakes",
                "per s", "server CPU s", "per CPU-second", "warm-up s");
        for (Result r : results) {
            System.out.printf(Locale.ROOT, "%-10s %-8s %-12s %10d %10.1f %12.2f %14.1f %10s%n", r.server(),
                    r.resumed() ? "resumed" : "full", r.clientCert() ? "verified" : "none", r.handshakes(),
                    r.perSecond(), r.cpuSeconds(), r.perCpuSecond(), r.warmUpSeconds() + (r.steady() ? "" : " (unsteady)"));
        }
        for (int i = 0; i < results.size(); i += 2) {
            Result c = results.get(i);
            Result o = results.get(i + 1);
            System.out.printf(Locale.ROOT, "castellan/openssl, %-7s client cert %-8s: %.2f x per second, %.2f x per"
                    + " CPU-second%n", c.resumed() ? "resumed" : "full", c.clientCert() ? "verified" : "none",
                    c.perSecond() / o.perSecond(), c.perCpuSecond() / o.perCpuSecond());
        }
    }

    private static Result castellan(Path dir, TestPki pki, Path clientCa, boolean clientCert, boolean resumed,
            int seconds) throws Exception {
        String java = ProcessHandle.current().info().command().orElseThrow();
        List<String> command = new ArrayList<>(List.of(java, "--enable-native-access=ALL-UNNAMED", "-cp",
                System.getProperty("java.class.path"), HandshakeServer.class.getName(),
                pki.server().chainFile().toString(), pki.server().keyFile().toString(), clientCert ? "REQUIRE" : "NONE"));
        if (clientCert) command.add(clientCa.toString());
        Path err = dir.resolve("castellan-" + clientCert + "-" + resumed + ".err");
        Process server = new ProcessBuilder(command).redirectError(err.toFile()).start();
        try {
            String ready = readyLine(server, "READY ", err);
            int port = Integer.parseInt(ready.split(" ")[1]);
            if (!ready.endsWith("BORINGSSL")) System.err.println("warning: Castellan runs on the JDK's TLS: " + ready);
            return measure("castellan", server, port, pki, clientCert, resumed, seconds);
        } finally {
            stop(server);
        }
    }

    private static Result openssl(Path dir, Path www, TestPki pki, Path leaf, Path intermediates, Path clientCa,
            boolean clientCert, boolean resumed, int seconds) throws Exception {
        int port = freePort();
        List<String> command = new ArrayList<>(List.of("openssl", "s_server", "-accept", "127.0.0.1:" + port,
                "-cert", leaf.toString(), "-cert_chain", intermediates.toString(), "-key", pki.server().keyFile().toString(),
                "-tls1_3", "-WWW"));
        // Tickets as Castellan issues them (see the class comment), except that a resumed run lets
        // OpenSSL resume what Castellan would not.
        if (clientCert && !resumed) command.addAll(List.of("-num_tickets", "0"));
        if (clientCert) command.addAll(List.of("-Verify", "2", "-CAfile", clientCa.toString(), "-partial_chain"));
        Path err = dir.resolve("openssl-" + clientCert + "-" + resumed + ".err");
        Process server = new ProcessBuilder(command).directory(www.toFile()).redirectError(err.toFile()).start();
        try {
            readyLine(server, "ACCEPT", err);
            return measure("openssl", server, port, pki, clientCert, resumed, seconds);
        } finally {
            stop(server);
        }
    }

    private static Result measure(String name, Process server, int port, TestPki pki, boolean clientCert,
            boolean resumed, int seconds) throws Exception {
        int warmUp = 0;
        long warmUpHandshakes = 0;
        boolean steady = false;
        double previous = Double.NaN;
        while (!steady && warmUp < MAX_WARM_UP_SECONDS) {
            Duration before = server.info().totalCpuDuration().orElseThrow();
            long[] window = sTime(port, pki, clientCert, resumed, WARM_UP_WINDOW_SECONDS);
            double cpuPerHandshake = server.info().totalCpuDuration().orElseThrow().minus(before).toNanos()
                    / (double) Math.max(1, window[0]);
            warmUp += WARM_UP_WINDOW_SECONDS;
            warmUpHandshakes += window[0];
            steady = warmUpHandshakes >= MIN_WARM_UP_HANDSHAKES && Math.abs(cpuPerHandshake - previous) < STEADY * previous;
            previous = cpuPerHandshake;
        }
        Duration before = server.info().totalCpuDuration().orElseThrow();
        long[] run = sTime(port, pki, clientCert, resumed, seconds);
        Duration cpu = server.info().totalCpuDuration().orElseThrow().minus(before);
        return new Result(name, clientCert, resumed, run[0], run[1], cpu.toNanos() / 1e9, warmUp, steady);
    }

    /** Runs {@code openssl s_time}; returns the connections made and the real seconds taken. */
    private static long[] sTime(int port, TestPki pki, boolean clientCert, boolean resumed, int seconds)
            throws Exception {
        List<String> command = new ArrayList<>(List.of("openssl", "s_time", "-connect", "127.0.0.1:" + port,
                resumed ? "-reuse" : "-new", "-tls1_3", "-www", "/x", "-time", String.valueOf(seconds)));
        if (clientCert) {
            command.addAll(List.of("-cert", pki.client().chainFile().toString(), "-key", pki.client().keyFile().toString()));
        }
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(seconds + START_LIMIT_SECONDS, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IllegalStateException("openssl s_time failed:\n" + out);
        }
        Matcher m = REAL.matcher(out);
        if (!m.find()) throw new IllegalStateException("no figures in openssl s_time's output:\n" + out);
        return new long[] {Long.parseLong(m.group(1)), Long.parseLong(m.group(2))};
    }

    private static String readyLine(Process server, String prefix, Path err) throws IOException {
        BufferedReader in = new BufferedReader(new InputStreamReader(server.getInputStream(), StandardCharsets.UTF_8));
        for (String line = in.readLine(); line != null; line = in.readLine()) {
            if (line.startsWith(prefix)) {
                // Keep draining stdout so a chatty server never blocks on a full pipe.
                Thread.ofVirtual().start(() -> {
                    try {
                        in.transferTo(java.io.Writer.nullWriter());
                    } catch (IOException ignored) {
                        // The server was stopped.
                    }
                });
                return line;
            }
        }
        throw new IllegalStateException("server did not start: " + Files.readString(err));
    }

    private static void stop(Process server) throws InterruptedException {
        server.destroy();
        if (!server.waitFor(START_LIMIT_SECONDS, TimeUnit.SECONDS)) server.destroyForcibly();
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    private static List<String> pemBlocks(String pem) {
        List<String> blocks = new ArrayList<>();
        Matcher m = Pattern.compile("-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----\\R?", Pattern.DOTALL).matcher(pem);
        while (m.find()) blocks.add(m.group());
        return blocks;
    }

    private static String version() throws Exception {
        Process p = new ProcessBuilder("openssl", "version").redirectErrorStream(true).start();
        String v = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        p.waitFor();
        return v;
    }
}
