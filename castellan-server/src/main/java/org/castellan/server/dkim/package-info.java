/**
 * DKIM keys of the domains Castellan signs for (docs/outbound.md §6): made, rotated and kept in
 * the data directory; the signing itself is {@link org.castellan.security.mailauth.DkimSigner}.
 */
package org.castellan.server.dkim;
