package org.castellan.server.outbound;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLHandshakeException;
import org.castellan.server.dns.MailRouting.TlsaRecord;
import org.castellan.testkit.TestCertificate;
import org.castellan.testkit.TestPki;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** RFC 8460 §4.3: the result type of real failed handshakes with the JDK's trust managers and DANE's. */
class TlsRptResultTypeTest {

    private static final String MX = "mx.example.test";

    @TempDir
    static Path dir;

    private static TestPki pki;
    private static TestCertificate mx;

    @BeforeAll
    static void pki() {
        pki = TestPki.create(dir);
        mx = pki.serverFor(MX);
    }

    private static TlsRptResultType failure(TestCertificate server, SSLContext client) {
        Throwable t = catchThrowable(() -> DaneVerifierTest.handshake(server, client, MX, true));
        assertThat(t).isInstanceOf(SSLHandshakeException.class);
        return TlsRptResultType.ofHandshakeFailure(t);
    }

    @Test
    void expiredCertificate() {
        assertThat(failure(pki.expiredServerFor(MX), pki.clientContext())).isEqualTo(TlsRptResultType.CERTIFICATE_EXPIRED);
    }

    @Test
    void certificateForAnotherHost() {
        assertThat(failure(pki.serverFor("elsewhere.example.test"), pki.clientContext()))
                .isEqualTo(TlsRptResultType.CERTIFICATE_HOST_MISMATCH);
    }

    @Test
    void certificateFromAnUntrustedCa() throws Exception {
        assertThat(failure(mx, SSLContext.getDefault())).isEqualTo(TlsRptResultType.CERTIFICATE_NOT_TRUSTED);
    }

    @Test
    void daneMismatch() {
        DaneTrustManager dane = new DaneTrustManager(List.of(new TlsaRecord(3, 1, 1, new byte[32])), MX, Clock.systemUTC());
        assertThat(failure(mx, dane.sslContext())).isEqualTo(TlsRptResultType.TLSA_INVALID);
    }

    @Test
    void anythingElseIsAValidationFailure() {
        assertThat(TlsRptResultType.ofHandshakeFailure(new SSLHandshakeException("no cipher suites in common")))
                .isEqualTo(TlsRptResultType.VALIDATION_FAILURE);
    }
}
