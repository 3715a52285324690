package org.castellan.security.tls.internal;

import java.net.Socket;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.function.Predicate;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLSession;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.X509ExtendedTrustManager;
import org.castellan.security.tls.PeerVerification;

/**
 * Verifies client certificates with a PKIX trust manager and writes the outcome into the
 * handshake session, where {@code TlsPolicy.peerVerification} finds it.
 *
 * <p>When {@code optional}, a certificate that fails verification does not fail the handshake:
 * the client goes on as if it had presented none, which is what "request a certificate" means
 * for a listener that also accepts password logins. When not optional the failure is recorded
 * and rethrown, and the handshake fails.
 *
 * <p>The outcome is recorded positively: a session without a {@link PeerVerification.Verified}
 * value was not verified, whatever its peer certificates say.
 */
public final class RecordingTrustManager extends ClientTrustManager {

    /** Session value name; a name no application would pick by chance. */
    public static final String SESSION_KEY = "org.castellan.security.tls.PeerVerification";

    // Swapped when the CRLs are reloaded; SslContexts keep this object, so the next handshake
    // verifies against the new revocation data without rebuilding any context.
    private volatile X509ExtendedTrustManager delegate;
    private final boolean optional;
    /** Leaves revoked besides those the delegate's CRLs list: other nodes' revocations. */
    private volatile Predicate<X509Certificate> alsoRevoked = leaf -> false;

    public RecordingTrustManager(X509ExtendedTrustManager delegate, boolean optional) {
        this.delegate = delegate;
        this.optional = optional;
    }

    /** From the next handshake on, also refuses a chain whose leaf {@code revoked} accepts. */
    public void alsoRefuse(Predicate<X509Certificate> revoked) {
        this.alsoRevoked = java.util.Objects.requireNonNull(revoked, "revoked");
    }

    /** A chain the delegate verified is refused still if its leaf is revoked elsewhere. */
    private void notRevokedElsewhere(X509Certificate[] chain) throws CertificateException {
        if (chain != null && chain.length > 0 && alsoRevoked.test(chain[0])) {
            throw new CertificateException("the certificate was revoked (the shared directory lists it)");
        }
    }

    /** Verifies every later handshake with {@code next} instead. */
    public void replaceDelegate(X509ExtendedTrustManager next) {
        this.delegate = java.util.Objects.requireNonNull(next, "next");
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
            throws CertificateException {
        SSLSession session = engine == null ? null : engine.getHandshakeSession();
        try {
            delegate.checkClientTrusted(chain, authType, engine);
            notRevokedElsewhere(chain);
            record(session, new PeerVerification.Verified(List.of(chain)));
        } catch (CertificateException | RuntimeException e) {
            rejected(session, chain, e);
        }
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
            throws CertificateException {
        SSLSession session = socket instanceof SSLSocket ssl ? ssl.getHandshakeSession() : null;
        try {
            delegate.checkClientTrusted(chain, authType, socket);
            notRevokedElsewhere(chain);
            record(session, new PeerVerification.Verified(List.of(chain)));
        } catch (CertificateException | RuntimeException e) {
            rejected(session, chain, e);
        }
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        try {
            delegate.checkClientTrusted(chain, authType);
            notRevokedElsewhere(chain);
        } catch (CertificateException | RuntimeException e) {
            rejected(null, chain, e);
        }
    }

    /** Verifies a chain outside a handshake, for a session whose handshake left no record. */
    public PeerVerification verify(X509Certificate[] chain) {
        try {
            delegate.checkClientTrusted(chain, "UNKNOWN");
            notRevokedElsewhere(chain);
            return new PeerVerification.Verified(List.of(chain));
        } catch (CertificateException | RuntimeException e) {
            return new PeerVerification.Rejected(List.of(chain), reason(e));
        }
    }

    private void rejected(SSLSession session, X509Certificate[] chain, Exception e) throws CertificateException {
        record(session, new PeerVerification.Rejected(chain == null ? List.of() : List.of(chain), reason(e)));
        if (optional) return;
        if (e instanceof CertificateException ce) throw ce;
        throw new CertificateException(reason(e), e);
    }

    private static String reason(Exception e) {
        return e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    }

    private static void record(SSLSession session, PeerVerification outcome) {
        if (session != null) session.putValue(SESSION_KEY, outcome);
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
        return delegate.getAcceptedIssuers();
    }
}
