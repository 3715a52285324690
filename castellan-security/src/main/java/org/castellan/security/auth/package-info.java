/**
 * Authentication for every protocol: {@link org.castellan.security.auth.AuthService} (mechanism
 * policy, SASL exchanges, password checks, certificate-to-account mapping, the brute-force
 * limiter), password secrets ({@link org.castellan.security.auth.ScramSecret}), SASLprep and
 * generated passwords. The SASL mechanisms themselves are pure machines in
 * {@code org.castellan.protocol.sasl}; this package supplies what they cannot have: the store,
 * threads, a clock and randomness.
 *
 * <p>Standards: RFC 4422 (SASL, EXTERNAL), RFC 4616 (PLAIN), draft-murchison-sasl-login (LOGIN),
 * RFC 5802 (SCRAM), RFC 7677 (SCRAM-SHA-256), RFC 5929 and RFC 9266 (channel bindings), RFC 4013
 * (SASLprep), RFC 8018 (PBKDF2), RFC 5280 §4.2.1.6 (rfc822Name for certificate accounts).
 */
package org.castellan.security.auth;
