package org.castellan.server.smtp;

import io.netty.handler.ssl.SslHandler;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.cert.Certificate;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.util.Locale;
import java.util.Optional;
import javax.net.ssl.SSLSession;
import org.castellan.security.auth.ChannelBinding;

/**
 * The TLS channel binding of a connection, for SCRAM-SHA-256-PLUS.
 *
 * <p>TLS 1.2 gets {@code tls-server-end-point} (RFC 5929 §4): the hash of the server certificate
 * the client saw. TLS 1.3 would need {@code tls-exporter} (RFC 9266), a keying-material export
 * that neither netty-tcnative nor the Java 21 API (the build's release level) offers; such
 * connections get no binding, and AuthService then does not offer the -PLUS mechanism.
 */
final class ChannelBindings {

    private ChannelBindings() {}

    static Optional<ChannelBinding> of(SslHandler tls) {
        if (tls == null || !tls.handshakeFuture().isSuccess()) return Optional.empty();
        SSLSession session = tls.engine().getSession();
        if (!"TLSv1.2".equals(session.getProtocol())) return Optional.empty();
        Certificate[] local = session.getLocalCertificates();
        if (local == null || local.length == 0 || !(local[0] instanceof X509Certificate cert)) return Optional.empty();
        return serverEndPoint(cert);
    }

    /**
     * RFC 5929 §4.1: the hash is the certificate signature's own, except that MD5 and SHA-1 are
     * replaced by SHA-256; a signature without a separate hash (Ed25519) has no binding.
     */
    static Optional<ChannelBinding> serverEndPoint(X509Certificate cert) {
        String sig = cert.getSigAlgName().toUpperCase(Locale.ROOT);
        if (!sig.contains("WITH")) return Optional.empty();
        String hash = sig.startsWith("SHA384") ? "SHA-384" : sig.startsWith("SHA512") ? "SHA-512" : "SHA-256";
        try {
            byte[] digest = MessageDigest.getInstance(hash).digest(cert.getEncoded());
            return Optional.of(new ChannelBinding(ChannelBinding.TLS_SERVER_END_POINT, digest));
        } catch (NoSuchAlgorithmException | CertificateEncodingException e) {
            throw new IllegalStateException("cannot compute tls-server-end-point with " + hash, e);
        }
    }
}
