package org.castellan.security.tls.internal;

import java.net.Socket;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedTrustManager;
import javax.security.auth.x500.X500Principal;

/**
 * Sends a client chain to one of two trust managers by the issuer of its leaf: to
 * {@code unchecked} when a trust anchor without a CRL issued the leaf directly, to
 * {@code checked} (PKIX with CRLs) otherwise. Each trusts only its own anchors, so choosing the
 * half never widens what is trusted.
 */
public final class IssuerSplitTrustManager extends ClientTrustManager {

    private final X509ExtendedTrustManager checked;
    private final X509ExtendedTrustManager unchecked;
    private final Set<X500Principal> uncheckedIssuers;

    public IssuerSplitTrustManager(X509ExtendedTrustManager checked, X509ExtendedTrustManager unchecked,
            Set<X500Principal> uncheckedIssuers) {
        this.checked = checked;
        this.unchecked = unchecked;
        this.uncheckedIssuers = Set.copyOf(uncheckedIssuers);
    }

    private X509ExtendedTrustManager forChain(X509Certificate[] chain) {
        boolean direct = chain != null && chain.length > 0
                && uncheckedIssuers.contains(chain[0].getIssuerX500Principal());
        return direct ? unchecked : checked;
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
            throws CertificateException {
        forChain(chain).checkClientTrusted(chain, authType, engine);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
            throws CertificateException {
        forChain(chain).checkClientTrusted(chain, authType, socket);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        forChain(chain).checkClientTrusted(chain, authType);
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
        List<X509Certificate> all = new ArrayList<>(List.of(checked.getAcceptedIssuers()));
        all.addAll(List.of(unchecked.getAcceptedIssuers()));
        return all.toArray(new X509Certificate[0]);
    }
}
