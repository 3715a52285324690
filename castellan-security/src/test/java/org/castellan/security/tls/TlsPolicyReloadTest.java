package org.castellan.security.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.castellan.protocol.mail.EmailAddress;
import org.castellan.security.pki.CertificateAuthority;
import org.castellan.security.pki.CertificateKind;
import org.castellan.security.pki.IssuedCertificate;
import org.castellan.security.pki.RevocationReason;
import org.castellan.testkit.TestPki;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

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
