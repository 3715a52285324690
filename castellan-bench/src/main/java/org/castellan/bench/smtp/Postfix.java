package org.castellan.bench.smtp;

import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.castellan.testkit.TestPki;

/**
 * The reference run: a Postfix instance set up by {@code castellan-bench/scripts/postfix-instance.sh}
 * (own configuration, queue and data directories, Cyrus SASL sasldb, Maildir delivery), loaded
 * exactly like Castellan. Its CPU is the master's and all its children's (smtpd, cleanup, qmgr,
 * virtual, tlsmgr...), read from /proc, until the queue is empty: work Postfix defers after the
 * 250 counts too.
 */
final class Postfix {

    /** Postfix delivers after the 250; a queue that is not empty by then is stuck, not slow. */
    private static final long QUEUE_DRAIN_SECONDS = 300;

    private Postfix() {}

    static SmtpSubmissionBench.Result run(Path dir, TestPki pki, int clients, int seconds, byte[] message) throws Exception {
        Path script = script();
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        String out = exec(List.of(script.toString(), "start", dir.toString(), Integer.toString(port),
                pki.server().chainFile().toString(), pki.server().keyFile().toString(),
                SmtpSubmissionBench.USER, SmtpSubmissionBench.PASSWORD));
        if (!out.startsWith("MASTER ")) throw new IllegalStateException("the script said: " + out);
        long master = Long.parseLong(out.substring(7).strip());
        try {
            awaitListening(port);
            SmtpSubmissionBench.load(pki.clientContext(), port, clients, 3, message); // warm-up, as for Castellan
            awaitEmptyQueue(script, dir);
            double before = cpuSeconds(master);
            SmtpSubmissionBench.Load l = SmtpSubmissionBench.load(pki.clientContext(), port, clients, seconds, message);
            awaitEmptyQueue(script, dir);
            double cpu = cpuSeconds(master) - before;
            return new SmtpSubmissionBench.Result("postfix", l.messages(), l.seconds(), l.latencies(), cpu, l.errors());
        } finally {
            exec(List.of(script.toString(), "stop", dir.toString()));
        }
    }

    private static Path script() {
        for (Path p : List.of(Path.of("castellan-bench/scripts/postfix-instance.sh"), Path.of("scripts/postfix-instance.sh"),
                Path.of("../scripts/postfix-instance.sh"))) {
            if (Files.isExecutable(p)) return p.toAbsolutePath();
        }
        throw new IllegalStateException("castellan-bench/scripts/postfix-instance.sh not found; run from the repository root");
    }

    private static void awaitListening(int port) {
        await("postfix listening on port " + port).atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100))
                .ignoreExceptions().until(() -> {
                    try (var s = new java.net.Socket("127.0.0.1", port)) {
                        return true;
                    }
                });
    }

    private static void awaitEmptyQueue(Path script, Path dir) {
        await("the Postfix queue to empty; see " + dir.resolve("maillog")).atMost(Duration.ofSeconds(QUEUE_DRAIN_SECONDS))
                .pollInterval(Duration.ofMillis(200)).until(() -> {
                    Process p = new ProcessBuilder(script.toString(), "queue-empty", dir.toString()).redirectErrorStream(true).start();
                    p.getInputStream().readAllBytes();
                    return p.waitFor() == 0;
                });
    }

    /** utime+stime of the master and its live children, plus what its reaped children used (cutime+cstime). */
    static double cpuSeconds(long master) throws IOException {
        long ticks = 0;
        List<Long> pids = new ArrayList<>();
        pids.add(master);
        try (var procs = Files.list(Path.of("/proc"))) {
            procs.map(p -> p.getFileName().toString()).filter(n -> n.chars().allMatch(Character::isDigit))
                    .forEach(n -> {
                        long[] f = stat(Long.parseLong(n));
                        if (f != null && f[0] == master) pids.add(Long.parseLong(n));
                    });
        }
        for (long pid : pids) {
            long[] f = stat(pid);
            if (f != null) ticks += f[1] + f[2] + f[3] + f[4];
        }
        return ticks / (double) clockTicks();
    }

    /** ppid, utime, stime, cutime, cstime from /proc/PID/stat (proc(5)); null when the process is gone. */
    private static long[] stat(long pid) {
        try {
            String s = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
            String[] f = s.substring(s.lastIndexOf(')') + 2).split(" ");
            // After the command name: state(3) ppid(4) ... utime(14) stime(15) cutime(16) cstime(17).
            return new long[] {Long.parseLong(f[1]), Long.parseLong(f[11]), Long.parseLong(f[12]),
                    Long.parseLong(f[13]), Long.parseLong(f[14])};
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    private static long clockTicks() {
        try {
            return Long.parseLong(exec(List.of("getconf", "CLK_TCK")).strip());
        } catch (Exception e) {
            return 100; // USER_HZ on every Linux architecture Castellan runs on
        }
    }

    private static String exec(List<String> command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) throw new IllegalStateException(String.join(" ", command) + " failed: " + out.strip());
        return out;
    }
}
