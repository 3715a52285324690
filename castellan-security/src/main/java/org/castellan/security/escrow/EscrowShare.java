package org.castellan.security.escrow;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One share of an escrow key's secret as an operator keeps it: a line of text to print, type or
 * paste, {@code castellan-share-v1:KEYID:M:INDEX:HEX:CHECK}. KEYID names the escrow key, M is the
 * threshold, INDEX the share's x (1..255), HEX the share bytes and CHECK the first four bytes of a
 * SHA-256 over everything before it, so that a typing error or an edited field is caught and named
 * before combining. The check is no protection against someone who recomputes it: the escrow
 * directory keeps a digest of each share ({@link KeyEscrow}), and the combined secret must open the
 * escrow key, whose public half is known.
 *
 * @param keyId the escrow key the share belongs to (16 hex digits)
 * @param threshold how many shares recover the secret
 * @param index the share's x coordinate, 1..255
 * @param bytes the share, as long as the secret
 */
public record EscrowShare(String keyId, int threshold, int index, byte[] bytes) {

    static final String PREFIX = "castellan-share-v1";
    /** A share of a 256-bit secret is 64 hex digits; anything much longer was not made here. */
    static final int MAX_BYTES = 64;
    private static final Pattern FORM = Pattern.compile(
            PREFIX + ":([0-9a-f]{16}):([0-9]{1,3}):([0-9]{1,3}):([0-9a-f]{2,128}):([0-9a-f]{8})");

    /** What reading one line gave: a share, or why the line is not one. */
    public sealed interface Read permits Parsed, Damaged {}

    public record Parsed(EscrowShare share) implements Read {}

    /** @param reason what is wrong, without the share's content */
    public record Damaged(String reason) implements Read {}

    /** The line to hand to a share holder. */
    public String format() {
        String body = body();
        return body + ":" + check(body);
    }

    private String body() {
        return PREFIX + ":" + keyId + ":" + threshold + ":" + index + ":" + HexFormat.of().formatHex(bytes);
    }

    /**
     * Reads one line; spaces, tabs and case are ignored (a share typed in groups reads the same).
     * Never throws for bad input.
     */
    public static Read parse(String line) {
        String compact = line.replaceAll("\\s+", "").toLowerCase(Locale.ROOT);
        Matcher m = FORM.matcher(compact);
        if (!m.matches()) {
            if (!compact.startsWith(PREFIX + ":")) return new Damaged("it is not a Castellan escrow share (they start " + PREFIX + ":)");
            return new Damaged("its fields are not KEYID:M:INDEX:HEX:CHECK in hex and digits");
        }
        if (m.group(4).length() % 2 != 0 || m.group(4).length() / 2 > MAX_BYTES) {
            return new Damaged("its share bytes have the wrong length");
        }
        String body = compact.substring(0, compact.lastIndexOf(':'));
        if (!MessageDigest.isEqual(check(body).getBytes(StandardCharsets.US_ASCII),
                m.group(5).getBytes(StandardCharsets.US_ASCII))) {
            return new Damaged("its check digits do not match (a typing error, or the share was altered)");
        }
        int threshold = Integer.parseInt(m.group(2));
        int index = Integer.parseInt(m.group(3));
        if (threshold < Shamir.MIN_THRESHOLD || threshold > Shamir.MAX_SHARES || index < 1 || index > Shamir.MAX_SHARES) {
            return new Damaged("its threshold or index is out of range");
        }
        return new Parsed(new EscrowShare(m.group(1), threshold, index, HexFormat.of().parseHex(m.group(4))));
    }

    /**
     * A digest of the share that identifies it without revealing it (SHA-256 over the key id, the
     * index and the bytes), kept by the escrow directory to name a share that was altered and
     * given a new check.
     */
    public String digest() {
        return HexFormat.of().formatHex(sha256(("castellan escrow share digest:" + body()).getBytes(StandardCharsets.US_ASCII)));
    }

    private static String check(String body) {
        return HexFormat.of().formatHex(sha256(body.getBytes(StandardCharsets.US_ASCII)), 0, 4);
    }

    static byte[] sha256(byte[] data) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(data);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }

    @Override
    public String toString() {
        // Never the bytes: a share in a log is a share given away.
        return "EscrowShare[" + keyId + " " + index + " of threshold " + threshold + "]";
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof EscrowShare s && s.keyId.equals(keyId) && s.threshold == threshold && s.index == index
                && java.util.Arrays.equals(s.bytes, bytes);
    }

    @Override
    public int hashCode() {
        return java.util.Objects.hash(keyId, threshold, index, java.util.Arrays.hashCode(bytes));
    }
}
