package org.castellan.server.config;

import java.util.List;
import java.util.Objects;
import org.castellan.security.auth.CertificateForPassword;
import org.castellan.security.tls.TlsPolicy.ClientCertMode;

/**
 * One {@code [[listener]]}: a named socket speaking one protocol.
 *
 * @param address an IP literal or {@code "localhost"}, as written
 * @param port 0-65535; 0 binds any free port
 * @param cleartextAuth whether credentials are accepted before TLS is active
 * @param proxyFrom canonical CIDRs of proxies trusted to send a PROXY protocol header
 * @param acceptCleartextRisk the operator accepts that this listener takes cleartext credentials:
 *     {@code castellan audit} reports it but does not fail
 * @param certificateForPassword whether a password login here also needs a verified client certificate
 * @param limits the caps on one client's connections and the SMTP deadlines
 * @param edges on a {@link Protocol#LINK} listener, the canonical CIDRs of the edge nodes that may
 *     connect; every other address is refused at accept (CastellanConfig#connectionRules). Empty elsewhere.
 * <p>The constructor throws {@code NullPointerException} if a component is null and
 * {@code IllegalArgumentException} if the port is outside 0-65535.
 */
public record Listener(String name, Protocol protocol, String address, int port, TlsMode tls,
                       ClientCertMode clientCert, boolean cleartextAuth, List<String> proxyFrom,
                       boolean acceptCleartextRisk, CertificateForPassword certificateForPassword,
                       ConnectionLimits limits, List<String> edges) {

    /** RFC 793 §3.1: ports are 16-bit. */
    public static final int MAX_PORT = 65_535;

    public Listener {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(protocol, "protocol");
        Objects.requireNonNull(address, "address");
        Objects.requireNonNull(tls, "tls");
        Objects.requireNonNull(clientCert, "clientCert");
        Objects.requireNonNull(certificateForPassword, "certificateForPassword");
        Objects.requireNonNull(limits, "limits");
        if (port < 0 || port > MAX_PORT) {
            throw new IllegalArgumentException("port must be from 0 to " + MAX_PORT + ", got " + port);
        }
        proxyFrom = List.copyOf(proxyFrom);
        edges = List.copyOf(edges);
    }

    /** A listener of no link, so with no edges. */
    public Listener(String name, Protocol protocol, String address, int port, TlsMode tls,
                    ClientCertMode clientCert, boolean cleartextAuth, List<String> proxyFrom,
                    boolean acceptCleartextRisk, CertificateForPassword certificateForPassword,
                    ConnectionLimits limits) {
        this(name, protocol, address, port, tls, clientCert, cleartextAuth, proxyFrom, acceptCleartextRisk,
                certificateForPassword, limits, List.of());
    }

    /** A listener whose risks, if any, are not accepted. */
    public Listener(String name, Protocol protocol, String address, int port, TlsMode tls,
                    ClientCertMode clientCert, boolean cleartextAuth, List<String> proxyFrom) {
        this(name, protocol, address, port, tls, clientCert, cleartextAuth, proxyFrom, false);
    }

    /** A listener with the default {@link ConnectionLimits}. */
    public Listener(String name, Protocol protocol, String address, int port, TlsMode tls,
                    ClientCertMode clientCert, boolean cleartextAuth, List<String> proxyFrom,
                    boolean acceptCleartextRisk, CertificateForPassword certificateForPassword) {
        this(name, protocol, address, port, tls, clientCert, cleartextAuth, proxyFrom, acceptCleartextRisk,
                certificateForPassword, ConnectionLimits.DEFAULTS);
    }

    /** A listener where a password alone logs in. */
    public Listener(String name, Protocol protocol, String address, int port, TlsMode tls,
                    ClientCertMode clientCert, boolean cleartextAuth, List<String> proxyFrom,
                    boolean acceptCleartextRisk) {
        this(name, protocol, address, port, tls, clientCert, cleartextAuth, proxyFrom, acceptCleartextRisk,
                CertificateForPassword.NO);
    }

    /**
     * Whether a password may cross the network readable on this listener: cleartext
     * authentication is allowed and TLS is not in force from the first byte. The security audit
     * reports every such listener.
     */
    public boolean acceptsCleartextCredentials() {
        return cleartextAuth && tls != TlsMode.IMPLICIT;
    }
}
