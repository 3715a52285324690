package org.castellan.server.config;

import java.net.URI;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import org.castellan.security.tls.TlsPolicy;

/**
 * The {@code [tls]} table: one set of TLS settings shared by every listener.
 *
 * <p>The constructor throws {@code NullPointerException} if a component is null.
 */
public record Tls(TlsPolicy.Preset preset, Path certificate, Path key, Path pkiDirectory, List<Path> clientCaFiles,
        List<Path> crlFiles, List<Path> sniCertificates, TlsPolicy.OcspMode ocsp, TlsPolicy.Provider provider,
        Optional<URI> pkiPublicUrl) {
    public Tls {
        Objects.requireNonNull(preset, "preset");
        Objects.requireNonNull(certificate, "certificate");
        Objects.requireNonNull(key, "key");
        Objects.requireNonNull(pkiDirectory, "pkiDirectory");
        clientCaFiles = List.copyOf(clientCaFiles);
        crlFiles = List.copyOf(crlFiles);
        sniCertificates = List.copyOf(sniCertificates);
        Objects.requireNonNull(ocsp, "ocsp");
        Objects.requireNonNull(provider, "provider");
        Objects.requireNonNull(pkiPublicUrl, "pkiPublicUrl");
    }

    /** Without a public URL for the built-in CA's revocation services. */
    public Tls(TlsPolicy.Preset preset, Path certificate, Path key, Path pkiDirectory, List<Path> clientCaFiles,
            List<Path> crlFiles, List<Path> sniCertificates, TlsPolicy.OcspMode ocsp, TlsPolicy.Provider provider) {
        this(preset, certificate, key, pkiDirectory, clientCaFiles, crlFiles, sniCertificates, ocsp, provider,
                Optional.empty());
    }

    /** Without SNI certificates, OCSP off, BoringSSL. */
    public Tls(TlsPolicy.Preset preset, Path certificate, Path key, Path pkiDirectory, List<Path> clientCaFiles,
            List<Path> crlFiles) {
        this(preset, certificate, key, pkiDirectory, clientCaFiles, crlFiles, List.of(), TlsPolicy.OcspMode.OFF,
                TlsPolicy.Provider.BORINGSSL);
    }

    /** Without external CRLs. */
    public Tls(TlsPolicy.Preset preset, Path certificate, Path key, Path pkiDirectory, List<Path> clientCaFiles) {
        this(preset, certificate, key, pkiDirectory, clientCaFiles, List.of());
    }
}
