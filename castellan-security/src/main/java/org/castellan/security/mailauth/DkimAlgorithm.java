package org.castellan.security.mailauth;

import java.util.Optional;

/**
 * The DKIM signing algorithms Castellan signs and verifies with. rsa-sha1 is deliberately absent:
 * RFC 8301 §3.1 forbids signing with it and forbids verifiers to accept it.
 */
public enum DkimAlgorithm {
    /** RFC 6376 §3.3.2; keys of at least 1024 bits to verify, 2048 to sign (RFC 8301 §3.2). */
    RSA_SHA256("rsa-sha256", "rsa", "RSA"),
    /** RFC 8463 §3: PureEdDSA over the SHA-256 hash of the signed data. */
    ED25519_SHA256("ed25519-sha256", "ed25519", "Ed25519");

    private final String tag;
    private final String keyType;
    private final String jcaKeyAlgorithm;

    DkimAlgorithm(String tag, String keyType, String jcaKeyAlgorithm) {
        this.tag = tag;
        this.keyType = keyType;
        this.jcaKeyAlgorithm = jcaKeyAlgorithm;
    }

    /** The value of the signature's {@code a=} tag. */
    public String tag() {
        return tag;
    }

    /** The value of the key record's {@code k=} tag (RFC 6376 §3.6.1). */
    public String keyType() {
        return keyType;
    }

    /** The JCA name of the key algorithm ({@code RSA}, {@code Ed25519}). */
    public String jcaKeyAlgorithm() {
        return jcaKeyAlgorithm;
    }

    /** The algorithm of an {@code a=} value, case-insensitive; empty for any other (rsa-sha1 included). */
    public static Optional<DkimAlgorithm> fromTag(String tag) {
        for (DkimAlgorithm a : values()) {
            if (a.tag.equalsIgnoreCase(tag)) return Optional.of(a);
        }
        return Optional.empty();
    }

    /** The algorithm that signs with a key of this JCA algorithm ({@code RSA}, {@code Ed25519} or {@code EdDSA}). */
    public static Optional<DkimAlgorithm> forKey(java.security.Key key) {
        return switch (key.getAlgorithm()) {
            case "RSA" -> Optional.of(RSA_SHA256);
            case "Ed25519", "EdDSA" -> Optional.of(ED25519_SHA256);
            default -> Optional.empty();
        };
    }
}
