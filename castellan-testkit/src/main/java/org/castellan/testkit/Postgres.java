package org.castellan.testkit;

import com.sun.security.auth.module.UnixSystem;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A real PostgreSQL server for tests, from Debian's {@code postgresql} package: {@code initdb} into a
 * directory of its own under {@code java.io.tmpdir}, started with {@code pg_ctl} on 127.0.0.1 at a
 * port chosen at run time, its Unix socket in that directory, stopped ({@code pg_ctl stop -m immediate})
 * and deleted by {@link #close()}.
 *
 * <p>Durable as in production: {@code fsync = on}, {@code synchronous_commit = on},
 * {@code full_page_writes = on}. Only {@code initdb} runs with {@code --no-sync}: a test never
 * survives a power cut of the machine, and the cluster's first files are not what it tests.
 * {@code autovacuum = off}: a test JVM makes hundreds of short-lived databases on one server, and
 * the launcher would start a worker for each of them in turn all the time; no test waits for a
 * vacuum, and durability does not depend on one.
 *
 * <p>Authentication is by password, SCRAM-SHA-256 (the default of PostgreSQL 14 and later), for TCP
 * on 127.0.0.1 and the Unix socket alike, with a random password per instance: the store's code
 * logs in as it will in production, and no other local user can log in by being local.
 *
 * <p>initdb and postgres refuse to run as root. As root (CI), every server command runs as
 * {@code nobody} through util-linux's {@code setpriv} ({@link ServerDirectories#giveTo}), and the directory is given to {@code nobody}; it lives under {@code /tmp}
 * because a JUnit {@code @TempDir} is 0700 root and {@code nobody} could not reach into it. As
 * anyone else the commands run as that user.
 *
 * <p>Trusts: only the test that started it; it listens on loopback only.
 */
public final class Postgres implements AutoCloseable {

    /** Where Debian's postgresql-NN packages put the server binaries, one directory per major version. */
    static final Path DEBIAN_BINARIES = Path.of("/usr/lib/postgresql");
    /** The superuser initdb creates, and the user the tests log in as. */
    public static final String USER = "castellan";
    /**
     * Long enough for initdb and a first start on a loaded 2-core CI machine; pg_ctl's own wait
     * (-w) ends as soon as the server reports itself ready.
     */
    static final int START_TIMEOUT_SECONDS = 120;
    /** Tries of a start with a new port when the chosen one was taken between the probe and the bind. */
    static final int PORT_TRIES = 3;

    private final Path bin;
    private final Path directory;
    private final Path data;
    private final Path log;
    private final List<String> runAs;
    private final String password;
    private final Thread shutdownHook;
    private int port;

    private Postgres(Path bin, Path directory, List<String> runAs, String password) {
        this.bin = bin;
        this.directory = directory;
        this.data = directory.resolve("data");
        this.log = directory.resolve("postgres.log");
        this.runAs = runAs;
        this.password = password;
        // A test that dies before close(), or a fixture shared by a JVM's tests, would otherwise leave a
        // server running until the machine stops, and its directory (gigabytes after a large mailbox) behind.
        this.shutdownHook = new Thread(this::stopImmediatelyAndDelete, "postgres-stop-" + directory.getFileName());
    }

    /**
     * Creates a cluster in a new temporary directory and starts it; returns once it accepts
     * connections.
     *
     * @throws IllegalStateException if Debian's server binaries are missing (the message says which
     *     package to install) or initdb or the server fail (the message has their output)
     */
    public static Postgres start() {
        Path bin = findBinaries();
        boolean root = new UnixSystem().getUid() == 0;
        Path directory;
        List<String> runAs;
        try {
            directory = Files.createTempDirectory("castellan-pg-");
            runAs = root ? ServerDirectories.giveTo(directory) : List.of();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot prepare a directory for PostgreSQL in " + System.getProperty("java.io.tmpdir"), e);
        }
        Postgres pg = new Postgres(bin, directory, runAs, RandomHex.of(16));
        Runtime.getRuntime().addShutdownHook(pg.shutdownHook);
        try {
            pg.initdb();
            pg.startOnAFreePort();
            return pg;
        } catch (RuntimeException e) {
            try {
                pg.close();
            } catch (RuntimeException alsoFailed) {
                e.addSuppressed(alsoFailed);
            }
            throw e;
        }
    }

    /** {@code jdbc:postgresql://127.0.0.1:<port>/postgres}; log in with {@link #USER} and {@link #password()}. */
    public String jdbcUrl() {
        return "jdbc:postgresql://127.0.0.1:" + port + "/postgres";
    }

    public String user() {
        return USER;
    }

    public String password() {
        return password;
    }

    public int port() {
        return port;
    }

    /** The directory holding the cluster ({@code data/}), the Unix socket and the server's log. */
    public Path directory() {
        return directory;
    }

    /**
     * Stops the server the way an administrator does ({@code pg_ctl stop -m fast}: sessions are
     * ended, a checkpoint is written) and starts it again on the same port; returns once it accepts
     * connections. Open connections are broken.
     */
    public void restart() {
        stop("fast");
        startOn(port);
    }

    /**
     * Stops the server without a checkpoint ({@code pg_ctl stop -m immediate}: every server process
     * quits at once, as after a crash) and starts it again on the same port, which replays the WAL;
     * returns once it accepts connections.
     */
    public void restartAfterCrash() {
        stop("immediate");
        startOn(port);
    }

    /**
     * Stops the server as {@link #restart()} does ({@code pg_ctl stop -m fast}) and leaves it
     * stopped, refusing connections, until {@link #startAgain()}: for a test that acts during the outage.
     */
    public void stop() {
        stop("fast");
    }

    /** As {@link #stop()}, but as {@link #restartAfterCrash()} stops it ({@code pg_ctl stop -m immediate}). */
    public void crash() {
        stop("immediate");
    }

    /** After {@link #stop()} or {@link #crash()}: starts the server on its port again; returns once it accepts connections. */
    public void startAgain() {
        startOn(port);
    }

    /**
     * Stops the server at once ({@code pg_ctl stop -m immediate}) if it runs, and deletes its
     * directory. A fast stop would first write a shutdown checkpoint: every page the tests dirtied,
     * flushed with fsync, into files deleted right after (20 s and more at the end of a class that
     * made a database per test).
     */
    @Override
    public void close() {
        try {
            if (running()) stop("immediate");
            Runtime.getRuntime().removeShutdownHook(shutdownHook);
        } finally {
            ServerDirectories.delete(directory, "PostgreSQL's directory");
        }
    }

    private static Path findBinaries() {
        // The highest major version installed: the one Debian's postgresql package depends on.
        try (Stream<Path> majors = Files.isDirectory(DEBIAN_BINARIES) ? Files.list(DEBIAN_BINARIES) : Stream.empty()) {
            return majors.filter(p -> p.getFileName().toString().matches("\\d+"))
                    .map(p -> p.resolve("bin"))
                    .filter(b -> Stream.of("initdb", "pg_ctl", "pg_isready").allMatch(n -> Files.isExecutable(b.resolve(n))))
                    .max(Comparator.comparingInt(b -> Integer.parseInt(b.getParent().getFileName().toString())))
                    .orElseThrow(() -> new IllegalStateException("no PostgreSQL server under " + DEBIAN_BINARIES
                            + ": install the Debian package postgresql (apt-get install postgresql; ./test does)"));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + DEBIAN_BINARIES, e);
        }
    }

    private void initdb() {
        Path pwfile = directory.resolve("pwfile");
        try {
            Files.writeString(pwfile, password + "\n", StandardOpenOption.CREATE_NEW);
            if (!runAs.isEmpty()) ServerDirectories.chownLike(pwfile, directory);
            run(command(bin.resolve("initdb").toString(), "-D", data.toString(), "-U", USER, "--pwfile=" + pwfile,
                    "--auth=scram-sha-256", "-E", "UTF8", "--no-locale", "--no-sync", "--no-instructions"), "initdb");
            Files.delete(pwfile);
            Files.writeString(data.resolve("pg_hba.conf"), """
                    # TYPE  DATABASE  USER  ADDRESS       METHOD
                    local   all       all                 scram-sha-256
                    host    all       all   127.0.0.1/32  scram-sha-256
                    """);
            // Later lines win over initdb's; the port goes on pg_ctl's command line, as it may change on a retry.
            Files.writeString(data.resolve("postgresql.conf"), """

                    # castellan-testkit Postgres
                    listen_addresses = '127.0.0.1'
                    unix_socket_directories = '%s'
                    fsync = on
                    synchronous_commit = on
                    full_page_writes = on
                    autovacuum = off
                    max_connections = 40
                    shared_buffers = 32MB
                    """.formatted(directory), StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write PostgreSQL's files in " + directory, e);
        }
    }

    private void startOnAFreePort() {
        IllegalStateException last = null;
        for (int attempt = 0; attempt < PORT_TRIES; attempt++) {
            try {
                startOn(ServerDirectories.freePort());
                return;
            } catch (IllegalStateException e) {
                if (!logContains("could not bind")) throw e;
                last = e;
            }
        }
        throw last;
    }

    private void startOn(int chosen) {
        this.port = chosen;
        run(command(bin.resolve("pg_ctl").toString(), "-D", data.toString(), "-l", log.toString(), "-o", "-p " + chosen,
                "-w", "-t", Integer.toString(START_TIMEOUT_SECONDS), "start"), "pg_ctl start");
        // pg_ctl -w returned when the postmaster wrote "ready" into postmaster.pid; this checks the TCP listener.
        run(command(bin.resolve("pg_isready").toString(), "-h", "127.0.0.1", "-p", Integer.toString(chosen),
                "-t", Integer.toString(START_TIMEOUT_SECONDS)), "pg_isready");
    }

    private void stop(String mode) {
        run(command(bin.resolve("pg_ctl").toString(), "-D", data.toString(), "-m", mode, "-w",
                "-t", Integer.toString(START_TIMEOUT_SECONDS), "stop"), "pg_ctl stop -m " + mode);
    }

    /** The postmaster removes its pid file when it exits; a failed or timed-out start may still have one. */
    private boolean running() {
        return Files.exists(data.resolve("postmaster.pid"));
    }

    private void stopImmediatelyAndDelete() {
        try {
            if (running()) stop("immediate");
        } finally {
            try {
                ServerDirectories.delete(directory, "PostgreSQL's directory");
            } catch (RuntimeException e) {
                System.err.println("postgres: " + e.getMessage());
            }
        }
    }

    private List<String> command(String... args) {
        List<String> command = new ArrayList<>(runAs);
        command.addAll(List.of(args));
        return command;
    }

    /** Runs a server command in the cluster's directory (the unprivileged user may not enter ours). */
    private void run(List<String> command, String what) {
        try {
            Process p = new ProcessBuilder(command).directory(directory.toFile()).redirectErrorStream(true).start();
            // pg_ctl start hands the server's output to the log file, so this stream closes when pg_ctl exits.
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(START_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IllegalStateException(what + " did not finish within " + START_TIMEOUT_SECONDS + " s\n" + out);
            }
            if (p.exitValue() != 0) {
                throw new IllegalStateException(what + " failed (exit " + p.exitValue() + ")\n" + out + logTail());
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot run " + command, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(what + " interrupted", e);
        }
    }

    private String logTail() {
        try {
            if (!Files.exists(log)) return "";
            List<String> lines = Files.readAllLines(log);
            return "\nlast lines of " + log + ":\n" + String.join("\n", lines.subList(Math.max(0, lines.size() - 20), lines.size()));
        } catch (IOException e) {
            return "\n(cannot read " + log + ": " + e + ")";
        }
    }

    private boolean logContains(String text) {
        return logTail().contains(text);
    }
}
