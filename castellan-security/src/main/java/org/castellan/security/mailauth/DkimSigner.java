package org.castellan.security.mailauth;

import java.io.BufferedInputStream;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.interfaces.RSAKey;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;

/**
 * Signs a message with DKIM (RFC 6376), with one key or several (RFC 8463 §4 recommends an RSA
 * and an Ed25519 signature side by side). Canonicalization relaxed/relaxed, which survives the
 * re-folding and white-space changes relays make; the body is hashed once for all keys, streamed.
 *
 * <p>Signed fields: those of {@link #SIGNED_FIELDS} the message has, each as often as it occurs,
 * and From once more than it occurs, so that a From added later breaks the signature (RFC 6376
 * §8.15). The result is the DKIM-Signature fields to put before the message, each folded to at
 * most {@link #MAX_LINE} octets a line and ended by CRLF.
 *
 * <p>Pure: no I/O besides reading the message given. Failure: {@link IllegalArgumentException}
 * for a message without a From field or with a header section over 1 MiB, and for an unusable
 * key (at construction).
 */
public final class DkimSigner {

    /** What is signed when present (RFC 6376 §5.4.1's recommendation less the trace and list fields relays add). */
    public static final List<String> SIGNED_FIELDS = List.of("From", "To", "Cc", "Subject", "Date", "Message-ID",
            "Reply-To", "In-Reply-To", "References", "MIME-Version", "Content-Type", "Content-Transfer-Encoding");
    /** RFC 5322 §2.1.1's recommended line length, so that no relay re-folds the field. */
    public static final int MAX_LINE = 78;
    /** RFC 8301 §3.2: signers MUST use RSA keys of at least 1024 bits and SHOULD use 2048. */
    public static final int MIN_RSA_BITS = 2048;

    private static final String FIELD_NAME = "DKIM-Signature";

    /**
     * One signing key.
     *
     * @param domain the signing domain (d=)
     * @param selector the selector (s=) under which the public key is published
     * @param privateKey an RSA key of at least {@link #MIN_RSA_BITS} bits, or an Ed25519 key
     */
    public record Key(String domain, String selector, PrivateKey privateKey) {
        public Key {
            Objects.requireNonNull(domain, "domain");
            Objects.requireNonNull(selector, "selector");
            Objects.requireNonNull(privateKey, "privateKey");
        }

        public DkimAlgorithm algorithm() {
            return DkimAlgorithm.forKey(privateKey).orElseThrow();
        }
    }

    private final List<Key> keys;
    private final Optional<Duration> validity;

    /** Signs with every key, without an expiry. */
    public DkimSigner(List<Key> keys) {
        this(keys, Optional.empty());
    }

    /**
     * @param validity when present, each signature carries x= this long after t=
     * @throws IllegalArgumentException with no key, a key neither RSA nor Ed25519, or an RSA key under 2048 bits
     */
    public DkimSigner(List<Key> keys, Optional<Duration> validity) {
        if (keys.isEmpty()) throw new IllegalArgumentException("no DKIM key to sign with");
        for (Key key : keys) {
            if (DkimAlgorithm.forKey(key.privateKey()).isEmpty()) {
                throw new IllegalArgumentException("DKIM keys are RSA or Ed25519, not " + key.privateKey().getAlgorithm());
            }
            if (key.privateKey() instanceof RSAKey rsa && rsa.getModulus().bitLength() < MIN_RSA_BITS) {
                throw new IllegalArgumentException("RSA DKIM keys need at least " + MIN_RSA_BITS + " bits, "
                        + key.selector() + " has " + rsa.getModulus().bitLength());
            }
        }
        validity.ifPresent(v -> {
            if (v.isNegative() || v.isZero()) throw new IllegalArgumentException("signature validity must be positive");
        });
        this.keys = List.copyOf(keys);
        this.validity = validity;
    }

    /** {@link #sign(InputStream, Instant)} of a message in memory. */
    public byte[] sign(byte[] message, Instant now) {
        try {
            return sign(new ByteArrayInputStream(message), now);
        } catch (IOException e) {
            throw new UncheckedIOException("reading from memory", e);
        }
    }

    /**
     * Reads the whole message (header section and body, CRLF or LF line ends) and returns the
     * DKIM-Signature fields, one per key in the order given, to prepend to it unchanged.
     *
     * @throws IOException if reading the message fails
     */
    public byte[] sign(InputStream message, Instant now) throws IOException {
        InputStream in = new BufferedInputStream(message);
        DkimHeaderSection header = DkimHeaderSection.read(in)
                .orElseThrow(() -> new IllegalArgumentException("header section over "
                        + DkimHeaderSection.MAX_HEADER_SECTION + " octets"));
        List<String> signed = signedFieldNames(header);
        DkimBodyHasher body = new DkimBodyHasher(DkimCanonicalization.RELAXED, -1);
        byte[] chunk = new byte[8192];
        for (int n; (n = in.read(chunk)) > 0; ) body.update(chunk, 0, n);
        String bodyHash = Base64.getEncoder().encodeToString(body.finish());
        StringBuilder out = new StringBuilder();
        for (Key key : keys) out.append(signature(key, header, signed, bodyHash, now)).append("\r\n");
        return out.toString().getBytes(StandardCharsets.ISO_8859_1);
    }

    private static List<String> signedFieldNames(DkimHeaderSection header) {
        List<String> names = new ArrayList<>();
        for (String name : SIGNED_FIELDS) {
            int count = header.named(name).size();
            for (int i = 0; i < count; i++) names.add(name.toLowerCase(Locale.ROOT));
        }
        if (!names.contains("from")) throw new IllegalArgumentException("the message has no From field"); // RFC 6376 §5.4
        names.add("from"); // oversigned: RFC 6376 §8.15
        return names;
    }

    private String signature(Key key, DkimHeaderSection header, List<String> signed, String bodyHash, Instant now) {
        long t = now.getEpochSecond();
        Folder field = new Folder(FIELD_NAME + ":");
        field.word("v=1;");
        field.word("a=" + key.algorithm().tag() + ";");
        field.word("c=relaxed/relaxed;");
        field.word("d=" + key.domain() + ";");
        field.word("s=" + key.selector() + ";");
        field.word("t=" + t + ";");
        validity.ifPresent(v -> field.word("x=" + (t + v.toSeconds()) + ";"));
        field.word("h=");
        for (int i = 0; i < signed.size(); i++) field.piece(signed.get(i) + (i + 1 < signed.size() ? ":" : ";"));
        field.word("bh=" + bodyHash + ";");
        field.word("b=");
        String unsigned = field.toString();
        byte[] data = DkimVerifier.signedData(header, signed, DkimCanonicalization.RELAXED, unsigned)
                .getBytes(StandardCharsets.ISO_8859_1);
        String b = Base64.getEncoder().encodeToString(sign(key, data));
        for (int i = 0; i < b.length(); i += 8) field.piece(b.substring(i, Math.min(b.length(), i + 8)));
        return field.toString();
    }

    private static byte[] sign(Key key, byte[] data) {
        try {
            Signature signer;
            if (key.algorithm() == DkimAlgorithm.RSA_SHA256) {
                signer = Signature.getInstance("SHA256withRSA");
                signer.initSign(key.privateKey());
                signer.update(data);
            } else {
                signer = Signature.getInstance("Ed25519"); // RFC 8463 §3: over the SHA-256 hash of the data
                signer.initSign(key.privateKey());
                signer.update(MessageDigest.getInstance("SHA-256").digest(data));
            }
            return signer.sign();
        } catch (GeneralSecurityException e) {
            throw new IllegalArgumentException("cannot sign with DKIM key " + key.selector() + ": " + e.getMessage(), e);
        }
    }

    /**
     * Builds a folded field: words separated by a space, pieces joined to what precedes them, a
     * line broken (CRLF and one SP) before a word or piece that would pass {@link #MAX_LINE}.
     */
    private static final class Folder {
        private final StringBuilder text = new StringBuilder();
        private int lineStart;

        Folder(String start) {
            text.append(start);
        }

        void word(String word) {
            append(" ", word);
        }

        void piece(String piece) {
            append("", piece);
        }

        private void append(String separator, String s) {
            if (text.length() - lineStart + separator.length() + s.length() > MAX_LINE) {
                text.append("\r\n");
                lineStart = text.length();
                text.append(' ');
            } else {
                text.append(separator);
            }
            text.append(s);
        }

        @Override
        public String toString() {
            return text.toString();
        }
    }
}
