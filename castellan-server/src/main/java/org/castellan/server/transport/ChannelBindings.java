package org.castellan.server.transport;

import io.netty.handler.ssl.SslHandler;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.cert.Certificate;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.util.Locale;
import java.util.Optional;
import javax.net.ssl.ExtendedSSLSession;
import javax.net.ssl.SSLKeyException;
import javax.net.ssl.SSLSession;
import org.castellan.security.auth.ChannelBinding;
import org.castellan.security.tls.TlsPolicy;

/**
 * The TLS channel binding of a connection, for SCRAM-SHA-256-PLUS.
 *
 * <p>TLS 1.2 gets {@code tls-server-end-point} (RFC 5929 §4): the hash of the server certificate
 * the client saw. TLS 1.3 gets {@code tls-exporter} (RFC 9266), which clients use by default
 * there: with BoringSSL the value the policy derived from the connection's key log
 * ({@link TlsPolicy#tlsExporter}); with the JDK's TLS from JDK 25 on, the session's own exporter
 * ({@code ExtendedSSLSession.exportKeyingMaterialData}, looked up at run time because the build's
 * release level is 21). A TLS 1.3 connection without either gets no binding, and AuthService does
 * not offer the -PLUS mechanism: offering it with tls-server-end-point would fail clients that
 * rightly pick tls-exporter.
 */
public final class ChannelBindings {

    /** RFC 9266 §2: the exporter label; the context is empty and the length 32 bytes. */
    static final String EXPORTER_LABEL = "EXPORTER-Channel-Binding";
    static final int EXPORTER_LENGTH = 32;

    /** {@code ExtendedSSLSession.exportKeyingMaterialData(String, byte[], int)}, or null before JDK 25. */
    private static final MethodHandle EXPORT = exporter();

    /**
     * Whether a session class implements the exporter. Sessions of other providers (netty-tcnative's)
     * inherit the default, which throws; asking them would cost an exception on every AUTH.
     */
    private static final ClassValue<Boolean> EXPORTS = new ClassValue<>() {
        @Override
        protected Boolean computeValue(Class<?> type) {
            try {
                return type.getMethod("exportKeyingMaterialData", String.class, byte[].class, int.class)
                        .getDeclaringClass() != ExtendedSSLSession.class;
            } catch (NoSuchMethodException e) {
                return false;
            }
        }
    };

    private ChannelBindings() {}

    /**
     * Whether TLS 1.3 connections of this provider get a channel binding (tls-exporter), so that
     * SCRAM-SHA-256-PLUS is offered on them; TLS 1.2 connections always get tls-server-end-point.
     */
    public static boolean tls13Binding(TlsPolicy.Provider provider) {
        return provider == TlsPolicy.Provider.BORINGSSL ? TlsPolicy.exportsWithBoringSsl() : EXPORT != null;
    }

    static Optional<ChannelBinding> of(SslHandler tls) {
        if (tls == null || !tls.handshakeFuture().isSuccess()) return Optional.empty();
        SSLSession session = tls.engine().getSession();
        if ("TLSv1.3".equals(session.getProtocol())) {
            return TlsPolicy.tlsExporter(tls).map(data -> new ChannelBinding(ChannelBinding.TLS_EXPORTER, data))
                    .or(() -> exporter(session));
        }
        if (!"TLSv1.2".equals(session.getProtocol())) return Optional.empty();
        Certificate[] local = session.getLocalCertificates();
        if (local == null || local.length == 0 || !(local[0] instanceof X509Certificate cert)) return Optional.empty();
        return serverEndPoint(cert);
    }

    /** RFC 9266 §2: TLS-Exporter("EXPORTER-Channel-Binding", "", 32), if the engine can export. */
    static Optional<ChannelBinding> exporter(SSLSession session) {
        if (EXPORT == null || !(session instanceof ExtendedSSLSession) || !EXPORTS.get(session.getClass())) {
            return Optional.empty();
        }
        try {
            byte[] data = (byte[]) EXPORT.invoke(session, EXPORTER_LABEL, new byte[0], EXPORTER_LENGTH);
            return data == null ? Optional.empty() : Optional.of(new ChannelBinding(ChannelBinding.TLS_EXPORTER, data));
        } catch (UnsupportedOperationException | SSLKeyException e) {
            return Optional.empty();
        } catch (Throwable e) {
            throw new IllegalStateException("cannot export the tls-exporter channel binding", e);
        }
    }

    private static MethodHandle exporter() {
        try {
            return MethodHandles.publicLookup().findVirtual(ExtendedSSLSession.class, "exportKeyingMaterialData",
                    MethodType.methodType(byte[].class, String.class, byte[].class, int.class));
        } catch (NoSuchMethodException | IllegalAccessException e) {
            return null;
        }
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
