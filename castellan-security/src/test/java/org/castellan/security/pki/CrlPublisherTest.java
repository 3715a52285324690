package org.castellan.security.pki;

import static org.assertj.core.api.Assertions.assertThat;
import static org.castellan.security.pki.OcspResponderTest.openssl;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The CRLs as the CRL distribution point hands them out, read by {@code openssl crl}. */
class CrlPublisherTest {

    @TempDir Path temp;

    @Test
    void theDerCrlParsesWithOpensslAndListsARevocationByAnotherProcess() throws Exception {
        Path pki = temp.resolve("pki");
        CertificateAuthority ca = CertificateAuthority.initialize(pki, "Example Org");
        CrlPublisher publisher = new CrlPublisher(ca, Clock.systemUTC());
        IssuedCertificate server = ca.issueServer(List.of("mail.example.org"), List.of(), Duration.ofDays(90));

        assertThat(crlText(publisher.crl(CertificateKind.SERVER))).contains("No Revoked Certificates");

        CertificateAuthority.load(pki).revoke(server.certificate().getSerialNumber(), RevocationReason.SUPERSEDED);
        String text = crlText(publisher.crl(CertificateKind.SERVER));
        assertThat(text).containsIgnoringCase("Serial Number: " + server.certificate().getSerialNumber().toString(16))
                .contains("Superseded").contains("Issuer: O = Example Org, CN = Example Org Server CA");
        // Verified against the issuing CA's certificate as a relying party fetches it (caIssuers).
        Path caFile = Files.write(temp.resolve("server-ca.der"), publisher.caCertificate(CertificateKind.SERVER));
        Path pem = openssl("x509", "-inform", "DER", "-in", caFile, "-out", temp.resolve("server-ca.pem")).file();
        assertThat(openssl("crl", "-inform", "DER", "-in", Files.write(temp.resolve("c.crl"), publisher.crl(CertificateKind.SERVER)),
                "-CAfile", pem, "-noout").out()).contains("verify OK");
    }

    @Test
    void aCrlOlderThanADayIsReSignedBeforeItIsHandedOut() throws Exception {
        CertificateAuthority ca = CertificateAuthority.initialize(temp.resolve("pki"), "Example Org");
        String first = crlText(new CrlPublisher(ca, Clock.systemUTC()).crl(CertificateKind.DEVICE));
        Clock later = Clock.offset(Clock.systemUTC(), CrlPublisher.REFRESH.plusMinutes(1));
        String second = crlText(new CrlPublisher(ca, later).crl(CertificateKind.DEVICE));
        assertThat(crlNumber(second)).isEqualTo(crlNumber(first) + 1);
    }

    private static int crlNumber(String text) {
        String after = text.substring(text.indexOf("X509v3 CRL Number:") + "X509v3 CRL Number:".length()).strip();
        return Integer.parseInt(after.lines().findFirst().orElseThrow().strip());
    }

    private String crlText(byte[] der) throws Exception {
        Path file = Files.write(temp.resolve("crl.der"), der);
        return openssl("crl", "-inform", "DER", "-in", file, "-noout", "-text").out();
    }
}
