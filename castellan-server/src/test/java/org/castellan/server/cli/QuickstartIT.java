package org.castellan.server.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a newcomer does on a fresh clone: {@code ./castellan quickstart} with only the default
 * Java 17 on PATH and no JAVA_HOME. The launcher must find a JDK >= 21 itself, the data directory
 * is created, the settings are printed, and a third-party TLS client (Python's ssl) verifies the
 * listeners' certificates against the printed CA. SIGTERM stops it with exit code 0.
 *
 * <p>Runs after {@code package} (failsafe), because it uses the distribution the launcher runs.
 */
class QuickstartIT {

    private static final Path REPO = Path.of("..").toAbsolutePath().normalize();
    private static final long STARTUP_LIMIT_SECONDS = 120;

    @TempDir Path tmp;

    @Test
    void quickstartOnAFreshDirectoryServesTlsThatChainsToThePrintedCa() throws Exception {
        Path data = tmp.resolve("data");
        Process server = launch("quickstart", "--data", data.toString(), "--port-base", "0", "--json");
        try {
            JsonNode settings = firstJsonLine(server);
            Path ca = Path.of(settings.get("caFile").asText());
            assertThat(ca).exists().startsWith(data.toAbsolutePath());
            assertThat(settings.at("/account/username").asText()).isEqualTo("demo@example.test");
            assertThat(settings.at("/account/password").asText()).hasSizeGreaterThanOrEqualTo(16);
            assertThat(settings.get("ports").size()).isEqualTo(9);
            assertThat(Files.getPosixFilePermissions(data.resolve("pki/root.key")))
                    .isEqualTo(PosixFilePermissions.fromString("rw-------"));

            for (String implicit : List.of("imaps", "pop3s", "submissions")) {
                String out = python(ca, settings.at("/ports/" + implicit).asInt());
                assertThat(out).as(implicit).contains("verified TLSv1.3");
            }
        } finally {
            assertThat(stop(server)).isZero();
        }

        // Second run: the same directory, the same CA, and no new password.
        byte[] rootBefore = Files.readAllBytes(data.resolve("pki/root.crt"));
        Process again = launch("quickstart", "--data", data.toString(), "--json");
        try {
            JsonNode settings = firstJsonLine(again);
            assertThat(settings.at("/account/password").isMissingNode()).isTrue();
            assertThat(Files.readAllBytes(data.resolve("pki/root.crt"))).isEqualTo(rootBefore);
            assertThat(python(data.resolve("pki/root.crt"), settings.at("/ports/imaps").asInt()))
                    .contains("verified TLSv1.3");
        } finally {
            assertThat(stop(again)).isZero();
        }
    }

    @Test
    void versionAndHelpWorkWithOnlyJava17OnPath() throws Exception {
        Process p = launch("--version");
        assertThat(p.waitFor(STARTUP_LIMIT_SECONDS, TimeUnit.SECONDS)).isTrue();
        assertThat(new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8)).startsWith("castellan ");
        assertThat(p.exitValue()).isZero();
    }

    /** The launcher with the machine's default PATH and without JAVA_HOME, as on a fresh login. */
    private Process launch(String... args) throws IOException {
        List<String> command = new java.util.ArrayList<>();
        command.add(REPO.resolve("castellan").toString());
        command.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(command).directory(tmp.toFile());
        Map<String, String> env = pb.environment();
        env.remove("JAVA_HOME");
        env.put("PATH", "/usr/local/bin:/usr/bin:/bin");
        pb.redirectError(tmp.resolve("server-" + System.nanoTime() + ".log").toFile());
        return pb.start();
    }

    private static JsonNode firstJsonLine(Process p) throws IOException {
        BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        String line = out.readLine();
        assertThat(line).as("quickstart --json printed nothing; did it start?").isNotNull();
        return new ObjectMapper().readTree(line);
    }

    /** Python's ssl module: verifies the chain against the CA file and the name "localhost". */
    private static String python(Path ca, int port) throws Exception {
        String script = String.join("\n",
                "import socket, ssl, sys",
                "ctx = ssl.create_default_context(cafile=sys.argv[1])",
                "with socket.create_connection(('127.0.0.1', int(sys.argv[2])), timeout=10) as raw:",
                "    with ctx.wrap_socket(raw, server_hostname='localhost') as s:",
                "        print('verified', s.version(), s.recv(100).decode().strip())");
        Process p = new ProcessBuilder("python3", "-c", script, ca.toString(), Integer.toString(port))
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(out).isZero();
        return out;
    }

    /** SIGTERM and the exit code. */
    private static int stop(Process p) throws InterruptedException {
        p.destroy(); // SIGTERM on Linux
        if (!p.waitFor(STARTUP_LIMIT_SECONDS, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("the server did not stop after SIGTERM");
        }
        return p.exitValue();
    }
}
