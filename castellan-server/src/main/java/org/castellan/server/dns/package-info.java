/**
 * Name resolution for outbound mail (docs/outbound.md §3): MX routing per RFC 5321 §5 with null
 * MX (RFC 7505), TLSA lookups for DANE (RFC 7672) and the look-ups mail authentication needs,
 * through dnsjava with DNSSEC validation. Every method blocks: call it off the event loop.
 */
package org.castellan.server.dns;
