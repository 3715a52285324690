package org.castellan.server.admin;

import static org.assertj.core.api.Assertions.assertThat;

import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import org.bouncycastle.asn1.ASN1Integer;
import org.bouncycastle.asn1.ASN1OctetString;
import org.bouncycastle.asn1.x509.Extension;
import org.castellan.security.pki.CertificateAuthority;
import org.castellan.security.pki.CertificateKind;
import org.castellan.security.pki.Pem;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The daily re-signing of CRLs, so that a running server never lets a CRL expire. */
class RevocationWatcherTest {

    @TempDir Path dir;

    @Test
    void crlsAreReSignedOnceADayHasPassedAndRecreatedWhenMissing() {
        CertificateAuthority ca = CertificateAuthority.initialize(dir.resolve("pki"), "Test");
        BigInteger first = crlNumber(ca, CertificateKind.DEVICE);

        RevocationWatcher.refreshStaleCrls(ca, Clock.systemUTC());
        assertThat(crlNumber(ca, CertificateKind.DEVICE)).as("fresh CRLs are left alone").isEqualTo(first);

        Clock tomorrow = Clock.fixed(Instant.now().plus(RevocationWatcher.CRL_REFRESH).plus(Duration.ofMinutes(1)), ZoneOffset.UTC);
        RevocationWatcher.refreshStaleCrls(ca, tomorrow);
        for (CertificateKind kind : CertificateKind.values()) {
            assertThat(crlNumber(ca, kind)).as(kind.caName()).isEqualTo(first.add(BigInteger.ONE));
        }

        assertThat(ca.crlFile(CertificateKind.USER).toFile().delete()).isTrue();
        RevocationWatcher.refreshStaleCrls(ca, Clock.systemUTC());
        assertThat(Files.exists(ca.crlFile(CertificateKind.USER))).isTrue();
    }

    private static BigInteger crlNumber(CertificateAuthority ca, CertificateKind kind) {
        byte[] value = Pem.readCrl(ca.crlFile(kind)).getExtensionValue(Extension.cRLNumber.getId());
        return ASN1Integer.getInstance(ASN1OctetString.getInstance(value).getOctets()).getValue();
    }
}
