/**
 * The one TLS policy of a node: presets, server contexts per client-certificate mode, and the
 * verification outcome of client certificates.
 *
 * <p>Standards: RFC 8446 (TLS 1.3), RFC 5246 (TLS 1.2), RFC 9325 (TLS recommendations), RFC 3207,
 * RFC 9051 §6.2.1 and RFC 2595 (STARTTLS).
 */
package org.castellan.security.tls;
