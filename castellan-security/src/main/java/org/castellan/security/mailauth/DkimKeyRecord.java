package org.castellan.security.mailauth;

import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PublicKey;
import java.security.interfaces.RSAPublicKey;
import java.security.spec.RSAPublicKeySpec;
import java.security.spec.X509EncodedKeySpec;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * A DKIM key record, the TXT record at {@code <selector>._domainkey.<domain>} (RFC 6376 §3.6.1,
 * RFC 8463 §4.2): writing one for a public key, and reading one for verification.
 *
 * @param algorithm the key type ({@code k=}) as the algorithm that uses it
 * @param key the public key; empty when {@code p=} is empty, which revokes the selector
 * @param testing {@code t=y}: the domain is testing DKIM (RFC 6376 §3.6.1)
 * @param strict {@code t=s}: the i= domain must be d= itself, not a subdomain
 */
public record DkimKeyRecord(DkimAlgorithm algorithm, Optional<PublicKey> key, boolean testing, boolean strict) {

    /** The DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410 §4); the raw 32-octet key follows. */
    static final byte[] ED25519_SPKI_PREFIX = HexFormat.of().parseHex("302a300506032b6570032100");
    static final int ED25519_KEY_LENGTH = 32;

    /**
     * The record's text: {@code v=DKIM1; k=rsa; p=<SubjectPublicKeyInfo>} for RSA (RFC 6376
     * §3.6.1), {@code v=DKIM1; k=ed25519; p=<the 32-octet key>} for Ed25519 (RFC 8463 §4.2).
     *
     * @throws IllegalArgumentException for a key that is neither RSA nor Ed25519
     */
    public static String format(PublicKey key) {
        DkimAlgorithm algorithm = DkimAlgorithm.forKey(key)
                .orElseThrow(() -> new IllegalArgumentException("DKIM keys are RSA or Ed25519, not " + key.getAlgorithm()));
        byte[] p = key.getEncoded();
        if (algorithm == DkimAlgorithm.ED25519_SHA256) p = Arrays.copyOfRange(p, p.length - ED25519_KEY_LENGTH, p.length);
        return "v=DKIM1; k=" + algorithm.keyType() + "; p=" + Base64.getEncoder().encodeToString(p);
    }

    /** A parse: the record, or why it is unusable (RFC 6376 §6.1.2: each of these is a permanent failure). */
    public sealed interface Parsed {
    }

    public record Valid(DkimKeyRecord record) implements Parsed {
    }

    public record Invalid(String reason) implements Parsed {
    }

    /** Reads a key record. Pure: a bad record is an {@link Invalid}, never an exception. */
    public static Parsed parse(String text) {
        Map<String, String> tags = DkimTags.parse(text).orElse(null);
        if (tags == null) return new Invalid("key record syntax");
        String v = tags.get("v");
        if (v != null && (!v.equals("DKIM1") || !tags.keySet().iterator().next().equals("v"))) {
            return new Invalid("key record version"); // RFC 6376 §3.6.1: v= first and exactly DKIM1
        }
        String k = tags.getOrDefault("k", "rsa").toLowerCase(Locale.ROOT);
        DkimAlgorithm algorithm = Arrays.stream(DkimAlgorithm.values()).filter(a -> a.keyType().equals(k)).findFirst().orElse(null);
        if (algorithm == null) return new Invalid("unknown key type k=" + (k.matches("[a-z0-9-]{1,20}") ? k : "(malformed)"));
        String h = tags.get("h");
        if (h != null && !values(h).contains("sha256")) return new Invalid("key record does not allow sha256");
        String s = tags.get("s");
        if (s != null && !values(s).contains("*") && !values(s).contains("email")) return new Invalid("key not for email");
        List<String> flags = values(tags.getOrDefault("t", ""));
        String p = tags.get("p");
        if (p == null) return new Invalid("key record has no p=");
        if (DkimTags.removeFws(p).isEmpty()) {
            return new Valid(new DkimKeyRecord(algorithm, Optional.empty(), flags.contains("y"), flags.contains("s")));
        }
        byte[] der = DkimTags.base64(p).orElse(null);
        if (der == null) return new Invalid("key record p= is not base64");
        Optional<PublicKey> key = algorithm == DkimAlgorithm.RSA_SHA256 ? rsa(der) : ed25519(der);
        if (key.isEmpty()) return new Invalid("key record p= is not a " + algorithm.keyType() + " key");
        return new Valid(new DkimKeyRecord(algorithm, key, flags.contains("y"), flags.contains("s")));
    }

    /** The size of an RSA key in bits; 256 for Ed25519. */
    public int bits() {
        return key.map(k -> k instanceof RSAPublicKey rsa ? rsa.getModulus().bitLength() : 256).orElse(0);
    }

    private static List<String> values(String list) {
        return Arrays.stream(list.split(":")).map(DkimTags::strip).map(x -> x.toLowerCase(Locale.ROOT)).toList();
    }

    /** A SubjectPublicKeyInfo, as RFC 6376 §3.6.1 specifies; a bare PKCS#1 RSAPublicKey, as some publish, too. */
    private static Optional<PublicKey> rsa(byte[] der) {
        try {
            KeyFactory factory = KeyFactory.getInstance("RSA");
            try {
                return Optional.of(factory.generatePublic(new X509EncodedKeySpec(der)));
            } catch (GeneralSecurityException notSpki) {
                var pkcs1 = org.bouncycastle.asn1.pkcs.RSAPublicKey.getInstance(der);
                return Optional.of(factory.generatePublic(new RSAPublicKeySpec(pkcs1.getModulus(), pkcs1.getPublicExponent())));
            }
        } catch (GeneralSecurityException | IllegalArgumentException | IllegalStateException malformed) {
            return Optional.empty();
        }
    }

    /** RFC 8463 §4.2: p= is the raw 32-octet key. */
    private static Optional<PublicKey> ed25519(byte[] raw) {
        if (raw.length != ED25519_KEY_LENGTH) return Optional.empty();
        byte[] spki = Arrays.copyOf(ED25519_SPKI_PREFIX, ED25519_SPKI_PREFIX.length + raw.length);
        System.arraycopy(raw, 0, spki, ED25519_SPKI_PREFIX.length, raw.length);
        try {
            return Optional.of(KeyFactory.getInstance("Ed25519").generatePublic(new X509EncodedKeySpec(spki)));
        } catch (GeneralSecurityException malformed) {
            return Optional.empty();
        }
    }
}
