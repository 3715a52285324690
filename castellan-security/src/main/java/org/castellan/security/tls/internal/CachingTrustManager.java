package org.castellan.security.tls.internal;

import java.net.Socket;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.cert.CertificateEncodingException;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * Remembers which client chains the PKIX trust manager accepted, so that a device reconnecting
 * all day is not path-validated in Java on the event loop at every handshake. Only successes are
 * remembered, each until the earliest of: {@link #TTL} after the check, the end of any
 * certificate's validity in the chain, and {@code notAfter} (the earliest nextUpdate of the CRLs
 * it was built with). A CRL reload builds a new instance, so a revocation is never hidden by an
 * old entry.
 *
 * <p>Failure: whatever the PKIX trust manager throws, unchanged; failures are never cached, so a
 * refused chain costs a full check every time, as before.
 */
public final class CachingTrustManager extends ClientTrustManager {

    /** Bounds how long a success stands without a new check, whatever the certificates allow. */
    public static final Duration TTL = Duration.ofMinutes(5);
    /** Distinct chains remembered; a server has as many as devices that connect in {@link #TTL}. */
    public static final int MAX_ENTRIES = 4096;

    private final X509ExtendedTrustManager pkix;
    private final Clock clock;
    private final Instant notAfter;
    private final Map<String, Instant> accepted = new LinkedHashMap<>(64, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Instant> eldest) {
            return size() > MAX_ENTRIES;
        }
    };

    /** @param notAfter no success is remembered past this (the CRLs' earliest nextUpdate, or {@link Instant#MAX}) */
    public CachingTrustManager(X509ExtendedTrustManager pkix, Clock clock, Instant notAfter) {
        this.pkix = pkix;
        this.clock = clock;
        this.notAfter = notAfter;
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
            throws CertificateException {
        check(chain, authType, () -> pkix.checkClientTrusted(chain, authType, engine));
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
            throws CertificateException {
        check(chain, authType, () -> pkix.checkClientTrusted(chain, authType, socket));
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        check(chain, authType, () -> pkix.checkClientTrusted(chain, authType));
    }

    @FunctionalInterface
    private interface Check {
        void run() throws CertificateException;
    }

    private void check(X509Certificate[] chain, String authType, Check pkixCheck) throws CertificateException {
        String key = key(chain, authType);
        if (remembered(key)) return;
        pkixCheck.run();
        remember(key, chain);
    }

    private boolean remembered(String key) {
        if (key == null) return false;
        synchronized (accepted) {
            Instant until = accepted.get(key);
            return until != null && clock.instant().isBefore(until);
        }
    }

    private void remember(String key, X509Certificate[] chain) {
        if (key == null) return;
        Instant now = clock.instant();
        Instant until = now.plus(TTL);
        if (notAfter.isBefore(until)) until = notAfter;
        for (X509Certificate certificate : chain) {
            Instant end = certificate.getNotAfter().toInstant();
            if (end.isBefore(until)) until = end;
            // Not yet valid ones were refused by PKIX; this only guards against a clock jumping back.
            if (certificate.getNotBefore().toInstant().isAfter(now)) return;
        }
        synchronized (accepted) {
            accepted.put(key, until);
        }
    }

    /** SHA-256 over the chain exactly as presented, and the key exchange type; null if it cannot be encoded. */
    private static String key(X509Certificate[] chain, String authType) {
        if (chain == null || chain.length == 0) return null;
        try {
            MessageDigest digest = MessageDigest.getInstance("SHA-256");
            for (X509Certificate certificate : chain) {
                byte[] der = certificate.getEncoded();
                digest.update((byte) (der.length >>> 24));
                digest.update((byte) (der.length >>> 16));
                digest.update((byte) (der.length >>> 8));
                digest.update((byte) der.length);
                digest.update(der);
            }
            return HexFormat.of().formatHex(digest.digest()) + " " + authType;
        } catch (NoSuchAlgorithmException | CertificateEncodingException e) {
            return null;
        }
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
        return pkix.getAcceptedIssuers();
    }
}
