/**
 * IMAP load: a mixed command workload and many idle sessions, Castellan against Dovecot from the
 * Debian package, same load, same machine.
 */
package org.castellan.bench.imap;
