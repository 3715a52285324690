package org.castellan.security.pki;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import org.castellan.protocol.mail.EmailAddress;
import org.castellan.testkit.MutableClock;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What the certificate directory publishes (docs/kms.md): user certificates valid now, by
 * address, oldest first; never a revoked one (from the next call, whichever process revoked it),
 * an expired or not yet valid one, or a device or server certificate.
 */
class CertificateDirectoryTest {

    @TempDir Path dir;

    @Test
    void listsValidUserCertificatesOnlyAndForgetsRevokedAndExpiredOnes() {
        CertificateAuthority ca = CertificateAuthority.initialize(dir, "Example Org");
        EmailAddress alice = EmailAddress.of("alice@example.org");
        IssuedCertificate shortLived = ca.issueUser(alice, Duration.ofDays(1));
        IssuedCertificate longLived = ca.issueUser(alice, Duration.ofDays(30));
        IssuedCertificate bob = ca.issueUser(EmailAddress.of("bob@example.org"), Duration.ofDays(30));
        ca.issueDevice("laptop", alice, Duration.ofDays(30));
        MutableClock clock = new MutableClock(Instant.now());
        CertificateDirectory directory = new CertificateDirectory(ca, clock);

        assertThat(directory.current()).extracting(CertificateDirectory.Listing::address)
                .containsExactly("alice@example.org", "bob@example.org");
        assertThat(directory.find("ALICE@example.org").orElseThrow().certificates())
                .containsExactly(shortLived.certificate(), longLived.certificate());
        assertThat(Files.exists(dir.resolve(CertificateAuthority.USER_CERTIFICATES)
                .resolve(bob.serialHex() + ".crt"))).isTrue();

        // Revoked by another process: a CA opened afresh on the same directory.
        CertificateAuthority.load(dir).revoke(bob.certificate().getSerialNumber(), RevocationReason.KEY_COMPROMISE);
        assertThat(directory.find("bob@example.org")).isEmpty();

        clock.advance(Duration.ofDays(2));
        assertThat(directory.find("alice@example.org").orElseThrow().certificates()).containsExactly(longLived.certificate());
        clock.advance(Duration.ofDays(30));
        assertThat(directory.current()).isEmpty();
    }
}
