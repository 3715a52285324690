package org.castellan.protocol.sasl;

/** Why a mechanism refused an exchange: for the log and for choosing the reply. */
public enum SaslFailure {
    /** The client's message breaks the mechanism's syntax or is too long. */
    MALFORMED(false),
    /** A message arrived after the exchange ended, or before the caller supplied what was asked. */
    OUT_OF_SEQUENCE(false),
    /** SCRAM: a mandatory extension ({@code m=}) or a channel binding type this connection lacks. */
    UNSUPPORTED(false),
    /** SCRAM: the nonce in the final message is not the one the server sent. */
    NONCE_MISMATCH(true),
    /** SCRAM: {@code c=} does not carry this connection's channel binding. */
    CHANNEL_BINDING_MISMATCH(true),
    /** SCRAM: the client says the server offered no -PLUS, but it did (RFC 5802 §6, a downgrade). */
    DOWNGRADE(true),
    /** SCRAM: the user does not exist (the exchange was carried on with a fake salt). */
    UNKNOWN_USER(true),
    /** SCRAM: the proof is wrong. */
    INVALID_PROOF(true),
    /** OAUTHBEARER, XOAUTH2: the bearer token was refused and the client has acknowledged the error. */
    INVALID_TOKEN(true),

    /**
     * GSSAPI (RFC 4752): the Kerberos layer refused a token — garbage, a ticket that is expired or
     * for another service, a replayed authenticator, a security layer message that does not unwrap.
     */
    TOKEN_REJECTED(true);

    private final boolean credentials;

    SaslFailure(boolean credentials) {
        this.credentials = credentials;
    }

    /** Whether the client must be told only "invalid credentials" (true) or "malformed" (false). */
    public boolean credentials() {
        return credentials;
    }
}
