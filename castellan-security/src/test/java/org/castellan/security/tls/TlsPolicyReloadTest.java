package org.castellan.security.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import org.castellan.protocol.mail.EmailAddress;
import org.castellan.security.pki.CertificateAuthority;
import org.castellan.security.pki.CertificateKind;
import org.castellan.security.pki.IssuedCertificate;
import org.castellan.security.pki.RevocationReason;
import org.castellan.testkit.TestPki;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** CRLs re-read while the policy is in use: a new revocation takes effect, a broken file does not. */
class TlsPolicyReloadTest {

    @TempDir Path dir;

    @Test
    void reloadedCrlsMarkNewRevocationsAndABrokenFileKeepsTheOldOnes() throws Exception {
        TestPki server = TestPki.create(Files.createDirectories(dir.resolve("server")));
        CertificateAuthority ca = CertificateAuthority.initialize(dir.resolve("pki"), "Test");
        TlsPolicy policy = TlsPolicy.builder(TlsPolicy.Preset.INTERMEDIATE, server.server().chainFile(),
                        server.server().keyFile())
                .clientCaFiles(List.of(ca.caCertificateFile(CertificateKind.DEVICE)))
                .crlFiles(List.of(ca.crlFile(CertificateKind.DEVICE)))
                .build();
        IssuedCertificate device = ca.issueDevice("laptop", EmailAddress.of("a@example.org"), Duration.ofDays(30));
        assertThat(policy.revoked(device.certificate())).isFalse();

        ca.revoke(device.certificate().getSerialNumber(), RevocationReason.KEY_COMPROMISE);
        assertThat(policy.revoked(device.certificate())).as("not before the reload").isFalse();
        assertThat(policy.reloadCrls()).isTrue();
        assertThat(policy.revoked(device.certificate())).isTrue();

        Files.writeString(ca.crlFile(CertificateKind.DEVICE), "not a CRL");
        assertThat(policy.reloadCrls()).isFalse();
        assertThat(policy.revoked(device.certificate())).as("the old CRL stays in force").isTrue();
        assertThat(policy.describe().crls()).isEqualTo(1);
    }

    @ParameterizedTest
    @EnumSource(TlsPolicy.Provider.class)
    void aReloadAppliesToTheNextHandshakeAndACaWithoutCrlIsStillTrusted(TlsPolicy.Provider provider) throws Exception {
        TestPki other = TestPki.create(Files.createDirectories(dir.resolve("other")));
        CertificateAuthority ca = CertificateAuthority.initialize(dir.resolve("pki"), "Test");
        TlsPolicy policy = TlsPolicy.builder(TlsPolicy.Preset.INTERMEDIATE, other.server().chainFile(),
                        other.server().keyFile())
                .clientCaFiles(List.of(other.issuingCa().certificateFile(), ca.caCertificateFile(CertificateKind.DEVICE)))
                .crlFiles(List.of(ca.crlFile(CertificateKind.DEVICE)))
                .provider(provider)
                .build();
        IssuedCertificate device = ca.issueDevice("laptop", EmailAddress.of("a@example.org"), Duration.ofDays(30));
        SSLContext deviceClient = client(other, device);
        try (TlsTestServer server = new TlsTestServer(policy, TlsPolicy.ClientCertMode.REQUEST)) {
            assertThat(greeting(server, deviceClient)).contains("peer=verified:CN=laptop");
            assertThat(greeting(server, other.clientContext(other.client()))).as("a client CA without a CRL here")
                    .contains("peer=verified:");

            ca.revoke(device.certificate().getSerialNumber(), RevocationReason.SUPERSEDED);
            assertThat(policy.reloadCrls()).isTrue();
            assertThat(greeting(server, deviceClient)).contains("peer=rejected");
            assertThat(greeting(server, other.clientContext(other.client()))).contains("peer=verified:");
        }
    }

    /**
     * With verified sessions resumable (the links between nodes, docs/roles.md §2), a revocation
     * learnt from the shared directory ends resumption as a CRL reload does: the next connection
     * makes a full handshake, whatever ticket the client holds. The same revocations given again
     * change nothing.
     */
    @Test
    void aRevocationFromElsewhereEndsTheResumptionOfEarlierTickets() throws Exception {
        TestPki other = TestPki.create(Files.createDirectories(dir.resolve("other")));
        CertificateAuthority ca = CertificateAuthority.initialize(dir.resolve("pki"), "Test");
        TlsPolicy policy = TlsPolicy.builder(TlsPolicy.Preset.INTERMEDIATE, other.server().chainFile(),
                        other.server().keyFile())
                .clientCaFiles(List.of(ca.caCertificateFile(CertificateKind.DEVICE)))
                .crlFiles(List.of(ca.crlFile(CertificateKind.DEVICE)))
                .provider(TlsPolicy.Provider.BORINGSSL)
                .resumeVerifiedSessions()
                .build();
        IssuedCertificate laptop = ca.issueDevice("laptop", EmailAddress.of("a@example.org"), Duration.ofDays(30));
        IssuedCertificate phone = ca.issueDevice("phone", EmailAddress.of("a@example.org"), Duration.ofDays(30));
        var revoked = Map.of(phone.certificate().getIssuerX500Principal(), Set.of(phone.certificate().getSerialNumber()));
        SSLContext laptopClient = client(other, laptop);
        try (TlsTestServer server = TlsTestServer.reportingResumption(policy, TlsPolicy.ClientCertMode.REQUIRE)) {
            assertThat(greeting(server, laptopClient)).contains("peer=verified:CN=laptop").endsWith(" resumed=no");
            assertThat(greeting(server, laptopClient)).contains("peer=verified:CN=laptop").endsWith(" resumed=yes");

            policy.revokeElsewhere(revoked);
            assertThat(greeting(server, laptopClient)).as("no ticket from before the revocation resumes")
                    .contains("peer=verified:CN=laptop").endsWith(" resumed=no");
            assertThat(greeting(server, laptopClient)).endsWith(" resumed=yes");

            policy.revokeElsewhere(revoked);
            assertThat(greeting(server, laptopClient)).as("nothing newly revoked").endsWith(" resumed=yes");
        }
    }

    private static SSLContext client(TestPki trust, IssuedCertificate certificate) throws Exception {
        KeyStore keys = KeyStore.getInstance("PKCS12");
        keys.load(null, null);
        keys.setKeyEntry("device", certificate.privateKey(), new char[0],
                certificate.chain().toArray(new java.security.cert.Certificate[0]));
        KeyManagerFactory kmf = KeyManagerFactory.getInstance("PKIX");
        kmf.init(keys, new char[0]);
        TrustManagerFactory tmf = TrustManagerFactory.getInstance("PKIX");
        tmf.init(trust.trustStore());
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(kmf.getKeyManagers(), tmf.getTrustManagers(), null);
        return context;
    }

    private static String greeting(TlsTestServer server, SSLContext client) throws Exception {
        try (SSLSocket socket = (SSLSocket) client.getSocketFactory().createSocket("127.0.0.1", server.port())) {
            socket.setSoTimeout(20_000);
            socket.startHandshake();
            return new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.US_ASCII)).readLine();
        }
    }

    @Test
    void aCrlNotSignedByAClientCaIsRefused() throws Exception {
        TestPki server = TestPki.create(Files.createDirectories(dir.resolve("server")));
        CertificateAuthority ca = CertificateAuthority.initialize(dir.resolve("pki"), "Test");
        assertThatThrownBy(() -> TlsPolicy.builder(TlsPolicy.Preset.INTERMEDIATE, server.server().chainFile(),
                        server.server().keyFile())
                .clientCaFiles(List.of(ca.caCertificateFile(CertificateKind.DEVICE)))
                .crlFiles(List.of(ca.crlFile(CertificateKind.USER)))
                .build())
                .isInstanceOf(TlsConfigException.class)
                .hasMessageContaining("user-ca.crl");
    }
}
