package org.castellan.security.tls.internal;

import java.net.Socket;
import java.security.GeneralSecurityException;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Optional;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedTrustManager;
import org.castellan.security.pki.OcspClient;

/**
 * After PKIX has accepted a client chain, asks the leaf's OCSP responder (when the leaf names
 * one) whether it is revoked. Revoked always fails; a responder that gives no usable answer, or
 * says "unknown", fails only when {@code hardFail}, else the certificate is accepted and one WARN
 * line says so.
 *
 * <p>It blocks on HTTP when the answer is not cached: the TLS policy runs it as a delegated task
 * on its own executor, never on an event loop.
 */
public final class OcspTrustManager extends ClientTrustManager {

    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(OcspTrustManager.class);

    private final X509ExtendedTrustManager pkix;
    private final OcspClient ocsp;
    private final boolean hardFail;
    private final List<X509Certificate> anchors;

    public OcspTrustManager(X509ExtendedTrustManager pkix, OcspClient ocsp, boolean hardFail,
            List<X509Certificate> anchors) {
        this.pkix = pkix;
        this.ocsp = ocsp;
        this.hardFail = hardFail;
        this.anchors = List.copyOf(anchors);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
            throws CertificateException {
        pkix.checkClientTrusted(chain, authType, engine);
        checkStatus(chain);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
            throws CertificateException {
        pkix.checkClientTrusted(chain, authType, socket);
        checkStatus(chain);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        pkix.checkClientTrusted(chain, authType);
        checkStatus(chain);
    }

    private void checkStatus(X509Certificate[] chain) throws CertificateException {
        X509Certificate leaf = chain[0];
        if (OcspClient.responder(leaf).isEmpty()) return;
        Optional<X509Certificate> issuer = issuerOf(leaf, chain, anchors);
        if (issuer.isEmpty()) {
            // PKIX accepted the chain, so an issuer exists; not finding it here is a bug, not the client's doing.
            throw new CertificateException("the issuer of " + leaf.getSubjectX500Principal() + " is not at hand for OCSP");
        }
        switch (ocsp.check(leaf, issuer.get())) {
            case OcspClient.Status.Good good -> { }
            case OcspClient.Status.Revoked revoked -> throw new CertificateException(
                    "certificate serial " + leaf.getSerialNumber().toString(16) + " was revoked at " + revoked.at()
                            + " (OCSP)");
            case OcspClient.Status.Unknown unknown -> undetermined(leaf, "the OCSP responder does not know it");
            case OcspClient.Status.Unavailable unavailable -> undetermined(leaf, unavailable.reason());
        }
    }

    private void undetermined(X509Certificate leaf, String reason) throws CertificateException {
        String serial = leaf.getSerialNumber().toString(16);
        if (hardFail) {
            throw new CertificateException("revocation status of certificate serial " + serial
                    + " unknown and ocsp = \"hard-fail\": " + reason);
        }
        log.warn("accepting client certificate serial {} ({}) without an OCSP answer (ocsp = \"soft-fail\"): {}",
                serial, leaf.getSubjectX500Principal().getName(), reason);
    }

    /** The certificate among the chain's others and the anchors whose key signed {@code leaf}. */
    public static Optional<X509Certificate> issuerOf(X509Certificate leaf, X509Certificate[] chain,
            List<X509Certificate> anchors) {
        for (int i = 1; i < chain.length; i++) {
            if (signed(chain[i], leaf)) return Optional.of(chain[i]);
        }
        for (X509Certificate anchor : anchors) {
            if (signed(anchor, leaf)) return Optional.of(anchor);
        }
        return Optional.empty();
    }

    private static boolean signed(X509Certificate issuer, X509Certificate leaf) {
        if (!issuer.getSubjectX500Principal().equals(leaf.getIssuerX500Principal())) return false;
        try {
            leaf.verify(issuer.getPublicKey());
            return true;
        } catch (GeneralSecurityException e) {
            return false;
        }
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
        return pkix.getAcceptedIssuers();
    }
}
