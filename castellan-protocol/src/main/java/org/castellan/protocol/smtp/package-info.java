/**
 * SMTP codecs (RFC 5321 and its extensions): command lines, envelope paths and parameters, the
 * DATA terminator and dot-unstuffing, and the few header facts submission needs. Pure and
 * incremental: bytes in, values or error values out.
 *
 * <p>STANDARDS: RFC 5321 (SMTP), RFC 1870 (SIZE), RFC 6152 (8BITMIME), RFC 6531 (SMTPUTF8),
 * RFC 3030 (CHUNKING), RFC 4954 (AUTH), RFC 3207 (STARTTLS), RFC 2034 and RFC 3463 (enhanced
 * status codes), RFC 5322 §3.6.2 (From).
 */
package org.castellan.protocol.smtp;
