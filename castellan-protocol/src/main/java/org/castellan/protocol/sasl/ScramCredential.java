package org.castellan.protocol.sasl;

/**
 * What SCRAM needs of an account's stored secret (RFC 5802 §3): the salt and iteration count to
 * send, and the checks that use StoredKey and ServerKey without revealing them.
 */
public interface ScramCredential {

    int iterations();

    byte[] salt();

    /** Whether {@code clientProof} proves knowledge of the password for {@code authMessage}; constant time. */
    boolean verifyClientProof(byte[] authMessage, byte[] clientProof);

    /** ServerSignature = HMAC(ServerKey, AuthMessage). */
    byte[] serverSignature(byte[] authMessage);
}
