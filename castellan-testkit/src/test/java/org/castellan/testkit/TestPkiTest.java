package org.castellan.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.cert.CertificateExpiredException;
import java.security.cert.CertificateFactory;
import java.security.cert.CertificateNotYetValidException;
import java.security.cert.X509CRL;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TestPkiTest {

    @TempDir static Path dir;
    static TestPki pki;

    @BeforeAll
    static void build() {
        pki = TestPki.create(dir);
    }

    @Test
    void keysAreOwnerOnlyAndCertificatesArePem() throws Exception {
        for (TestCertificate c : new TestCertificate[] {pki.server(), pki.client(), pki.root()}) {
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(c.keyFile())))
                    .isEqualTo("rw-------");
            assertThat(Files.readString(c.chainFile())).startsWith("-----BEGIN CERTIFICATE-----");
            assertThat(Files.readString(c.keyFile())).startsWith("-----BEGIN PRIVATE KEY-----");
        }
    }

    @Test
    void validityProfilesAreWhatTheirNamesSay() throws Exception {
        pki.client().certificate().checkValidity();
        assertThatThrownBy(() -> pki.expiredClient().certificate().checkValidity())
                .isInstanceOf(CertificateExpiredException.class);
        assertThatThrownBy(() -> pki.notYetValidClient().certificate().checkValidity())
                .isInstanceOf(CertificateNotYetValidException.class);
        assertThat(pki.wrongUsageClient().certificate().getExtendedKeyUsage())
                .containsExactly("1.3.6.1.5.5.7.3.1");
        assertThat(pki.client().certificate().getExtendedKeyUsage())
                .contains("1.3.6.1.5.5.7.3.2");
    }

    @Test
    void crlListsOnlyTheRevokedCertificate() throws Exception {
        X509CRL crl;
        try (InputStream in = Files.newInputStream(pki.crlFile())) {
            crl = (X509CRL) CertificateFactory.getInstance("X.509").generateCRL(in);
        }
        crl.verify(pki.issuingCa().certificate().getPublicKey());
        assertThat(crl.isRevoked(pki.revokedClient().certificate())).isTrue();
        assertThat(crl.isRevoked(pki.client().certificate())).isFalse();
    }

    @Test
    void chainsVerifyUpToTheirIssuer() throws Exception {
        pki.server().certificate().verify(pki.issuingCa().certificate().getPublicKey());
        pki.issuingCa().certificate().verify(pki.root().certificate().getPublicKey());
        assertThat(pki.server().chain()).hasSize(2);
        assertThatThrownBy(() -> pki.untrustedClient().certificate()
                        .verify(pki.issuingCa().certificate().getPublicKey()))
                .isInstanceOf(java.security.SignatureException.class);
    }
}
