package org.castellan.server.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * SIGTERM stops {@code castellan serve} gracefully with exit code 0 whenever it comes, including
 * while the server is still starting: a supervisor that stops a service right after starting it
 * (systemctl stop, a failing health check) must not see it die of the signal (143).
 */
class ServeSignalTest {

    @TempDir Path tmp;

    /**
     * "TLS policy:" is logged by Castellan.start before any listener binds (the server is still
     * starting); "admin channel on" is its last step (the server is up).
     */
    @ParameterizedTest
    @ValueSource(strings = {"TLS policy:", "admin channel on"})
    void sigtermStopsTheServerGracefullyWithExitZero(String signalledAfter) throws Exception {
        Path data = tmp.resolve("data");
        Cli.init(data, "alice@example.org");
        ServeProcess.oneLocalListener(data);
        try (ServeProcess server = ServeProcess.start(data, tmp.resolve("stderr.log"))) {
            server.awaitStderr(signalledAfter);
            assertThat(server.stop()).as(server.stderr()).isZero();
            assertThat(server.stderr()).contains("listening: local", "shutting down", "stopped");
        }
    }
}
