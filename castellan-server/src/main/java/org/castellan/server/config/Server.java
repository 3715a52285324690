package org.castellan.server.config;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;

/**
 * The {@code [server]} table. Paths are absolute once read from a file.
 *
 * <p>The constructor throws {@code NullPointerException} if a component is null and
 * {@code IllegalArgumentException} if {@code maxConnections} is not positive.
 *
 * @param maxConnections live client connections of all listeners together; the server lowers it
 *     to half its file-descriptor limit (StartChecks)
 */
public record Server(String hostname, Path dataDir, Role role, Duration shutdownGrace, Path adminSocket,
                     int maxConnections) {

    /**
     * Ten thousand idle TLS sessions take about 130 MB (IdleSessionsBench, 12.7 KiB each); the
     * Debian package's LimitNOFILE=65536 leaves room for as many again in spool files and the store.
     */
    public static final int DEFAULT_MAX_CONNECTIONS = 10_000;

    public Server {
        Objects.requireNonNull(hostname, "hostname");
        Objects.requireNonNull(dataDir, "dataDir");
        Objects.requireNonNull(role, "role");
        Objects.requireNonNull(shutdownGrace, "shutdownGrace");
        Objects.requireNonNull(adminSocket, "adminSocket");
        if (maxConnections < 1) throw new IllegalArgumentException("maxConnections must be positive, not " + maxConnections);
    }

    /** With the default {@link #DEFAULT_MAX_CONNECTIONS}. */
    public Server(String hostname, Path dataDir, Role role, Duration shutdownGrace, Path adminSocket) {
        this(hostname, dataDir, role, shutdownGrace, adminSocket, DEFAULT_MAX_CONNECTIONS);
    }
}
