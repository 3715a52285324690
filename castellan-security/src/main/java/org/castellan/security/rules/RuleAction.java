package org.castellan.security.rules;

/**
 * What a connection rule does with a matching connection. Written in the configuration file in
 * lower case with hyphens: {@code "allow"}, {@code "deny"}, {@code "request-cert"},
 * {@code "require-cert"}.
 */
public enum RuleAction {
    /** Accept the connection; the listener's own client-certificate mode applies. */
    ALLOW,
    /** Close the connection at once, before TLS: nothing is sent to the peer. */
    DENY,
    /** Accept, and ask for a client certificate during the handshake; continue without one. */
    REQUEST_CERT,
    /** Accept only if the handshake presents a valid client certificate from a trusted CA. */
    REQUIRE_CERT
}
