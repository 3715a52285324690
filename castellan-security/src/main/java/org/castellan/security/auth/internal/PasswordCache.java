package org.castellan.security.auth.internal;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Remembers recent successful password verifications so that a client logging in every minute
 * (POP3 polling, IMAP reconnects) does not cost a PBKDF2 run each time.
 *
 * <p>An entry is HMAC-SHA-256, under a key drawn at start and never stored, of the account, the
 * stored secret string and the password. Neither the password nor anything from which it could
 * be tested offline without that key is kept; a changed password or secret simply misses. The
 * cache holds at most {@code capacity} entries, dropping the least recently used.
 */
public final class PasswordCache {

    private static final String HMAC = "HmacSHA256";
    /** HMAC-SHA-256 key length (RFC 2104 §3: at least the output length). */
    private static final int KEY_BYTES = 32;

    private final SecretKeySpec key;
    private final int capacity;
    private final LinkedHashMap<String, Boolean> entries;

    public PasswordCache(int capacity) {
        byte[] random = new byte[KEY_BYTES];
        new SecureRandom().nextBytes(random);
        this.key = new SecretKeySpec(random, HMAC);
        Arrays.fill(random, (byte) 0);
        this.capacity = capacity;
        this.entries = new LinkedHashMap<>(16, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<String, Boolean> eldest) {
                return size() > PasswordCache.this.capacity;
            }
        };
    }

    /** Whether this exact account, secret and password verified recently. */
    public boolean contains(String account, String secret, char[] password) {
        if (capacity == 0) return false;
        String entry = entry(account, secret, password);
        synchronized (entries) {
            return entries.get(entry) != null;
        }
    }

    /** Records a successful verification. */
    public void add(String account, String secret, char[] password) {
        if (capacity == 0) return;
        String entry = entry(account, secret, password);
        synchronized (entries) {
            entries.put(entry, Boolean.TRUE);
        }
    }

    public int size() {
        synchronized (entries) {
            return entries.size();
        }
    }

    private String entry(String account, String secret, char[] password) {
        ByteBuffer encoded = StandardCharsets.UTF_8.encode(CharBuffer.wrap(password));
        byte[] passwordBytes = new byte[encoded.remaining()];
        encoded.get(passwordBytes);
        Arrays.fill(encoded.array(), (byte) 0);
        try {
            Mac mac = Mac.getInstance(HMAC);
            mac.init(key);
            // Lengths first, so that no two (account, secret, password) triples share an input.
            byte[] accountBytes = account.getBytes(StandardCharsets.UTF_8);
            byte[] secretBytes = secret.getBytes(StandardCharsets.UTF_8);
            mac.update(ByteBuffer.allocate(12).putInt(accountBytes.length).putInt(secretBytes.length)
                    .putInt(passwordBytes.length).array());
            mac.update(accountBytes);
            mac.update(secretBytes);
            mac.update(passwordBytes);
            return Base64.getEncoder().encodeToString(mac.doFinal());
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("this JDK lacks " + HMAC, e);
        } finally {
            Arrays.fill(passwordBytes, (byte) 0);
        }
    }
}
