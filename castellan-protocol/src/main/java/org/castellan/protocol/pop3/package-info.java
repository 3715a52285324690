/**
 * POP3 as pure values: the incremental command parser ({@link org.castellan.protocol.pop3.Pop3Parser})
 * and the encoder that turns a stored message into a multi-line response
 * ({@link org.castellan.protocol.pop3.MessageEncoder}).
 *
 * <p>STANDARDS: RFC 1939 (POP3), RFC 2449 (CAPA, response codes, the 255-octet command line),
 * RFC 2595 (STLS), RFC 5034 (AUTH).
 */
package org.castellan.protocol.pop3;
