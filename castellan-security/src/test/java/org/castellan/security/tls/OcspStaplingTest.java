package org.castellan.security.tls;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.castellan.security.pki.CertificateAuthority;
import org.castellan.security.pki.IssuedCertificate;
import org.castellan.security.pki.OcspResponder;
import org.castellan.testkit.TestPki;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What {@link TlsPolicy#stapling} tells {@code castellan audit} about each server certificate. */
class OcspStaplingTest {

    @TempDir Path temp;

    @Test
    void theAuditLearnsWhereEachStapleComesFromOrWhyThereIsNone() throws Exception {
        CertificateAuthority ca = CertificateAuthority.initialize(temp.resolve("pki"), "Example Org");
        IssuedCertificate.Files own = ca.issueServer(List.of("mail.example.org"), List.of(), Duration.ofDays(30))
                .writeTo(temp.resolve("own"));
        OcspStapling stapling = new OcspStapling(Optional.of(OcspResponder.open(ca, Clock.systemUTC())), Clock.systemUTC());

        TlsPolicy boring = TlsPolicy.builder(TlsPolicy.Preset.INTERMEDIATE, own.chain(), own.key())
                .provider(TlsPolicy.Provider.BORINGSSL).stapling(stapling).build();
        assertThat(boring.stapling()).containsExactly(
                java.util.Map.entry("CN=mail.example.org,O=Example Org", "from the built-in CA's OCSP responder"));

        TlsPolicy jdk = TlsPolicy.builder(TlsPolicy.Preset.INTERMEDIATE, own.chain(), own.key())
                .provider(TlsPolicy.Provider.JDK).stapling(stapling).build();
        assertThat(jdk.stapling().values()).singleElement().asString().startsWith("none: the JDK's TLS");

        // A certificate of another CA whose AIA names no responder.
        TestPki external = TestPki.create(java.nio.file.Files.createDirectories(temp.resolve("external")));
        TlsPolicy other = TlsPolicy.builder(TlsPolicy.Preset.INTERMEDIATE, external.server().chainFile(),
                external.server().keyFile()).provider(TlsPolicy.Provider.BORINGSSL).stapling(stapling).build();
        assertThat(other.stapling().values()).singleElement().asString()
                .isEqualTo("none: the certificate names no OCSP responder (Authority Information Access)");

        TlsPolicy off = TlsPolicy.builder(TlsPolicy.Preset.INTERMEDIATE, own.chain(), own.key()).build();
        assertThat(off.stapling().values()).containsExactly("none: stapling is off");
    }
}
