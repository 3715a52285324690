package org.castellan.bench.auth;

import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.castellan.bench.imap.CastellanImap;
import org.castellan.bench.imap.Dovecot;
import org.castellan.bench.imap.ServerUnderTest;
import org.castellan.testkit.TestPki;

/**
 * Login cycles over IMAPS, Castellan against Dovecot in one run: each cycle a new connection, a
 * full TLS 1.3 handshake (a new client context every time, so nothing resumes), a login, LOGOUT.
 * Two logins: {@code LOGIN} with the password (Castellan answers it from its verification cache
 * after the first; Dovecot's passdb holds that user's password in the clear, its cheapest check)
 * and {@code AUTHENTICATE SCRAM-SHA-256} (both servers hold stored keys: no PBKDF2 per login; the
 * client keeps its SaltedPassword). Both servers run for the whole invocation and take turns
 * window by window, login by login, {@code pairs} times; reported per server are logins per
 * second and per server CPU-second (its whole process tree, from /proc), then Castellan's ratio to
 * Dovecot pair by pair, as median [min-max].
 *
 * <p>The client is this JVM's blocking JDK TLS, {@code threads} connections at a time; on a small
 * machine it takes much of the CPU, which is why the figure that compares servers is per server
 * CPU-second.
 *
 * <p>Arguments: {@code [seconds=10] [pairs=3] [threads=2 per core]}.
 */
public final class LoginCycleBench {

    /** The LOGIN case's account; the SCRAM case's is {@link LoginBench#ACCOUNT}. */
    private static final String PLAIN_ACCOUNT = "plain@example.org";

    private LoginCycleBench() {}

    private record Case(String kind, LoginBench.Login login) {}

    private record Window(String server, String kind, long logins, double seconds, double cpuSeconds) {
        double perSecond() { return logins / seconds; }

        double perCpuSecond() { return logins / cpuSeconds; }
    }

    public static void main(String[] args) throws Exception {
        int seconds = args.length > 0 ? Integer.parseInt(args[0]) : 10;
        int pairs = args.length > 1 ? Integer.parseInt(args[1]) : 3;
        int threads = args.length > 2 ? Integer.parseInt(args[2]) : 2 * Runtime.getRuntime().availableProcessors();
        Path dir = Files.createTempDirectory("castellan-bench-logins");
        TestPki pki = TestPki.create(Files.createDirectories(dir.resolve("test-pki")));
        System.out.printf("IMAPS login cycles: %d pairs of %d s windows, %d client threads, in %s%n", pairs, seconds, threads, dir);
        System.out.printf("machine: %d CPUs, load average %s%n", Runtime.getRuntime().availableProcessors(),
                org.castellan.bench.imap.MixedWorkloadBench.loadAverage());
        List<ServerUnderTest> servers = new ArrayList<>();
        try {
            servers.add(CastellanImap.start(dir.resolve("castellan"), pki, List.of(LoginBench.ACCOUNT, PLAIN_ACCOUNT),
                    LoginBench.PASSWORD, List.of(), List.of()));
            servers.add(Dovecot.startForLogins(dir.resolve("dovecot"), pki, PLAIN_ACCOUNT, LoginBench.ACCOUNT,
                    LoginBench.PASSWORD, threads));
            LoginBench.FreshTls tls = new LoginBench.FreshTls(pki);
            // The server's JIT and Dovecot's login processes first meet each case here, not in a window.
            for (ServerUnderTest server : servers) {
                for (Case c : cases(server, tls)) LoginBench.measure(LoginBench.TLS_WARM_UP_SECONDS, threads, c.login());
            }
            List<Window> windows = new ArrayList<>();
            for (int pair = 1; pair <= pairs; pair++) {
                for (int k = 0; k < 2; k++) {
                    for (ServerUnderTest server : servers) {
                        Case c = cases(server, tls).get(k);
                        double before = server.cpuSeconds();
                        long start = System.nanoTime();
                        long logins = LoginBench.measure(seconds, threads, c.login());
                        Window w = new Window(server.name(), c.kind(), logins, (System.nanoTime() - start) / 1e9,
                                server.cpuSeconds() - before);
                        System.out.printf("pair %d %-10s %-14s %8.1f logins/s %8.1f per server CPU-s (%.2f CPU-s)%n", pair,
                                w.server(), w.kind(), w.perSecond(), w.perCpuSecond(), w.cpuSeconds());
                        windows.add(w);
                    }
                }
            }
            summary(windows, pairs);
        } finally {
            for (ServerUnderTest server : servers) server.close();
        }
    }

    private static List<Case> cases(ServerUnderTest server, LoginBench.FreshTls tls) {
        InetSocketAddress at = new InetSocketAddress("127.0.0.1", server.port());
        LoginBench.FastScram scram = new LoginBench.FastScram();
        return List.of(
                new Case("LOGIN", () -> LoginBench.untilAvailable(at, tls,
                        s -> new LoginBench.Dialogue("a LOGIN \"" + PLAIN_ACCOUNT + "\" \"" + LoginBench.PASSWORD + "\"", null))
                        .startsWith("a OK")),
                new Case("SCRAM-SHA-256", () -> LoginBench.untilAvailable(at, tls, s -> {
                    String nonce = Long.toHexString(System.nanoTime());
                    return new LoginBench.Dialogue("a AUTHENTICATE SCRAM-SHA-256 " + LoginBench.b64(scram.clientFirst(nonce)),
                            LoginBench.firstOnly(challenge -> scram.clientFinal(nonce, challenge)));
                }).startsWith("a OK")));
    }

    private static void summary(List<Window> windows, int pairs) {
        System.out.printf("%nmedian [min-max] over %d pairs%n", pairs);
        for (String kind : List.of("LOGIN", "SCRAM-SHA-256")) {
            List<Window> castellan = windows.stream().filter(w -> w.kind().equals(kind) && w.server().equals("castellan")).toList();
            List<Window> dovecot = windows.stream().filter(w -> w.kind().equals(kind) && w.server().equals("dovecot")).toList();
            for (List<Window> w : List.of(castellan, dovecot)) {
                System.out.printf("  %-14s %-10s logins/s %s  per server CPU-s %s%n", kind, w.get(0).server(),
                        spread(w.stream().mapToDouble(Window::perSecond).toArray(), "%.0f"),
                        spread(w.stream().mapToDouble(Window::perCpuSecond).toArray(), "%.0f"));
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
