package org.castellan.server.config;

import java.nio.file.Path;
import java.util.Objects;

/**
 * The {@code [store]} table.
 *
 * <p>The constructor throws {@code NullPointerException} if a component is null.
 */
public record Store(StoreKind kind, Path directory) {
    public Store {
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(directory, "directory");
    }
}
