package org.castellan.security.tls.internal;

import io.netty.handler.ssl.ReferenceCountedOpenSslContext;
import io.netty.handler.ssl.ReferenceCountedOpenSslEngine;
import io.netty.internal.tcnative.KeyLogCallback;
import io.netty.internal.tcnative.SSL;
import io.netty.internal.tcnative.SSLContext;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The {@code tls-exporter} channel binding (RFC 9266) of TLS 1.3 connections made with BoringSSL
 * through netty-tcnative, which exposes no keying-material exporter.
 *
 * <p>BoringSSL hands every secret of a connection to its context's key-log callback, one NSS
 * key-log line each. The line {@code EXPORTER_SECRET <client_random> <secret>} carries the TLS 1.3
 * exporter_master_secret (RFC 8446 §7.1); from it this callback derives, on the spot, the one
 * exporter value a channel binding needs — TLS-Exporter("EXPORTER-Channel-Binding", "", 32) (RFC
 * 9266 §2, RFC 8446 §7.5) — and zeroes the secret, every intermediate key and the line. Every other
 * line (handshake and traffic secrets, TLS 1.2's master secret) is zeroed unread. The exporter value
 * is kept for its connection only; it reveals nothing of the keys.
 *
 * <p>Trusts: the connection (SSL pointer) BoringSSL names, once the line's client_random is that
 * connection's own ({@code SSL_get_client_random}); a connection no {@link #expect} registered gets
 * nothing. Never logs, keeps or writes a secret: nothing here has a path to disk, and BoringSSL itself
 * reads no {@code SSLKEYLOGFILE}. Failure: a line that does not parse, or whose client_random differs,
 * leaves the connection without a binding (SCRAM-SHA-256-PLUS then fails for it, as it must); the
 * callback never throws into native code.
 */
public final class ExporterKeyLog implements KeyLogCallback {

    /** RFC 9266 §2: the exporter label; the context is empty and the length 32 bytes. */
    static final byte[] CHANNEL_BINDING_LABEL = "EXPORTER-Channel-Binding".getBytes(StandardCharsets.US_ASCII);
    static final int CHANNEL_BINDING_LENGTH = 32;

    /** The NSS key-log label BoringSSL gives the TLS 1.3 exporter_master_secret. */
    private static final byte[] EXPORTER_SECRET = "EXPORTER_SECRET ".getBytes(StandardCharsets.US_ASCII);
    /** RFC 8446 §4.1.2: Random, 32 bytes. */
    private static final int CLIENT_RANDOM_BYTES = 32;

    static final ExporterKeyLog INSTANCE = new ExporterKeyLog();

    /** Connections between engine creation and the end of their handshake, by SSL pointer. */
    private final Map<Long, Exporter> awaiting = new ConcurrentHashMap<>();

    private ExporterKeyLog() {}

    /**
     * tcnative's {@code SSLContext} calls take its own context structure, which netty keeps in the
     * protected field {@code ctx} ({@code sslCtxPointer()} is the raw SSL_CTX, which they must not
     * be given); null if this netty has no such field, and then no connection gets the binding.
     */
    private static final VarHandle CONTEXT = contextField();

    /** Whether BoringSSL connections can get the binding: {@link #install} works with this netty. */
    public static boolean available() {
        return CONTEXT != null;
    }

    /**
     * Has BoringSSL hand the secrets of every connection of {@code context} to this callback.
     *
     * @throws IllegalStateException if netty-tcnative refuses the callback
     */
    public static void install(ReferenceCountedOpenSslContext context) {
        if (CONTEXT == null) return;
        if (!SSLContext.setKeyLogCallback((long) CONTEXT.get(context), INSTANCE)) {
            throw new IllegalStateException("netty-tcnative refused the key-log callback");
        }
    }

    private static VarHandle contextField() {
        try {
            return MethodHandles.privateLookupIn(ReferenceCountedOpenSslContext.class, MethodHandles.lookup())
                    .findVarHandle(ReferenceCountedOpenSslContext.class, "ctx", long.class);
        } catch (ReflectiveOperationException | SecurityException | IllegalArgumentException e) {
            return null;
        }
    }

    /**
     * Registers a new engine of an {@link #install}ed context, before its handshake; call
     * {@link Exporter#handshakeDone} when the handshake ends, however it ends.
     */
    public static Exporter expect(ReferenceCountedOpenSslEngine engine) {
        Exporter exporter = new Exporter(engine.sslPointer());
        // A pointer is unique among live connections; a newer engine at a freed one's address replaces it.
        INSTANCE.awaiting.put(exporter.ssl, exporter);
        return exporter;
    }

    @Override
    public void handle(long ssl, byte[] line) {
        try {
            if (!startsWith(line, EXPORTER_SECRET)) return;
            Exporter exporter = awaiting.get(ssl);
            if (exporter != null) exporter.derive(line, SSL.getClientRandom(ssl));
        } catch (RuntimeException e) {
            // Nothing may be thrown into BoringSSL; the connection simply has no binding.
        } finally {
            Arrays.fill(line, (byte) 0);
        }
    }

    /** One connection's exporter value, set while its handshake runs. */
    public static final class Exporter {
        private final long ssl;
        /** TLS-Exporter("EXPORTER-Channel-Binding", "", 32), and the hash it was derived with. */
        private volatile byte[] value;
        private volatile String hash;

        Exporter(long ssl) {
            this.ssl = ssl;
        }

        /** Stops waiting for key-log lines; a failed handshake forgets what it had. */
        public void handshakeDone(boolean success) {
            INSTANCE.awaiting.remove(ssl, this);
            byte[] v = value;
            if (!success && v != null) {
                value = null;
                Arrays.fill(v, (byte) 0);
            }
        }

        /**
         * The binding of a completed TLS 1.3 handshake whose cipher suite is {@code cipherSuite}
         * (whose name ends with the hash, RFC 8446 §B.4); empty if the key log gave none, or gave
         * one derived with another hash.
         */
        public Optional<byte[]> channelBinding(String cipherSuite) {
            byte[] v = value;
            String h = hash;
            if (v == null || h == null || cipherSuite == null || !cipherSuite.endsWith(h.replace("-", ""))) {
                return Optional.empty();
            }
            return Optional.of(v.clone());
        }

        void derive(byte[] line, byte[] clientRandom) {
            // EXPORTER_SECRET <64 hex digits of client_random> <hex digits of the secret>
            int randomAt = EXPORTER_SECRET.length;
            int secretAt = randomAt + 2 * CLIENT_RANDOM_BYTES + 1;
            if (line.length <= secretAt || line[secretAt - 1] != ' ' || clientRandom == null) return;
            byte[] random = unhex(line, randomAt, 2 * CLIENT_RANDOM_BYTES);
            if (random == null || !MessageDigest.isEqual(random, clientRandom)) return;
            byte[] secret = unhex(line, secretAt, line.length - secretAt);
            if (secret == null) return;
            try {
                // TLS 1.3 suites hash with SHA-256 or SHA-384; the secret is one hash long (RFC 8446 §7.1).
                String algorithm = switch (secret.length) {
                    case 32 -> "SHA-256";
                    case 48 -> "SHA-384";
                    default -> null;
                };
                if (algorithm == null) return;
                value = tlsExporter(algorithm, secret, CHANNEL_BINDING_LABEL, CHANNEL_BINDING_LENGTH);
                hash = algorithm;
            } finally {
                Arrays.fill(secret, (byte) 0);
            }
        }
    }

    /**
     * RFC 8446 §7.5: TLS-Exporter(label, "", length) =
     * HKDF-Expand-Label(Derive-Secret(secret, label, ""), "exporter", Hash(""), length).
     */
    static byte[] tlsExporter(String algorithm, byte[] exporterSecret, byte[] label, int length) {
        MessageDigest digest = digest(algorithm);
        byte[] emptyHash = digest.digest();
        // RFC 8446 §7.1: Derive-Secret(Secret, Label, "") = HKDF-Expand-Label(Secret, Label, Hash(""), Hash.length).
        byte[] derived = expandLabel(digest, exporterSecret, label, emptyHash, emptyHash.length);
        try {
            return expandLabel(digest, derived, "exporter".getBytes(StandardCharsets.US_ASCII), emptyHash, length);
        } finally {
            Arrays.fill(derived, (byte) 0);
        }
    }

    /**
     * RFC 8446 §7.1: HKDF-Expand-Label(Secret, Label, Context, Length) = HKDF-Expand(Secret,
     * HkdfLabel, Length), HkdfLabel = uint16 length, opaque label&lt;7..255&gt; = "tls13 " + Label,
     * opaque context&lt;0..255&gt;. Only one HKDF block is ever needed here (length ≤ the hash length).
     */
    private static byte[] expandLabel(MessageDigest digest, byte[] secret, byte[] label, byte[] context, int length) {
        if (length > digest.getDigestLength()) throw new IllegalArgumentException("one HKDF block at most");
        byte[] prefix = "tls13 ".getBytes(StandardCharsets.US_ASCII);
        byte[] info = new byte[2 + 1 + prefix.length + label.length + 1 + context.length + 1];
        int at = 0;
        info[at++] = (byte) (length >>> 8);
        info[at++] = (byte) length;
        info[at++] = (byte) (prefix.length + label.length);
        System.arraycopy(prefix, 0, info, at, prefix.length);
        at += prefix.length;
        System.arraycopy(label, 0, info, at, label.length);
        at += label.length;
        info[at++] = (byte) context.length;
        System.arraycopy(context, 0, info, at, context.length);
        at += context.length;
        // RFC 5869 §2.3: T(1) = HMAC-Hash(PRK, info | 0x01).
        info[at] = 1;
        byte[] block = hmac(digest, secret, info);
        try {
            return Arrays.copyOf(block, length);
        } finally {
            Arrays.fill(block, (byte) 0);
        }
    }

    /**
     * RFC 2104 HMAC over a plain digest, rather than {@code javax.crypto.Mac}, whose key objects
     * keep copies of the secret that cannot be wiped: every buffer holding key material here is
     * zeroed, and a digest clears its own state when it completes.
     */
    static byte[] hmac(MessageDigest digest, byte[] key, byte[] message) {
        int block = digest.getAlgorithm().equals("SHA-384") ? 128 : 64;
        if (key.length > block) throw new IllegalArgumentException("a key longer than the block");
        byte[] pad = new byte[block];
        byte[] inner = null;
        try {
            for (int i = 0; i < block; i++) pad[i] = (byte) ((i < key.length ? key[i] : 0) ^ 0x36);
            digest.update(pad);
            digest.update(message);
            inner = digest.digest();
            for (int i = 0; i < block; i++) pad[i] = (byte) ((i < key.length ? key[i] : 0) ^ 0x5c);
            digest.update(pad);
            return digest.digest(inner);
        } finally {
            Arrays.fill(pad, (byte) 0);
            if (inner != null) Arrays.fill(inner, (byte) 0);
        }
    }

    private static MessageDigest digest(String algorithm) {
        try {
            return MessageDigest.getInstance(algorithm);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(algorithm + " is missing from this JDK", e);
        }
    }

    private static boolean startsWith(byte[] line, byte[] prefix) {
        return line != null && line.length >= prefix.length && Arrays.equals(line, 0, prefix.length, prefix, 0, prefix.length);
    }

    /** Lower- or upper-case hex digits to bytes, without a String; null for anything else. */
    private static byte[] unhex(byte[] text, int from, int digits) {
        if (digits % 2 != 0 || from + digits > text.length) return null;
        byte[] out = new byte[digits / 2];
        for (int i = 0; i < out.length; i++) {
            int high = Character.digit(text[from + 2 * i], 16);
            int low = Character.digit(text[from + 2 * i + 1], 16);
            if (high < 0 || low < 0) {
                Arrays.fill(out, (byte) 0);
                return null;
            }
            out[i] = (byte) (high << 4 | low);
        }
        return out;
    }
}
