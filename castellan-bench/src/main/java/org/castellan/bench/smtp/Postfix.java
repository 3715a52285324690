package org.castellan.bench.smtp;

import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.castellan.bench.ProcessCpu;
import org.castellan.testkit.TestPki;

/**
 * The reference run: a Postfix instance set up by {@code castellan-bench/scripts/postfix-instance.sh}
 * (own configuration, queue and data directories, Cyrus SASL sasldb, Maildir delivery), loaded
 * exactly like Castellan. Its CPU is the master's and all its children's (smtpd, cleanup, qmgr,
 * virtual, tlsmgr, postlogd...), read from /proc, from the start of the measured run until the
 * queue is empty: work Postfix defers after the 250 counts too. Afterwards the files in the
 * Maildir are counted.
 */
final class Postfix {

    /** Postfix delivers after the 250; a queue that is not empty by then is stuck, not slow. */
    private static final long QUEUE_DRAIN_SECONDS = 300;

    private Postfix() {}

    static SmtpSubmissionBench.Result run(Path dir, TestPki pki, LoadClient client, SmtpSubmissionBench.Settings settings)
            throws Exception {
        Path script = script();
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        // Pinned, the script and so the master and every daemon it starts run on the server CPU.
        String out = exec(settings.serverCommand(List.of(script.toString(), "start", dir.toString(), Integer.toString(port),
                pki.server().chainFile().toString(), pki.server().keyFile().toString(),
                SmtpSubmissionBench.USER, SmtpSubmissionBench.PASSWORD)));
        if (!out.startsWith("MASTER ")) throw new IllegalStateException("the script said: " + out);
        long master = Long.parseLong(out.substring(7).strip());
        try {
            awaitListening(port);
            long warmedUp = SmtpSubmissionBench.warmUp(client, port, settings.clients(), () -> ProcessCpu.treeSeconds(master), null);
            awaitEmptyQueue(dir);
            double before = ProcessCpu.treeSeconds(master);
            LoadClient.Load load = client.run(port, settings.clients(), settings.duration());
            awaitEmptyQueue(dir);
            double cpu = ProcessCpu.treeSeconds(master) - before;
            return new SmtpSubmissionBench.Result("postfix", load, cpu, maildirMessages(dir),
                    warmedUp + load.messages());
        } finally {
            exec(List.of(script.toString(), "stop", dir.toString()));
        }
    }

    /** The Maildir that virtual(8) delivers to (virtual_mailbox_maps = static:mail/): new/ and cur/. */
    private static long maildirMessages(Path dir) throws IOException {
        long n = 0;
        for (String sub : List.of("new", "cur")) {
            Path d = dir.resolve("vmail/mail").resolve(sub);
            if (!Files.isDirectory(d)) continue;
            try (var files = Files.list(d)) {
                n += files.count();
            }
        }
        return n;
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

    /**
     * Waits until no queue file is left. The queue directories are read directly: asking Postfix
     * (postqueue -p) would run its showq daemon, whose CPU would count as the server's.
     */
    private static void awaitEmptyQueue(Path dir) {
        List<Path> queues = List.of("maildrop", "incoming", "active", "deferred", "hold").stream()
                .map(q -> dir.resolve("queue").resolve(q)).toList();
        await("the Postfix queue to empty; see " + dir.resolve("maillog")).atMost(Duration.ofSeconds(QUEUE_DRAIN_SECONDS))
                .pollInterval(Duration.ofMillis(100))
                // A queue file may vanish while the directory is read: that is progress, look again.
                .ignoreExceptions().until(() -> {
                    for (Path q : queues) {
                        if (!Files.isDirectory(q)) continue;
                        try (var files = Files.walk(q)) {
                            if (files.anyMatch(Files::isRegularFile)) return false;
                        }
                    }
                    return true;
                });
    }

    private static String exec(List<String> command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) throw new IllegalStateException(String.join(" ", command) + " failed: " + out.strip());
        return out;
    }
}
