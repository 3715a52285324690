/**
 * Password secrets: SCRAM-SHA-256 verifiers, SASLprep and generated passwords.
 *
 * <p>Standards: RFC 5802 (SCRAM), RFC 7677 (SCRAM-SHA-256), RFC 4013 (SASLprep), RFC 8018
 * (PBKDF2).
 */
package org.castellan.security.auth;
