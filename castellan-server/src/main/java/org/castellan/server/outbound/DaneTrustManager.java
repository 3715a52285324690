package org.castellan.server.outbound;

import java.net.Socket;
import java.security.GeneralSecurityException;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.util.List;
import java.util.Optional;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManager;
import org.castellan.server.dns.MailRouting.TlsaRecord;

/**
 * The trust manager of one outbound TLS handshake with an MX host that has DNSSEC-validated TLSA
 * records: the server's chain is accepted exactly when {@link DaneVerifier} authenticates it, and
 * the decision (which record matched, or why none did) is kept for the queue log and TLS-RPT.
 *
 * <p>SECURITY: trusts the TLSA records alone, not the system's CA store, and ignores the socket's
 * endpoint identification: DANE-EE ignores names by design (RFC 7672 §3.1.1) and DANE-TA checks
 * the MX host name itself (RFC 7672 §3.2.3). With no usable record it accepts any certificate
 * (RFC 7672 §2.2: TLS is required, authentication is not). One instance per handshake.
 *
 * <p>Failure: a chain no usable record authenticates makes the handshake fail with a
 * {@link Mismatch} naming each record and why it did not match.
 */
public final class DaneTrustManager extends OutboundTlsContexts.ServerOnly {

    private final List<TlsaRecord> records;
    private final String mxHost;
    private final Clock clock;
    private volatile DaneVerifier.Decision decision;

    /** No usable TLSA record authenticates the server's chain (TLS-RPT's {@code tlsa-invalid}). */
    public static final class Mismatch extends CertificateException {
        private static final long serialVersionUID = 1L;

        Mismatch(String reason) {
            super("DANE: " + reason);
        }
    }

    public DaneTrustManager(List<TlsaRecord> records, String mxHost, Clock clock) {
        this.records = List.copyOf(records);
        this.mxHost = mxHost;
        this.clock = clock;
    }

    /** A TLS client context whose only trust manager is this one. */
    public SSLContext sslContext() {
        try {
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(null, new TrustManager[] {this}, null);
            return context;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("the JDK has no TLS context: " + e.getMessage(), e);
        }
    }

    /** The decision of the last handshake, empty before one reached certificate checking. */
    public Optional<DaneVerifier.Decision> decision() {
        return Optional.ofNullable(decision);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        DaneVerifier.Decision d = DaneVerifier.verify(records, chain, mxHost, clock.instant());
        decision = d;
        if (d instanceof DaneVerifier.Failed f) throw new Mismatch(f.reason());
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
        checkServerTrusted(chain, authType);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
        checkServerTrusted(chain, authType);
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
        return new X509Certificate[0];
    }
}
