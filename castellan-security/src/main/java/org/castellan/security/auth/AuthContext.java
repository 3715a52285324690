package org.castellan.security.auth;

import java.net.InetAddress;
import java.security.cert.X509Certificate;
import java.util.Objects;
import java.util.Optional;

/**
 * Where an authentication attempt comes from, built by the protocol session from its connection.
 *
 * @param listener the listener's configured name, for the log
 * @param protocol {@code "smtp"}, {@code "imap"} or {@code "pop3"}
 * @param remote the client's address (after the PROXY header, when a trusted upstream sent one)
 * @param tls whether the connection is inside TLS now (implicit TLS or after STARTTLS)
 * @param cleartextAllowed whether this listener allows credentials without TLS (docs/design.md §5.1)
 * @param channelBinding the TLS channel binding, when the TLS engine can export one
 * @param clientCertificate the client's certificate, present only when the handshake verified it
 * @param tlsVersion the negotiated TLS protocol ({@code TLSv1.3}), for the auth log; empty without TLS
 * @param certificateForPassword whether this listener's password logins also need a client certificate
 * @param session the connection's id in the server log, so that the auth line joins its session's lines
 */
public record AuthContext(String listener, String protocol, InetAddress remote, boolean tls,
        boolean cleartextAllowed, Optional<ChannelBinding> channelBinding,
        Optional<X509Certificate> clientCertificate, Optional<String> tlsVersion,
        CertificateForPassword certificateForPassword, String session) {

    /** A context outside any logged connection (tests, benchmarks, the configuration audit). */
    public AuthContext(String listener, String protocol, InetAddress remote, boolean tls, boolean cleartextAllowed,
            Optional<ChannelBinding> channelBinding, Optional<X509Certificate> clientCertificate,
            Optional<String> tlsVersion, CertificateForPassword certificateForPassword) {
        this(listener, protocol, remote, tls, cleartextAllowed, channelBinding, clientCertificate, tlsVersion,
                certificateForPassword, "-");
    }

    /** A context whose listener lets a password alone log in. */
    public AuthContext(String listener, String protocol, InetAddress remote, boolean tls, boolean cleartextAllowed,
            Optional<ChannelBinding> channelBinding, Optional<X509Certificate> clientCertificate,
            Optional<String> tlsVersion) {
        this(listener, protocol, remote, tls, cleartextAllowed, channelBinding, clientCertificate, tlsVersion,
                CertificateForPassword.NO);
    }

    /** A context whose TLS version is not known (tests, the configuration audit). */
    public AuthContext(String listener, String protocol, InetAddress remote, boolean tls, boolean cleartextAllowed,
            Optional<ChannelBinding> channelBinding, Optional<X509Certificate> clientCertificate) {
        this(listener, protocol, remote, tls, cleartextAllowed, channelBinding, clientCertificate, Optional.empty(),
                CertificateForPassword.NO);
    }

    public AuthContext {
        Objects.requireNonNull(listener, "listener");
        Objects.requireNonNull(protocol, "protocol");
        Objects.requireNonNull(remote, "remote");
        Objects.requireNonNull(channelBinding, "channelBinding");
        Objects.requireNonNull(clientCertificate, "clientCertificate");
        Objects.requireNonNull(tlsVersion, "tlsVersion");
        Objects.requireNonNull(certificateForPassword, "certificateForPassword");
        Objects.requireNonNull(session, "session");
    }
}
