package org.castellan.server.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The packaged systemd unit's command line, run as the unit runs it: as the unprivileged user
 * {@code castellan} with CAP_NET_BIND_SERVICE alone (ambient, inherited and bounding sets) and no
 * new privileges, from the tree the Debian package installs (packaging/build-deb.sh --stage-only).
 * It must serve a port below 1024. systemd is not PID 1 on build machines, so {@code setpriv}
 * applies the unit's User=, AmbientCapabilities=, CapabilityBoundingSet= and NoNewPrivileges=.
 *
 * <p>Needs root (to create the user and switch to it); CI runs as root. Without root it fails,
 * saying so, rather than skipping: a skipped privilege test would hide a broken unit.
 *
 * <p>Runs after {@code package} (failsafe), because it uses the distribution jars.
 */
class PackagedServiceIT {

    private static final Path REPO = Path.of("..").toAbsolutePath().normalize();
    private static final Path UNIT = REPO.resolve("packaging/castellan.service");
    /** The bit of CAP_NET_BIND_SERVICE (10) in /proc/PID/status's capability masks. */
    private static final long NET_BIND_SERVICE = 1L << 10;
    /** The highest and lowest ports tried for a free privileged port. */
    private static final int HIGHEST_LOW_PORT = 1023;
    private static final int LOWEST_LOW_PORT = 600;
    private static final Duration STARTUP_LIMIT = Duration.ofSeconds(120);

    @TempDir Path tmp;
    Map<String, String> unit;
    Path tree;

    @BeforeEach
    void stageThePackage() throws Exception {
        assertThat(ServeCommand.uid()).as("PackagedServiceIT starts the server as the user castellan with setpriv and"
                + " must run as root (CI does): run the build as root, e.g. sudo ./mvnw verify").contains(0);
        unit = unitSettings();
        // JUnit's temporary directory is 0700; the service's user must reach the jars and its data.
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwxr-xr-x"));
        String staged = run(List.of("bash", REPO.resolve("packaging/build-deb.sh").toString(), "--stage-only",
                tmp.resolve("stage").toString())).strip();
        tree = Path.of(staged.lines().reduce((a, b) -> b).orElseThrow());
        assertThat(tree.resolve("lib/systemd/system/castellan.service")).hasSameTextualContentAs(UNIT);
    }

    @Test
    void theUnitsCommandLineServesAPrivilegedPortAsAnUnprivilegedUserWithOneCapability() throws Exception {
        assertThat(unit).containsEntry("User", "castellan").containsEntry("AmbientCapabilities", "CAP_NET_BIND_SERVICE")
                .containsEntry("CapabilityBoundingSet", "CAP_NET_BIND_SERVICE").containsEntry("NoNewPrivileges", "yes")
                .containsEntry("ReadWritePaths", "/var/lib/castellan").doesNotContainKey("MemoryDenyWriteExecute");
        String user = unit.get("User");
        if (run(List.of("getent", "passwd", user), true).isBlank()) {
            // As the package's postinst does.
            run(List.of("useradd", "--system", "--user-group", "--no-create-home", "--home-dir", "/var/lib/castellan",
                    "--shell", "/usr/sbin/nologin", user));
        }
        int port = freePrivilegedPort();
        Path data = initData(port);
        run(List.of("chown", "-R", user + ":" + user, data.toString()));

        List<String> command = new ArrayList<>(List.of("setpriv", "--reuid=" + user, "--regid=" + user, "--init-groups",
                "--inh-caps=-all,+net_bind_service", "--ambient-caps=-all,+net_bind_service",
                "--bounding-set=-all,+net_bind_service", "--no-new-privs", "--"));
        command.addAll(execStart(data));
        Path log = tmp.resolve("service.log");
        Process server = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        try {
            await().atMost(STARTUP_LIMIT).pollInterval(Duration.ofMillis(200))
                    .until(() -> greeting(port) != null || !server.isAlive());
            assertThat(server.isAlive()).as(Files.readString(log)).isTrue();
            assertThat(greeting(port)).startsWith("+OK");

            Map<String, String> status = status(server.pid());
            long uid = Long.parseLong(run(List.of("id", "-u", user)).strip());
            assertThat(status.get("Uid").split("\\s+")).as("real, effective, saved, fs").containsOnly(Long.toString(uid));
            assertThat(Long.parseLong(status.get("CapEff"), 16)).isEqualTo(NET_BIND_SERVICE);
            assertThat(Long.parseLong(status.get("CapPrm"), 16)).isEqualTo(NET_BIND_SERVICE);
            assertThat(Long.parseLong(status.get("CapBnd"), 16)).isEqualTo(NET_BIND_SERVICE);
            assertThat(status.get("NoNewPrivs")).isEqualTo("1");
            assertThat(Files.readString(log)).doesNotContain("running as root");
        } finally {
            server.destroy(); // SIGTERM, as systemctl stop sends
            assertThat(server.waitFor(STARTUP_LIMIT.toSeconds(), TimeUnit.SECONDS)).isTrue();
        }
        assertThat(server.exitValue()).as(Files.readString(log)).isZero();
    }

    @Test
    void servingAsRootWarnsThatItShouldNot() throws Exception {
        Path data = initData(0);
        Path log = tmp.resolve("root.log");
        Process server = new ProcessBuilder(execStart(data)).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        try {
            await().atMost(STARTUP_LIMIT).pollInterval(Duration.ofMillis(200))
                    .until(() -> Files.readString(log).contains("listening: low") || !server.isAlive());
            assertThat(Files.readString(log)).contains("castellan serve is running as root", "CAP_NET_BIND_SERVICE",
                    "docs/install.md");
        } finally {
            server.destroy();
            assertThat(server.waitFor(STARTUP_LIMIT.toSeconds(), TimeUnit.SECONDS)).isTrue();
        }
    }

    /** The unit's [Service] settings, key to value (the last one written wins, as in systemd). */
    private static Map<String, String> unitSettings() throws IOException {
        return Files.readAllLines(UNIT).stream()
                .filter(l -> !l.startsWith("#") && l.contains("="))
                .collect(Collectors.toMap(l -> l.substring(0, l.indexOf('=')), l -> l.substring(l.indexOf('=') + 1),
                        (a, b) -> b));
    }

    /** ExecStart with the installed paths replaced by the staged launcher and the test's data directory. */
    private List<String> execStart(Path data) {
        return Arrays.stream(unit.get("ExecStart").split(" "))
                .map(w -> w.equals("/usr/bin/castellan") ? tree.resolve("usr/bin/castellan").toString()
                        : w.equals(unit.get("ReadWritePaths")) ? data.toString() : w)
                .toList();
    }

    /** A data directory made by castellan init whose only listener is POP3 on 127.0.0.1:port. */
    private Path initData(int port) throws IOException {
        Path data = tmp.resolve("data-" + port);
        Cli.Run init = Cli.raw(null, "init", "--data", data.toString(), "--hostname", "localhost", "--port-base", "0");
        assertThat(init.code()).as(init.err()).isZero();
        Path config = data.resolve("castellan.toml");
        String text = Files.readString(config);
        String withoutListeners = text.substring(0, text.indexOf("\n[[listener]]") + 1);
        Files.writeString(config, withoutListeners + String.join("\n", "[[listener]]", "name = \"low\"",
                "protocol = \"pop3\"", "address = \"127.0.0.1\"", "port = " + port, "tls = \"starttls\"", ""));
        return data;
    }

    /** A port below 1024 that nothing listens on at 127.0.0.1 now (root may bind it to find out). */
    private static int freePrivilegedPort() {
        for (int port = HIGHEST_LOW_PORT; port >= LOWEST_LOW_PORT; port--) {
            try (ServerSocket probe = new ServerSocket()) {
                probe.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
                return port;
            } catch (IOException inUse) {
                // try the next one
            }
        }
        throw new AssertionError("no free port from " + LOWEST_LOW_PORT + " to " + HIGHEST_LOW_PORT + " on 127.0.0.1");
    }

    /** The server's first line on 127.0.0.1:port, or null while nothing answers. */
    private static String greeting(int port) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 2000);
            s.setSoTimeout(10_000);
            return new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.US_ASCII)).readLine();
        } catch (IOException notYet) {
            return null;
        }
    }

    private static Map<String, String> status(long pid) throws IOException {
        return Files.readAllLines(Path.of("/proc/" + pid + "/status")).stream()
                .filter(l -> l.contains(":"))
                .collect(Collectors.toMap(l -> l.substring(0, l.indexOf(':')), l -> l.substring(l.indexOf(':') + 1).strip(),
                        (a, b) -> b));
    }

    private static String run(List<String> command) throws Exception {
        return run(command, false);
    }

    private static String run(List<String> command, boolean mayFail) throws Exception {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(STARTUP_LIMIT.toSeconds(), TimeUnit.SECONDS)).isTrue();
        if (!mayFail) assertThat(p.exitValue()).as(String.join(" ", command) + ": " + out).isZero();
        return out;
    }
}
