package org.castellan.server.pop3;

import org.castellan.server.testing.Transcript;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import org.junit.jupiter.api.Test;

/** RFC 5034 AUTH: initial response, "=" for empty, challenges, "*" to cancel, bad base64. */
class AuthTest extends ServerPerTest {

    private static String plain(String user, String password) {
        return Base64.getEncoder().encodeToString(("\0" + user + "\0" + password).getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void plainWithInitialResponse() {
        try (Transcript t = pop3.connect("pop3s")) {
            t.run("""
                    S: \\+OK .*
                    C: AUTH PLAIN %s
                    S: \\+OK Maildrop has 2 messages .*
                    """.formatted(plain(Pop3TestServer.USER, Pop3TestServer.PASSWORD)));
        }
    }

    @Test
    void plainAfterAnEmptyChallenge() {
        try (Transcript t = pop3.connect("pop3s")) {
            t.run("""
                    S: \\+OK .*
                    C: AUTH PLAIN
                    S: \\+ ?
                    C: %s
                    S: \\+OK Maildrop has 2 messages .*
                    """.formatted(plain(Pop3TestServer.USER, Pop3TestServer.PASSWORD)));
        }
    }

    @Test
    void loginMechanismAndWrongPassword() {
        String user = Base64.getEncoder().encodeToString(Pop3TestServer.USER.getBytes(StandardCharsets.UTF_8));
        try (Transcript t = pop3.connect("pop3s")) {
            t.run("""
                    S: \\+OK .*
                    C: AUTH LOGIN
                    S: \\+ .*
                    C: %s
                    S: \\+ .*
                    C: %s
                    S: -ERR \\[AUTH\\] Authentication failed
                    C: AUTH PLAIN %s
                    S: \\+OK .*
                    """.formatted(user, Base64.getEncoder().encodeToString("wrong".getBytes(StandardCharsets.UTF_8)),
                    plain(Pop3TestServer.USER, Pop3TestServer.PASSWORD)));
        }
    }

    @Test
    void cancelBadBase64AndUnknownMechanism() {
        try (Transcript t = pop3.connect("pop3s")) {
            t.run("""
                    S: \\+OK .*
                    C: AUTH PLAIN
                    S: \\+ ?
                    C: *
                    S: -ERR Authentication cancelled
                    C: AUTH PLAIN
                    S: \\+ ?
                    C: %%%%not base64
                    S: -ERR Invalid base64
                    C: AUTH X-UNKNOWN
                    S: -ERR Unsupported authentication mechanism
                    C: AUTH PLAIN =
                    S: -ERR .*
                    """);
        }
    }

    /**
     * SCRAM-SHA-256 (RFC 7677) with a client written from RFC 5802 §3: two challenges, then the
     * server's signature as a last challenge answered by an empty line (RFC 5034 §4).
     */
    @Test
    void scramSha256WithServerSignatureBeforeOk() throws Exception {
        try (Transcript t = pop3.connect("pop3s")) {
            t.expect("\\+OK .*");
            String clientFirstBare = "n=" + Pop3TestServer.USER + ",r=fyko+d2lbbFgONRv9qkxdawL";
            t.send("AUTH SCRAM-SHA-256 " + b64("n,," + clientFirstBare));
            String serverFirst = unb64(t.expect("\\+ .+").substring(2));
            var attrs = new java.util.HashMap<String, String>();
            for (String kv : serverFirst.split(",")) attrs.put(kv.substring(0, 1), kv.substring(2));
            assertThat(attrs.get("r")).startsWith("fyko+d2lbbFgONRv9qkxdawL");
            String withoutProof = "c=biws,r=" + attrs.get("r");
            byte[] salted = javax.crypto.SecretKeyFactory.getInstance("PBKDF2WithHmacSHA256").generateSecret(
                    new javax.crypto.spec.PBEKeySpec(Pop3TestServer.PASSWORD.toCharArray(),
                            Base64.getDecoder().decode(attrs.get("s")), Integer.parseInt(attrs.get("i")), 256)).getEncoded();
            byte[] clientKey = hmac(salted, "Client Key");
            byte[] storedKey = java.security.MessageDigest.getInstance("SHA-256").digest(clientKey);
            String authMessage = clientFirstBare + "," + serverFirst + "," + withoutProof;
            byte[] signature = hmac(storedKey, authMessage);
            byte[] proof = new byte[clientKey.length];
            for (int i = 0; i < proof.length; i++) proof[i] = (byte) (clientKey[i] ^ signature[i]);
            t.send(b64(withoutProof + ",p=" + Base64.getEncoder().encodeToString(proof)));
            String serverFinal = unb64(t.expect("\\+ .+").substring(2));
            assertThat(serverFinal).isEqualTo("v=" + Base64.getEncoder().encodeToString(
                    hmac(hmac(salted, "Server Key"), authMessage)));
            t.run("""
                    C:
                    S: \\+OK Maildrop has 2 messages .*
                    """);
        }
    }

    private static byte[] hmac(byte[] key, String data) throws Exception {
        javax.crypto.Mac mac = javax.crypto.Mac.getInstance("HmacSHA256");
        mac.init(new javax.crypto.spec.SecretKeySpec(key, "HmacSHA256"));
        return mac.doFinal(data.getBytes(StandardCharsets.UTF_8));
    }

    private static String b64(String s) {
        return Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.UTF_8));
    }

    private static String unb64(String s) {
        return new String(Base64.getDecoder().decode(s), StandardCharsets.UTF_8);
    }

    @Test
    void authAloneListsMechanisms() {
        try (Transcript t = pop3.connect("pop3s")) {
            t.run("""
                    S: \\+OK .*
                    C: AUTH
                    S: \\+OK
                    """);
            assertThat(t.readMultiline()).contains("PLAIN", "SCRAM-SHA-256");
        }
        try (Transcript t = pop3.connect("strict")) {
            t.run("""
                    S: \\+OK .*
                    C: AUTH
                    S: \\+OK
                    """);
            assertThat(t.readMultiline()).doesNotContain("PLAIN", "LOGIN");
        }
    }
}
