package org.castellan.server.config;

/** Which mail store implementation to use. Configuration values: {@code "embedded"}, {@code "postgres"}. */
public enum StoreKind {
    /** SQLite metadata and a content-addressed blob directory: nothing else to install. */
    EMBEDDED,
    /** Metadata and bodies in a PostgreSQL database several nodes may share (docs/store.md, "Scale-out"). */
    POSTGRES
}
