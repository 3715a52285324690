package org.castellan.security.auth;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.util.HexFormat;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * The SHA-256 fingerprint of a certificate's DER encoding, in the one form Castellan stores,
 * logs and binds: 64 lower-case hex digits. It is what {@code openssl x509 -fingerprint -sha256}
 * prints, without the colons.
 */
public final class CertificateFingerprint {

    /** SHA-256 is 32 bytes (FIPS 180-4): 64 hex digits. */
    public static final int HEX_LENGTH = 64;
    /** The forms people paste: bare hex, openssl's colon-separated pairs, with or without "sha256:" or "SHA256 Fingerprint=". */
    private static final Pattern DECORATION = Pattern.compile("^(sha-?256( fingerprint)?[:=])?", Pattern.CASE_INSENSITIVE);

    private CertificateFingerprint() {}

    /**
     * The fingerprint of {@code certificate}.
     *
     * @throws IllegalStateException when the certificate cannot be encoded (a broken provider)
     */
    public static String sha256(X509Certificate certificate) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(certificate.getEncoded()));
        } catch (CertificateEncodingException | NoSuchAlgorithmException e) {
            throw new IllegalStateException("cannot fingerprint the certificate: " + e.getMessage(), e);
        }
    }

    /**
     * Reads a fingerprint as a person types or pastes it: {@code AB:CD:...} as openssl prints it,
     * bare hex, or prefixed with {@code sha256:} as the auth log shows it.
     *
     * @throws IllegalArgumentException naming the expected form when {@code text} is not a SHA-256 fingerprint
     */
    public static String parse(String text) {
        String hex = DECORATION.matcher(text.trim()).replaceFirst("").replace(":", "").toLowerCase(Locale.ROOT);
        if (hex.length() != HEX_LENGTH || !hex.chars().allMatch(c -> Character.digit(c, 16) >= 0)) {
            throw new IllegalArgumentException("'" + text + "' is not a SHA-256 fingerprint: expected " + HEX_LENGTH
                    + " hex digits, optionally in colon-separated pairs (openssl x509 -noout -fingerprint -sha256)");
        }
        return hex;
    }
}
