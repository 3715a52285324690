package org.castellan.server.config;

import java.nio.file.Path;
import java.util.Objects;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * The {@code [store]} table.
 *
 * <p>The constructor throws {@code NullPointerException} if a component is null, and
 * {@code IllegalArgumentException} if kind is postgres without its connection.
 *
 * @param postgres the connection, present exactly when {@code kind} is {@link StoreKind#POSTGRES}
 */
public record Store(StoreKind kind, Path directory, Optional<Postgres> postgres) {

    /** The pool size when none is configured: enough for a node's sessions, far below PostgreSQL's default max_connections (100). */
    public static final int DEFAULT_POOL_SIZE = 10;
    /**
     * The largest pool one node may ask for: PostgreSQL's max_connections defaults to 100 and each
     * connection is a server process; past this a pooler (PgBouncer) belongs in front.
     */
    public static final int MAX_POOL_SIZE = 500;

    public Store {
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(directory, "directory");
        Objects.requireNonNull(postgres, "postgres");
        if ((kind == StoreKind.POSTGRES) != postgres.isPresent()) {
            throw new IllegalArgumentException("a postgres store needs its connection, and only it has one");
        }
    }

    /** An embedded store in {@code directory}. */
    public Store(StoreKind kind, Path directory) {
        this(kind, directory, Optional.empty());
    }

    /**
     * Where the PostgreSQL store connects.
     *
     * @param jdbcUrl {@code jdbc:postgresql://host[:port]/database[?parameters]}
     * @param passwordFile the file whose first line is the password, empty for a login without one
     */
    public record Postgres(String jdbcUrl, String user, Optional<Path> passwordFile, int poolSize) {

        /** What PostgreSQL URLs look like: a scheme, one or more hosts, a database; no user information. */
        static final Pattern URL = Pattern.compile("(?:jdbc:postgresql|postgres|postgresql)://([^/@?#]+)/([^/?#]+)(\\?[^#]*)?");

        public Postgres {
            Objects.requireNonNull(jdbcUrl, "jdbcUrl");
            Objects.requireNonNull(user, "user");
            Objects.requireNonNull(passwordFile, "passwordFile");
        }

        /**
         * The JDBC URL of {@code url} ({@code jdbc:postgresql://}, {@code postgres://} or
         * {@code postgresql://host[:port]/database[?parameters]}); empty when it is none of them.
         */
        public static Optional<String> jdbcUrl(String url) {
            if (!URL.matcher(url).matches()) return Optional.empty();
            return Optional.of(url.startsWith("jdbc:") ? url : "jdbc:postgresql:" + url.substring(url.indexOf("//")));
        }
    }
}
