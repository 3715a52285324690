package org.castellan.server.config;

/** How a listener uses TLS. Configuration values: {@code "none"}, {@code "starttls"}, {@code "implicit"}. */
public enum TlsMode {
    /** No TLS offered. */
    NONE,
    /** Plaintext greeting, then upgrade on request (RFC 3207, RFC 9051 §6.2.1, RFC 2595). */
    STARTTLS,
    /** TLS from the first byte (RFC 8314). */
    IMPLICIT
}
