/**
 * Castellan's certificate authority: a root and three issuing CAs (server, device, user), issuing,
 * revocation, CRLs, and PEM reading and writing.
 *
 * <p>Standards: RFC 5280 (X.509 profile, CRLs), RFC 8550 (S/MIME certificates), RFC 7468 (PEM).
 */
package org.castellan.security.pki;
