package org.castellan.protocol.sasl;

import java.security.MessageDigest;
import org.castellan.testkit.ScramClient;

/** Stored SCRAM credentials computed straight from RFC 5802 §3, independent of ScramSecret. */
final class TestCredentials {

    private TestCredentials() {}

    /** A stored credential for {@code password}, as a server holds it, computed from the RFC. */
    static ScramCredential credential(String password, byte[] salt, int iterations) {
        byte[] salted = ScramClient.saltedPassword(password, salt, iterations);
        byte[] storedKey = ScramClient.sha256(ScramClient.hmac(salted, "Client Key"));
        byte[] serverKey = ScramClient.hmac(salted, "Server Key");
        return new ScramCredential() {
            @Override
            public int iterations() {
                return iterations;
            }

            @Override
            public byte[] salt() {
                return salt.clone();
            }

            @Override
            public boolean verifyClientProof(byte[] authMessage, byte[] clientProof) {
                byte[] signature = ScramClient.hmac(storedKey, authMessage);
                byte[] clientKey = new byte[signature.length];
                for (int i = 0; i < clientKey.length; i++) clientKey[i] = (byte) (clientProof[i] ^ signature[i]);
                return MessageDigest.isEqual(ScramClient.sha256(clientKey), storedKey);
            }

            @Override
            public byte[] serverSignature(byte[] authMessage) {
                return ScramClient.hmac(serverKey, authMessage);
            }
        };
    }
}
