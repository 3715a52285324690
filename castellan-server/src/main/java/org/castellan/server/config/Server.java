package org.castellan.server.config;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;

/**
 * The {@code [server]} table. Paths are absolute once read from a file.
 *
 * <p>The constructor throws {@code NullPointerException} if a component is null.
 */
public record Server(String hostname, Path dataDir, Role role, Duration shutdownGrace, Path adminSocket) {
    public Server {
        Objects.requireNonNull(hostname, "hostname");
        Objects.requireNonNull(dataDir, "dataDir");
        Objects.requireNonNull(role, "role");
        Objects.requireNonNull(shutdownGrace, "shutdownGrace");
        Objects.requireNonNull(adminSocket, "adminSocket");
    }
}
