package org.castellan.security.auth;


import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.Base64;
import javax.crypto.Mac;
import javax.crypto.SecretKeyFactory;
import javax.crypto.spec.PBEKeySpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * The client side of SCRAM-SHA-256 (RFC 5802 §3, §7), written from the RFC for tests: the JDK
 * has none. ASCII passwords only (SASLprep is the identity for them). The same client as the
 * protocol module's tests, which this module cannot see.
 */
public final class ScramClient {

    private final String username;
    private final String password;
    private final String clientNonce;
    private final String gs2Header;
    private final byte[] bindingData;
    private String clientFirstBare;
    private byte[] expectedServerSignature;

    /**
     * @param gs2Header e.g. {@code "n,,"}, {@code "y,,"}, {@code "p=tls-exporter,,"}
     * @param bindingData appended to the gs2 header in {@code c=} (empty unless {@code p=})
     */
    public ScramClient(String username, String password, String clientNonce, String gs2Header, byte[] bindingData) {
        this.username = username;
        this.password = password;
        this.clientNonce = clientNonce;
        this.gs2Header = gs2Header;
        this.bindingData = bindingData.clone();
    }

    public static ScramClient plain(String username, String password, String clientNonce) {
        return new ScramClient(username, password, clientNonce, "n,,", new byte[0]);
    }

    public byte[] clientFirst() {
        clientFirstBare = "n=" + username.replace("=", "=3D").replace(",", "=2C") + ",r=" + clientNonce;
        return (gs2Header + clientFirstBare).getBytes(StandardCharsets.UTF_8);
    }

    public byte[] clientFinal(byte[] serverFirstBytes) {
        String serverFirst = new String(serverFirstBytes, StandardCharsets.UTF_8);
        String[] parts = serverFirst.split(",");
        String nonce = value(parts[0], "r=");
        if (!nonce.startsWith(clientNonce)) throw new IllegalStateException("server nonce does not extend ours");
        byte[] salt = Base64.getDecoder().decode(value(parts[1], "s="));
        int iterations = Integer.parseInt(value(parts[2], "i="));
        byte[] header = gs2Header.getBytes(StandardCharsets.UTF_8);
        byte[] cbind = new byte[header.length + bindingData.length];
        System.arraycopy(header, 0, cbind, 0, header.length);
        System.arraycopy(bindingData, 0, cbind, header.length, bindingData.length);
        String withoutProof = "c=" + Base64.getEncoder().encodeToString(cbind) + ",r=" + nonce;
        byte[] authMessage = (clientFirstBare + "," + serverFirst + "," + withoutProof).getBytes(StandardCharsets.UTF_8);

        byte[] salted = saltedPassword(password, salt, iterations);
        byte[] clientKey = hmac(salted, "Client Key");
        byte[] storedKey = sha256(clientKey);
        byte[] clientSignature = hmac(storedKey, authMessage);
        byte[] proof = new byte[clientKey.length];
        for (int i = 0; i < proof.length; i++) proof[i] = (byte) (clientKey[i] ^ clientSignature[i]);
        expectedServerSignature = hmac(hmac(salted, "Server Key"), authMessage);
        return (withoutProof + ",p=" + Base64.getEncoder().encodeToString(proof)).getBytes(StandardCharsets.UTF_8);
    }

    /** Whether the server-final message proves the server knows ServerKey (RFC 5802 §3). */
    public boolean serverFinalValid(byte[] serverFinal) {
        String expected = "v=" + Base64.getEncoder().encodeToString(expectedServerSignature);
        return MessageDigest.isEqual(expected.getBytes(StandardCharsets.US_ASCII), serverFinal);
    }

    private static String value(String attribute, String prefix) {
        if (!attribute.startsWith(prefix)) throw new IllegalStateException("expected " + prefix + " in " + attribute);
        return attribute.substring(prefix.length());
    }

    static byte[] saltedPassword(String password, byte[] salt, int iterations) {
        try {
            return SecretKeyFactory.getInstance("PBKDF2WithHmacSHA256")
                    .generateSecret(new PBEKeySpec(password.toCharArray(), salt, iterations, 256)).getEncoded();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    static byte[] hmac(byte[] key, String data) {
        return hmac(key, data.getBytes(StandardCharsets.US_ASCII));
    }

    static byte[] hmac(byte[] key, byte[] data) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
            return mac.doFinal(data);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    static byte[] sha256(byte[] data) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(data);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }
}
