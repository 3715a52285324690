/**
 * Mail authentication (docs/outbound.md §6): DKIM signing and verification (RFC 6376, RFC 8463),
 * SPF (RFC 7208), DMARC (RFC 7489) and the Authentication-Results field (RFC 8601). The checks
 * are pure given a {@link org.castellan.security.mailauth.DnsLookup}; the server supplies one
 * backed by its resolver.
 */
package org.castellan.security.mailauth;
