package org.castellan.security.tls;

import java.security.cert.X509Certificate;
import java.util.List;

/**
 * What became of the client certificate in a TLS handshake; read it with
 * {@link TlsPolicy#peerVerification(javax.net.ssl.SSLSession)}.
 *
 * <p>Only {@link Verified} means the certificate chains to one of the policy's trust anchors, is
 * within its validity, has the clientAuth usage and (when CRLs are configured) is not revoked. In
 * {@link TlsPolicy.ClientCertMode#REQUEST} mode a {@link Rejected} certificate still completes
 * the handshake, so {@code SSLSession.getPeerCertificates()} alone proves nothing.
 */
public sealed interface PeerVerification {

    /** The client presented no certificate (or the listener did not ask for one). */
    record None() implements PeerVerification {}

    /** The chain, leaf first, verified against the trust anchors. */
    record Verified(List<X509Certificate> chain) implements PeerVerification {
        public Verified {
            chain = List.copyOf(chain);
        }

        public X509Certificate leaf() {
            return chain.get(0);
        }
    }

    /** A certificate was presented but did not verify; {@code reason} is for the log. */
    record Rejected(List<X509Certificate> chain, String reason) implements PeerVerification {
        public Rejected {
            chain = List.copyOf(chain);
        }
    }
}
