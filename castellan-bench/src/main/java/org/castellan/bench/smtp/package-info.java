/**
 * SMTP load: submission, and submission relayed to another domain (through Postfix's smtp-sink),
 * Castellan against Postfix from the Debian package, same load, same machine.
 */
package org.castellan.bench.smtp;
