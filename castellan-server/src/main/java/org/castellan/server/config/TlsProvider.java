package org.castellan.server.config;

/** The TLS implementation. Configuration values: {@code "boringssl"}, {@code "jdk"}. */
public enum TlsProvider {
    /** BoringSSL through netty-tcnative; the JDK's TLS, with a warning, if it cannot load. */
    BORINGSSL,
    /**
     * The JDK's TLS: slower handshakes, but on JDK 25 and later it exports keying material, so
     * TLS 1.3 connections get the {@code tls-exporter} channel binding (RFC 9266) and
     * SCRAM-SHA-256-PLUS.
     */
    JDK
}
