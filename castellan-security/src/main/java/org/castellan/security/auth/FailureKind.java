package org.castellan.security.auth;

/** Why an authentication failed, as much as the protocol session may tell the client. */
public enum FailureKind {
    /** Wrong user, password or proof; never says which. */
    INVALID_CREDENTIALS,
    /** Bad base64 or syntax from the client. */
    MALFORMED,
    /** Unknown, or not offered on this connection. */
    MECHANISM_UNAVAILABLE,
    /** A password mechanism without TLS where the listener does not allow cleartext. */
    ENCRYPTION_REQUIRED,
    /** Blocked by the limiter, or the credential store unavailable: try later; no hint about the account. */
    TEMPORARY,
    /** The client cancelled the exchange. */
    ABORTED
}
