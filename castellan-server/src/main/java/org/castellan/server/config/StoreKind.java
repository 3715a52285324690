package org.castellan.server.config;

/** Which mail store implementation to use. Configuration value: {@code "embedded"}. */
public enum StoreKind {
    /** SQLite metadata and a content-addressed blob directory: nothing else to install. */
    EMBEDDED
}
