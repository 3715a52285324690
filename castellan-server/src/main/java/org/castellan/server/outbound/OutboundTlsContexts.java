package org.castellan.server.outbound;

import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * The JDK TLS contexts of outbound sessions. Opportunistic TLS (RFC 7435) accepts any
 * certificate: it protects against passive listening only, and refusing a certificate would only
 * push the message into cleartext. Verified TLS trusts the system's CA store (the JDK's
 * {@code cacerts}) and, per route, a CA file; the host name is checked by the JDK's endpoint
 * identification (RFC 6125), set on each socket.
 *
 * <p>Failure: {@link #verifying} throws {@link IllegalStateException} naming a CA file that cannot
 * be read; the engine defers the recipients of that route.
 */
final class OutboundTlsContexts {

    private static final SSLContext OPPORTUNISTIC = context(new AcceptAny());
    private static final Map<Optional<Path>, SSLContext> VERIFYING = new ConcurrentHashMap<>();

    private OutboundTlsContexts() {}

    static SSLContext opportunistic() {
        return OPPORTUNISTIC;
    }

    static SSLContext verifying(Optional<Path> caFile) {
        return VERIFYING.computeIfAbsent(caFile, f -> {
            List<X509ExtendedTrustManager> managers = new ArrayList<>();
            managers.add(trustManager(null));
            f.ifPresent(file -> managers.add(trustManager(readCas(file))));
            return context(managers.size() == 1 ? managers.get(0) : new AnyOf(managers));
        });
    }

    private static SSLContext context(X509ExtendedTrustManager trust) {
        try {
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(null, new TrustManager[] {trust}, null);
            return context;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("the JDK has no TLS context: " + e.getMessage(), e);
        }
    }

    private static X509ExtendedTrustManager trustManager(KeyStore anchors) {
        try {
            TrustManagerFactory factory = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            factory.init(anchors);
            for (TrustManager m : factory.getTrustManagers()) {
                if (m instanceof X509ExtendedTrustManager x) return x;
            }
            throw new IllegalStateException("the JDK returned no X.509 trust manager");
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("cannot build a trust manager: " + e.getMessage(), e);
        }
    }

    private static KeyStore readCas(Path file) {
        try (InputStream in = Files.newInputStream(file)) {
            KeyStore store = KeyStore.getInstance(KeyStore.getDefaultType());
            store.load(null, null);
            int i = 0;
            for (var c : CertificateFactory.getInstance("X.509").generateCertificates(in)) {
                store.setCertificateEntry("ca-" + i++, c);
            }
            if (i == 0) throw new IllegalStateException(file + ": no certificate in the CA file");
            return store;
        } catch (IOException | GeneralSecurityException e) {
            throw new IllegalStateException(file + ": cannot read the CA file: " + e.getMessage(), e);
        }
    }

    /** A trust manager of a client: it never checks client certificates. */
    abstract static class ServerOnly extends X509ExtendedTrustManager {
        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
            throw new CertificateException("an outbound session does not accept clients");
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
            throw new CertificateException("an outbound session does not accept clients");
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
            throw new CertificateException("an outbound session does not accept clients");
        }
    }

    /** Trusted when any of the managers trusts it (the system store, then the route's CA file). */
    private static final class AnyOf extends ServerOnly {
        private final List<X509ExtendedTrustManager> managers;

        AnyOf(List<X509ExtendedTrustManager> managers) {
            this.managers = List.copyOf(managers);
        }

        private interface Check {
            void run(X509ExtendedTrustManager m) throws CertificateException;
        }

        private void any(Check check) throws CertificateException {
            CertificateException last = null;
            for (X509ExtendedTrustManager m : managers) {
                try {
                    check.run(m);
                    return;
                } catch (CertificateException e) {
                    last = e;
                }
            }
            throw last;
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
            any(m -> m.checkServerTrusted(chain, authType, socket));
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
            any(m -> m.checkServerTrusted(chain, authType, engine));
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
            any(m -> m.checkServerTrusted(chain, authType));
        }

        @Override
        public X509Certificate[] getAcceptedIssuers() {
            return managers.stream().flatMap(m -> java.util.Arrays.stream(m.getAcceptedIssuers())).toArray(X509Certificate[]::new);
        }
    }

    /** Opportunistic TLS: every certificate (RFC 7435 §1.3, RFC 7672 §1.3's "opportunistic" without DANE). */
    private static final class AcceptAny extends ServerOnly {
        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) {
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) {
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType) {
        }

        @Override
        public X509Certificate[] getAcceptedIssuers() {
            return new X509Certificate[0];
        }
    }
}
