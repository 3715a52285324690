/**
 * SASL server mechanisms as pure step machines: each takes the client's (already base64-decoded)
 * messages and returns a {@link org.castellan.protocol.sasl.SaslResult} — a challenge to send,
 * a request for something only the caller has (the account's credential, a password check, the
 * certificate's account), a verified login, or a failure value. They do no I/O, read no clock and
 * draw no random numbers (the SCRAM server nonce is a constructor argument), so every exchange can
 * be replayed byte for byte in tests. Bad client input is a {@code Failed} value, never an
 * exception.
 *
 * <p>Standards: RFC 4422 (SASL, EXTERNAL in App. A), RFC 4616 (PLAIN),
 * draft-murchison-sasl-login-00 (LOGIN), RFC 5802 (SCRAM), RFC 7677 (SCRAM-SHA-256), RFC 5929
 * (tls-server-end-point), RFC 9266 (tls-exporter), RFC 7628 (OAUTHBEARER; XOAUTH2 alike).
 */
package org.castellan.protocol.sasl;
