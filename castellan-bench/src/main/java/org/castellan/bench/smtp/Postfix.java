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
        try (Instance postfix = start(dir, pki, settings, List.of())) {
            int port = postfix.port();
            long warmedUp = SmtpSubmissionBench.warmUp(client, port, settings.clients(), postfix::cpuSeconds, null);
            postfix.awaitEmptyQueue();
            double before = postfix.cpuSeconds();
            LoadClient.Load load = client.run(port, settings.clients(), settings.duration());
            postfix.awaitEmptyQueue();
            double cpu = postfix.cpuSeconds() - before;
            return new SmtpSubmissionBench.Result("postfix", load, cpu, maildirMessages(dir),
                    warmedUp + load.messages());
        }
    }

    /**
     * A running instance: its submission port and its master process.
     *
     * @param dir everything of the instance: configuration, queue, Maildir, {@code maillog}
     */
    record Instance(Path dir, int port, long master) implements AutoCloseable {

        /** CPU seconds of the master and every daemon, the reaped ones included. */
        double cpuSeconds() {
            return ProcessCpu.treeSeconds(master);
        }

        /**
         * Waits until no queue file is left. The queue directories are read directly: asking Postfix
         * (postqueue -p) would run its showq daemon, whose CPU would count as the server's.
         */
        void awaitEmptyQueue() {
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

        @Override
        public void close() throws IOException, InterruptedException {
            exec(List.of(script().toString(), "stop", dir.toString()));
        }
    }

    /**
     * Starts an instance on a free loopback port and waits until it listens.
     *
     * @param extra further arguments of the script's {@code start} (a relay host)
     */
    static Instance start(Path dir, TestPki pki, SmtpSubmissionBench.Settings settings, List<String> extra)
            throws IOException, InterruptedException {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        List<String> command = new ArrayList<>(List.of(script().toString(), "start", dir.toString(), Integer.toString(port),
                pki.server().chainFile().toString(), pki.server().keyFile().toString(),
                SmtpSubmissionBench.USER, SmtpSubmissionBench.PASSWORD));
        command.addAll(extra);
        // Pinned, the script and so the master and every daemon it starts run on the server CPU.
        String out = exec(settings.serverCommand(command));
        if (!out.startsWith("MASTER ")) throw new IllegalStateException("the script said: " + out);
        Instance instance = new Instance(dir, port, Long.parseLong(out.substring(7).strip()));
        try {
            awaitListening(port);
        } catch (RuntimeException e) {
            instance.close();
            throw e;
        }
        return instance;
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

    private static String exec(List<String> command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) throw new IllegalStateException(String.join(" ", command) + " failed: " + out.strip());
        return out;
    }
}
