package org.castellan.security.escrow;

import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Shamir's secret sharing (A. Shamir, "How to share a secret", CACM 22(11), 1979) over GF(2^8),
 * byte by byte: each byte of the secret is the constant term of a random polynomial of degree
 * {@code threshold - 1}; share {@code x} (1 to 255) holds the polynomials' values at {@code x}.
 * Any {@code threshold} shares give the constant terms back by Lagrange interpolation at 0;
 * fewer leave every value of the secret equally likely.
 *
 * <p>Pure arithmetic: no I/O; bad arguments are programming errors ({@link IllegalArgumentException}).
 */
public final class Shamir {

    /** x = 0 is the secret itself and the field has 255 other elements. */
    public static final int MAX_SHARES = 255;
    /** One share alone would be the secret: sharing starts at two. */
    public static final int MIN_THRESHOLD = 2;

    /** The AES field: x^8 + x^4 + x^3 + x + 1, in which 3 generates the multiplicative group. */
    private static final int POLYNOMIAL = 0x11b;
    private static final int[] EXP = new int[512];
    private static final int[] LOG = new int[256];

    static {
        int value = 1;
        for (int i = 0; i < 255; i++) {
            EXP[i] = value;
            LOG[value] = i;
            // value * 3 = value * 2 + value
            int doubled = value << 1;
            if ((doubled & 0x100) != 0) doubled ^= POLYNOMIAL;
            value = doubled ^ value;
        }
        // Doubled so that multiply can skip a modulo.
        for (int i = 255; i < 512; i++) EXP[i] = EXP[i - 255];
    }

    private Shamir() {
    }

    /**
     * Splits {@code secret} into {@code shares} shares, any {@code threshold} of which recover it.
     *
     * @return the shares for x = 1 .. shares, each as long as the secret
     * @throws IllegalArgumentException unless 2 ≤ threshold ≤ shares ≤ 255 and the secret is not empty
     */
    public static List<byte[]> split(byte[] secret, int shares, int threshold, SecureRandom random) {
        if (threshold < MIN_THRESHOLD || threshold > shares || shares > MAX_SHARES) {
            throw new IllegalArgumentException("need 2 <= threshold <= shares <= 255, not " + threshold + " of " + shares);
        }
        if (secret.length == 0) throw new IllegalArgumentException("an empty secret has nothing to share");
        List<byte[]> out = new ArrayList<>(shares);
        for (int x = 1; x <= shares; x++) out.add(new byte[secret.length]);
        int[] coefficients = new int[threshold];
        byte[] randomBytes = new byte[threshold - 1];
        for (int b = 0; b < secret.length; b++) {
            coefficients[0] = secret[b] & 0xff;
            random.nextBytes(randomBytes);
            for (int k = 1; k < threshold; k++) coefficients[k] = randomBytes[k - 1] & 0xff;
            for (int x = 1; x <= shares; x++) {
                out.get(x - 1)[b] = (byte) evaluate(coefficients, x);
            }
        }
        java.util.Arrays.fill(coefficients, 0);
        java.util.Arrays.fill(randomBytes, (byte) 0);
        return out;
    }

    /**
     * The value at 0 of the polynomial through the given shares (x → share bytes): the secret when
     * they are at least as many as the threshold and unaltered, an unrelated value otherwise (which
     * is why the caller checks the result against something it knows, such as a public key).
     *
     * @throws IllegalArgumentException if there is no share, an x is outside 1..255, or the shares
     *     differ in length
     */
    public static byte[] combine(Map<Integer, byte[]> shares) {
        if (shares.isEmpty()) throw new IllegalArgumentException("no shares to combine");
        int length = -1;
        for (var e : shares.entrySet()) {
            if (e.getKey() < 1 || e.getKey() > MAX_SHARES) throw new IllegalArgumentException("share index " + e.getKey());
            if (length >= 0 && e.getValue().length != length) throw new IllegalArgumentException("shares differ in length");
            length = e.getValue().length;
        }
        int[] xs = shares.keySet().stream().mapToInt(Integer::intValue).toArray();
        // Lagrange basis at 0: l_i(0) = prod_{j != i} x_j / (x_j - x_i); subtraction is XOR here.
        int[] basis = new int[xs.length];
        for (int i = 0; i < xs.length; i++) {
            int numerator = 1;
            int denominator = 1;
            for (int j = 0; j < xs.length; j++) {
                if (i == j) continue;
                numerator = multiply(numerator, xs[j]);
                denominator = multiply(denominator, xs[j] ^ xs[i]);
            }
            basis[i] = divide(numerator, denominator);
        }
        byte[] secret = new byte[length];
        for (int b = 0; b < length; b++) {
            int value = 0;
            for (int i = 0; i < xs.length; i++) {
                value ^= multiply(shares.get(xs[i])[b] & 0xff, basis[i]);
            }
            secret[b] = (byte) value;
        }
        return secret;
    }

    /** Horner's rule in GF(2^8). */
    private static int evaluate(int[] coefficients, int x) {
        int value = 0;
        for (int k = coefficients.length - 1; k >= 0; k--) value = multiply(value, x) ^ coefficients[k];
        return value;
    }

    static int multiply(int a, int b) {
        if (a == 0 || b == 0) return 0;
        return EXP[LOG[a] + LOG[b]];
    }

    static int divide(int a, int b) {
        if (b == 0) throw new ArithmeticException("division by zero in GF(2^8): two shares have the same index");
        if (a == 0) return 0;
        return EXP[LOG[a] + 255 - LOG[b]];
    }
}
