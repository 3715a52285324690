package org.castellan.security.pki;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.security.KeyPairGenerator;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import org.castellan.protocol.mail.EmailAddress;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link CertificateAuthority#issueForKey}: the holder's key certified with the device or user
 * profile, keyUsage fitting the key, indexed (so it can be revoked) with its owner.
 */
class IssueForKeyTest {

    private static final EmailAddress ALICE = EmailAddress.of("alice@example.org");
    /** keyUsage bits as X509Certificate.getKeyUsage() reports them. */
    private static final int DIGITAL_SIGNATURE = 0;
    private static final int KEY_ENCIPHERMENT = 2;
    private static final int KEY_AGREEMENT = 4;

    @TempDir Path temp;

    @Test
    void aDeviceCertificateForTheHoldersKey() throws Exception {
        CertificateAuthority ca = CertificateAuthority.initialize(temp.resolve("pki"), "Example Org");
        var keys = KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
        List<X509Certificate> chain = ca.issueForKey(CertificateKind.DEVICE, "laptop", ALICE, keys.getPublic(), Duration.ofDays(30));
        X509Certificate leaf = chain.get(0);
        assertThat(leaf.getPublicKey()).isEqualTo(keys.getPublic());
        assertThat(leaf.getSubjectX500Principal().getName()).contains("CN=laptop");
        assertThat(leaf.getExtendedKeyUsage()).containsExactly("1.3.6.1.5.5.7.3.2");
        assertThat(leaf.getKeyUsage()[DIGITAL_SIGNATURE]).isTrue();
        assertThat(leaf.getKeyUsage()[KEY_AGREEMENT]).isFalse();
        leaf.verify(ca.caCertificate(CertificateKind.DEVICE).getPublicKey());
        assertThat(chain.get(1)).isEqualTo(ca.caCertificate(CertificateKind.DEVICE));
        IssuedEntry entry = ca.find(leaf.getSerialNumber()).orElseThrow();
        assertThat(entry.owner()).isEqualTo("alice@example.org");
        assertThat(entry.kind()).isEqualTo(CertificateKind.DEVICE);
    }

    @Test
    void aUserCertificateKeyUsageFollowsTheKey() throws Exception {
        CertificateAuthority ca = CertificateAuthority.initialize(temp.resolve("pki"), "Example Org");
        KeyPairGenerator rsa = KeyPairGenerator.getInstance("RSA");
        rsa.initialize(2048);
        X509Certificate rsaLeaf = ca.issueForKey(CertificateKind.USER, ALICE.toString(), ALICE, rsa.generateKeyPair().getPublic(),
                Duration.ofDays(30)).get(0);
        assertThat(rsaLeaf.getKeyUsage()[KEY_ENCIPHERMENT]).isTrue(); // RSA key transport for S/MIME, RFC 8550 §4.4.2
        assertThat(rsaLeaf.getKeyUsage()[KEY_AGREEMENT]).isFalse();
        assertThat(rsaLeaf.getSubjectAlternativeNames()).containsExactly(List.of(1, "alice@example.org"));
        KeyPairGenerator ec = KeyPairGenerator.getInstance("EC");
        X509Certificate ecLeaf = ca.issueForKey(CertificateKind.USER, ALICE.toString(), ALICE, ec.generateKeyPair().getPublic(),
                Duration.ofDays(30)).get(0);
        assertThat(ecLeaf.getKeyUsage()[KEY_AGREEMENT]).isTrue(); // ECDH for S/MIME, RFC 5753
    }

    @Test
    void whatTheProfilesForbidIsRefused() throws Exception {
        CertificateAuthority ca = CertificateAuthority.initialize(temp.resolve("pki"), "Example Org");
        var key = KeyPairGenerator.getInstance("EC").generateKeyPair().getPublic();
        assertThatThrownBy(() -> ca.issueForKey(CertificateKind.USER, "bob@example.org", ALICE, key, Duration.ofDays(1)))
                .isInstanceOf(PkiException.class).hasMessageContaining("names its owner");
        assertThatThrownBy(() -> ca.issueForKey(CertificateKind.DEVICE, "no spaces", ALICE, key, Duration.ofDays(1)))
                .isInstanceOf(PkiException.class).hasMessageContaining("not a device name");
        assertThatThrownBy(() -> ca.issueForKey(CertificateKind.SERVER, "host", ALICE, key, Duration.ofDays(1)))
                .isInstanceOf(PkiException.class);
        assertThat(ca.issued()).isEmpty();
    }
}
