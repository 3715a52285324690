package org.castellan.security.escrow;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Shamir's scheme over GF(2^8): every threshold-subset recovers, fewer do not. */
class ShamirTest {

    private final SecureRandom random = new SecureRandom();

    @Test
    void fieldArithmeticIsTheAesField() {
        // FIPS 197 §4.2: {57} • {83} = {c1}.
        assertThat(Shamir.multiply(0x57, 0x83)).isEqualTo(0xc1);
        for (int a = 1; a < 256; a++) {
            assertThat(Shamir.multiply(a, Shamir.divide(1, a))).as("inverse of %d", a).isEqualTo(1);
        }
    }

    @Test
    void everyThreeOfFiveRecoverTheSecret() {
        byte[] secret = new byte[32];
        random.nextBytes(secret);
        List<byte[]> shares = Shamir.split(secret, 5, 3, random);
        List<int[]> subsets = subsets(5, 3);
        assertThat(subsets).hasSize(10);
        for (int[] subset : subsets) {
            Map<Integer, byte[]> given = new LinkedHashMap<>();
            for (int x : subset) given.put(x, shares.get(x - 1));
            assertThat(Shamir.combine(given)).as("shares %s", java.util.Arrays.toString(subset)).isEqualTo(secret);
        }
        // More than the threshold works as well.
        Map<Integer, byte[]> all = new LinkedHashMap<>();
        for (int x = 1; x <= 5; x++) all.put(x, shares.get(x - 1));
        assertThat(Shamir.combine(all)).isEqualTo(secret);
    }

    @Test
    void twoOfThreeNeededGiveNothing() {
        byte[] secret = new byte[32];
        random.nextBytes(secret);
        List<byte[]> shares = Shamir.split(secret, 5, 3, random);
        for (int[] pair : subsets(5, 2)) {
            Map<Integer, byte[]> given = Map.of(pair[0], shares.get(pair[0] - 1), pair[1], shares.get(pair[1] - 1));
            assertThat(Shamir.combine(given)).isNotEqualTo(secret);
        }
    }

    @Test
    void fewerThanTheThresholdLeaveEverySecretPossible() {
        // For one byte shared 3 of 5, two shares fit every one of the 256 secrets: for each candidate
        // there is exactly one polynomial through it and the two shares, so the shares rule none out.
        byte[] secret = {42};
        List<byte[]> shares = Shamir.split(secret, 5, 3, random);
        Set<Integer> thirdShareValues = new HashSet<>();
        for (int candidate = 0; candidate < 256; candidate++) {
            // The value at x=3 of the polynomial through (0,candidate), (1,s1), (2,s2).
            Map<Integer, byte[]> points = new LinkedHashMap<>();
            points.put(1, shares.get(0));
            points.put(2, shares.get(1));
            points.put(3, new byte[1]);
            // Solve for share 3 by trying each: the one that gives candidate exists and is unique.
            int found = 0;
            for (int y = 0; y < 256; y++) {
                points.put(3, new byte[] {(byte) y});
                if ((Shamir.combine(points)[0] & 0xff) == candidate) {
                    found++;
                    thirdShareValues.add(y);
                }
            }
            assertThat(found).as("candidate %d", candidate).isEqualTo(1);
        }
        assertThat(thirdShareValues).hasSize(256);
    }

    @Test
    void refusesThresholdsOutsideTheScheme() {
        byte[] secret = {1, 2, 3};
        assertThatThrownBy(() -> Shamir.split(secret, 5, 1, random)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Shamir.split(secret, 3, 4, random)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Shamir.split(secret, 256, 3, random)).isInstanceOf(IllegalArgumentException.class);
        assertThat(Shamir.split(secret, 255, 255, random)).hasSize(255);
        assertThat(Shamir.split(secret, 2, 2, random)).hasSize(2);
    }

    static List<int[]> subsets(int n, int k) {
        List<int[]> out = new ArrayList<>();
        collect(1, n, k, new int[k], 0, out);
        return out;
    }

    private static void collect(int from, int n, int k, int[] chosen, int size, List<int[]> out) {
        if (size == k) {
            out.add(chosen.clone());
            return;
        }
        for (int x = from; x <= n; x++) {
            chosen[size] = x;
            collect(x + 1, n, k, chosen, size + 1, out);
        }
    }
}
