package org.castellan.security.auth;

import java.nio.CharBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.security.spec.InvalidKeySpecException;
import java.util.Arrays;
import java.util.Base64;
import javax.crypto.Mac;
import javax.crypto.SecretKeyFactory;
import javax.crypto.spec.PBEKeySpec;
import javax.crypto.spec.SecretKeySpec;
import org.castellan.protocol.sasl.ScramCredential;

/**
 * A password as Castellan stores it: the SCRAM-SHA-256 verifier of RFC 5802 §3 and RFC 7677 —
 * iteration count, salt, StoredKey and ServerKey — from which the password cannot be recovered
 * but against which SCRAM logins, and PLAIN/LOGIN passwords, can be checked.
 *
 * <p>The text form is PostgreSQL's:
 * {@code SCRAM-SHA-256$<iterations>:<base64 salt>$<base64 StoredKey>:<base64 ServerKey>}.
 *
 * <p>Passwords are prepared with {@link SaslPrep} before hashing (RFC 5802 §2.2), so a password
 * containing control characters is refused when set. {@link #toString()} shows only the
 * iteration count: the keys are password-equivalent for an offline attack and must not reach
 * logs.
 *
 * <p>Failure: {@link #derive} throws {@link IllegalArgumentException} for an unusable password or
 * iteration count; {@link #parse} throws it for a malformed string, naming the part that is wrong
 * without echoing the secret.
 */
public record ScramSecret(int iterations, byte[] salt, byte[] storedKey, byte[] serverKey)
        implements ScramCredential {

    /** RFC 7677 §4: the iteration count SHOULD be at least 4096. */
    public static final int MIN_ITERATIONS = 4096;
    /**
     * Every SCRAM client computes this many HMACs per login, and so does the server for PLAIN:
     * the RFC minimum, as PostgreSQL and Dovecot use; the login limiter stops online guessing.
     */
    public static final int DEFAULT_ITERATIONS = 4096;
    /** A stored secret asking for more would let one login stall a CPU for seconds. */
    public static final int MAX_ITERATIONS = 10_000_000;
    /**
     * The most iterations every mainstream SCRAM client computes: Cyrus SASL (2.1.28, used by
     * mbsync, imtest and many C programs) refuses a server-first message asking for more
     * ("iteration-count is too big, refusing to compute": MAX_ITERATION_COUNTER = 0x10000 in its
     * scram plugin). GNU SASL, MailKit and the Java ongres client set no upper limit; Dovecot's
     * client stops at 524,288. See docs/authentication.md.
     */
    public static final int MAX_INTEROPERABLE_ITERATIONS = 65_536;
    /** RFC 7677 §4 and NIST SP 800-132 §5.1: at least 128 random bits of salt. */
    public static final int SALT_BYTES = 16;
    /** SHA-256 output, the length of StoredKey and ServerKey. */
    public static final int KEY_BYTES = 32;
    /** The prefix of the text form, naming the mechanism (and PostgreSQL's format). */
    public static final String PREFIX = "SCRAM-SHA-256$";

    private static final String HMAC = "HmacSHA256";
    private static final SecureRandom RANDOM = new SecureRandom();

    public ScramSecret {
        if (iterations < MIN_ITERATIONS || iterations > MAX_ITERATIONS) {
            throw new IllegalArgumentException("the SCRAM iteration count must be between " + MIN_ITERATIONS
                    + " and " + MAX_ITERATIONS + ", not " + iterations);
        }
        if (salt == null || salt.length == 0) throw new IllegalArgumentException("the SCRAM salt is empty");
        if (storedKey == null || storedKey.length != KEY_BYTES || serverKey == null || serverKey.length != KEY_BYTES) {
            throw new IllegalArgumentException("StoredKey and ServerKey must be " + KEY_BYTES + " bytes (SHA-256)");
        }
        salt = salt.clone();
        storedKey = storedKey.clone();
        serverKey = serverKey.clone();
    }

    /** A secret for {@code password} with a fresh random salt of {@value #SALT_BYTES} bytes. */
    public static ScramSecret derive(char[] password, int iterations) {
        byte[] salt = new byte[SALT_BYTES];
        RANDOM.nextBytes(salt);
        return derive(password, salt, iterations);
    }

    /** A secret for {@code password} with a fresh random salt and {@link #DEFAULT_ITERATIONS}. */
    public static ScramSecret derive(char[] password) {
        return derive(password, DEFAULT_ITERATIONS);
    }

    /**
     * The secret for {@code password} with the given salt: RFC 5802 §3 SaltedPassword, then
     * StoredKey = H(HMAC(SaltedPassword, "Client Key")) and ServerKey = HMAC(SaltedPassword, "Server Key").
     */
    public static ScramSecret derive(char[] password, byte[] salt, int iterations) {
        if (iterations < MIN_ITERATIONS || iterations > MAX_ITERATIONS) {
            throw new IllegalArgumentException("the SCRAM iteration count must be between " + MIN_ITERATIONS
                    + " and " + MAX_ITERATIONS + ", not " + iterations);
        }
        byte[] salted = saltedPassword(password, salt, iterations, true);
        try {
            byte[] clientKey = hmac(salted, "Client Key".getBytes(StandardCharsets.US_ASCII));
            byte[] storedKey = sha256(clientKey);
            byte[] serverKey = hmac(salted, "Server Key".getBytes(StandardCharsets.US_ASCII));
            Arrays.fill(clientKey, (byte) 0);
            return new ScramSecret(iterations, salt, storedKey, serverKey);
        } finally {
            Arrays.fill(salted, (byte) 0);
        }
    }

    /**
     * Whether {@code password} is the one this secret was derived from (for PLAIN and LOGIN).
     * Takes the same time whichever byte differs. A password that SASLprep refuses is simply wrong.
     */
    public boolean verifyPassword(char[] password) {
        byte[] salted;
        try {
            salted = saltedPassword(password, salt, iterations, false);
        } catch (IllegalArgumentException unusable) {
            return false;
        }
        byte[] clientKey = hmac(salted, "Client Key".getBytes(StandardCharsets.US_ASCII));
        byte[] candidate = sha256(clientKey);
        Arrays.fill(salted, (byte) 0);
        Arrays.fill(clientKey, (byte) 0);
        return MessageDigest.isEqual(candidate, storedKey);
    }

    /**
     * Whether a SCRAM client's proof is right (RFC 5802 §3): ClientKey = ClientProof XOR
     * HMAC(StoredKey, AuthMessage), and H(ClientKey) must equal StoredKey. Constant time.
     *
     * @param authMessage client-first-message-bare "," server-first-message ","
     *     client-final-message-without-proof, as UTF-8
     */
    @Override
    public boolean verifyClientProof(byte[] authMessage, byte[] clientProof) {
        if (clientProof.length != KEY_BYTES) return false;
        byte[] clientSignature = hmac(storedKey, authMessage);
        byte[] clientKey = new byte[KEY_BYTES];
        for (int i = 0; i < KEY_BYTES; i++) clientKey[i] = (byte) (clientProof[i] ^ clientSignature[i]);
        return MessageDigest.isEqual(sha256(clientKey), storedKey);
    }

    /** ServerSignature = HMAC(ServerKey, AuthMessage), which the server sends as {@code v=} (RFC 5802 §3). */
    @Override
    public byte[] serverSignature(byte[] authMessage) {
        return hmac(serverKey, authMessage);
    }

    /** {@code SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>}, standard base64. */
    public String encode() {
        Base64.Encoder b64 = Base64.getEncoder();
        return PREFIX + iterations + ":" + b64.encodeToString(salt) + "$"
                + b64.encodeToString(storedKey) + ":" + b64.encodeToString(serverKey);
    }

    /**
     * Parses {@link #encode()}'s form.
     *
     * @throws IllegalArgumentException saying which part is missing or malformed
     */
    public static ScramSecret parse(String text) {
        String expected = "expected SCRAM-SHA-256$<iterations>:<base64 salt>$<base64 StoredKey>:<base64 ServerKey>";
        if (text == null || !text.startsWith(PREFIX)) {
            throw new IllegalArgumentException("a SCRAM secret must start with '" + PREFIX + "'; " + expected);
        }
        String[] halves = text.substring(PREFIX.length()).split("\\$", -1);
        if (halves.length != 2) {
            throw new IllegalArgumentException("a SCRAM secret has two '$'-separated parts after the prefix; " + expected);
        }
        String[] params = halves[0].split(":", -1);
        String[] keys = halves[1].split(":", -1);
        if (params.length != 2) throw new IllegalArgumentException("the SCRAM secret lacks '<iterations>:<salt>'; " + expected);
        if (keys.length != 2) throw new IllegalArgumentException("the SCRAM secret lacks '<StoredKey>:<ServerKey>'; " + expected);
        int iterations;
        try {
            iterations = Integer.parseInt(params[0]);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("the SCRAM iteration count is not a number; " + expected, e);
        }
        byte[] salt = base64(params[1], "salt");
        byte[] storedKey = base64(keys[0], "StoredKey");
        byte[] serverKey = base64(keys[1], "ServerKey");
        if (storedKey.length != KEY_BYTES || serverKey.length != KEY_BYTES) {
            throw new IllegalArgumentException("the SCRAM StoredKey and ServerKey must each decode to "
                    + KEY_BYTES + " bytes, not " + storedKey.length + " and " + serverKey.length);
        }
        return new ScramSecret(iterations, salt, storedKey, serverKey);
    }

    @Override
    public byte[] salt() {
        return salt.clone();
    }

    @Override
    public byte[] storedKey() {
        return storedKey.clone();
    }

    @Override
    public byte[] serverKey() {
        return serverKey.clone();
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof ScramSecret s && s.iterations == iterations && Arrays.equals(s.salt, salt)
                && MessageDigest.isEqual(s.storedKey, storedKey) && MessageDigest.isEqual(s.serverKey, serverKey);
    }

    @Override
    public int hashCode() {
        return 31 * iterations + Arrays.hashCode(salt);
    }

    @Override
    public String toString() {
        return "ScramSecret[SCRAM-SHA-256, " + iterations + " iterations]";
    }

    private static byte[] base64(String text, String what) {
        if (text.isEmpty()) throw new IllegalArgumentException("the SCRAM " + what + " is empty");
        try {
            return Base64.getDecoder().decode(text);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("the SCRAM " + what + " is not valid base64", e);
        }
    }

    /** RFC 5802 §2.2 Hi() is PBKDF2 with HMAC as PRF and one block of output. */
    private static byte[] saltedPassword(char[] password, byte[] salt, int iterations, boolean storedString) {
        char[] prepared;
        try {
            prepared = SaslPrep.prepare(CharBuffer.wrap(password), storedString).toCharArray();
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("the password is not acceptable: " + e.getMessage(), e);
        }
        PBEKeySpec spec = new PBEKeySpec(prepared, salt, iterations, KEY_BYTES * 8);
        try {
            // The JDK's PBKDF2 encodes the characters as UTF-8, as RFC 5802 §2.2 requires.
            return SecretKeyFactory.getInstance("PBKDF2WithHmacSHA256").generateSecret(spec).getEncoded();
        } catch (InvalidKeySpecException e) {
            throw new IllegalArgumentException("the password cannot be hashed: " + e.getMessage(), e);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("this JDK lacks PBKDF2WithHmacSHA256", e);
        } finally {
            spec.clearPassword();
            Arrays.fill(prepared, '\0');
        }
    }

    private static byte[] hmac(byte[] key, byte[] data) {
        try {
            Mac mac = Mac.getInstance(HMAC);
            mac.init(new SecretKeySpec(key, HMAC));
            return mac.doFinal(data);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("this JDK lacks " + HMAC, e);
        }
    }

    private static byte[] sha256(byte[] data) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(data);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("this JDK lacks SHA-256", e);
        }
    }
}
