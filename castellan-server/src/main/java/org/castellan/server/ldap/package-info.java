/**
 * The certificate directory over LDAP (RFC 4511) on {@code protocol = "ldaps"} listeners: the
 * built-in user CA's certificates by address, read-only (docs/kms.md). Messages are decoded and
 * encoded by the UnboundID LDAP SDK's protocol classes inside the server's own Netty pipeline, so
 * every connection takes the one connection path (docs/design.md §2).
 */
package org.castellan.server.ldap;
