/**
 * SMTP submission load: Castellan against Postfix from the Debian package, same load, same machine.
 */
package org.castellan.bench.smtp;
