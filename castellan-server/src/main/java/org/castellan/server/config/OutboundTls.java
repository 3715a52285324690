package org.castellan.server.config;

/**
 * How an outbound session uses STARTTLS (RFC 3207) towards one destination (docs/outbound.md §5).
 * Configuration values: {@code "opportunistic"}, {@code "require"}, {@code "verify-name"},
 * {@code "none"}, and for an MX destination's {@code [[outbound.tls-policy]]} {@code "dane-only"}.
 */
public enum OutboundTls {
    /** STARTTLS when offered, any certificate; cleartext otherwise (RFC 7435). */
    OPPORTUNISTIC,
    /** STARTTLS or no delivery; any certificate. */
    REQUIRE,
    /**
     * STARTTLS or no delivery, and a certificate that chains to a trusted CA and names the host
     * connected to (RFC 6125).
     */
    VERIFY_NAME,
    /** Never STARTTLS: for a next hop on a network path that needs none (a local relay). */
    NONE,
    /**
     * DANE (RFC 7672) must apply to each MX host and authenticate it: a host without DNSSEC-secure,
     * usable TLSA records is not used. Only for MX destinations, whose hosts are looked up with DNSSEC.
     */
    DANE_ONLY
}
