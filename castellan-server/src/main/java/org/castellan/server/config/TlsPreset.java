package org.castellan.server.config;

/** Named TLS parameter sets. Configuration values: {@code "modern"}, {@code "intermediate"}. */
public enum TlsPreset {
    /** TLS 1.3 only. */
    MODERN,
    /** TLS 1.2 and 1.3 with forward-secret AEAD cipher suites, for older clients. */
    INTERMEDIATE
}
