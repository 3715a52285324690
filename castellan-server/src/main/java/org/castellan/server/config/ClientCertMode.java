package org.castellan.server.config;

/** Whether a listener asks for TLS client certificates. Values: {@code "none"}, {@code "request"}, {@code "require"}. */
public enum ClientCertMode {
    /** No certificate is asked for. */
    NONE,
    /** A certificate is asked for; connections without one continue. */
    REQUEST,
    /** The handshake fails without a valid certificate from a trusted CA: the device gate. */
    REQUIRE
}
