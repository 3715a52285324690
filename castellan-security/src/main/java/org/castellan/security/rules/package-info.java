/**
 * Connection rules: which remote addresses may connect to which listener, decided once at accept
 * from the address alone, before any TLS or protocol byte. Pure values, no I/O.
 */
package org.castellan.security.rules;
