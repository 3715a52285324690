package org.castellan.server.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.castellan.server.cli.EstEnrollmentTest.base64;
import static org.castellan.server.cli.EstEnrollmentTest.basic;
import static org.castellan.server.cli.EstEnrollmentTest.csr;
import static org.castellan.server.cli.EstEnrollmentTest.ecKeys;
import static org.castellan.server.cli.EstEnrollmentTest.post;

import java.io.ByteArrayInputStream;
import java.nio.file.Path;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.Base64;
import org.castellan.server.testing.RawHttps;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code [enroll] device-validity} and {@code user-validity} set how long enrolled certificates last. */
class EnrollmentValidityTest {

    @TempDir Path tmp;
    LiveServer live;

    @AfterEach
    void stop() {
        if (live != null) live.close();
    }

    @Test
    void enrolledCertificatesLastAsConfigured() throws Exception {
        live = LiveServer.start(tmp.resolve("data"), "", text -> text
                .replaceFirst("(?m)^#? ?device-validity = .*$", "device-validity = \"30d\"")
                .replaceFirst("(?m)^#? ?user-validity = .*$", "user-validity = \"2h\""));
        String auth = basic(LiveServer.ACCOUNT, Cli.Pop3Password.VALUE);
        try (RawHttps http = new RawHttps(live.clientContext(null), live.address("https"))) {
            X509Certificate device = certificate(http.exchange(post("/.well-known/est/simpleenroll",
                    base64(csr("CN=laptop", ecKeys(), null).getEncoded()), auth)));
            X509Certificate user = certificate(http.exchange(post("/.well-known/est/user/simpleenroll",
                    base64(csr("CN=" + LiveServer.ACCOUNT, ecKeys(), null).getEncoded()), auth)));
            // The CA backdates every certificate by an hour (clock skew), so a lifetime is the validity plus that hour.
            assertThat(lifetime(device)).isEqualTo(Duration.ofDays(30).plusHours(1));
            assertThat(lifetime(user)).isEqualTo(Duration.ofHours(3));
        }
    }

    private static Duration lifetime(X509Certificate c) {
        return Duration.between(c.getNotBefore().toInstant(), c.getNotAfter().toInstant());
    }

    private static X509Certificate certificate(RawHttps.Response r) throws Exception {
        assertThat(r.status()).as(r.text()).isEqualTo(200);
        byte[] cms = Base64.getMimeDecoder().decode(r.body());
        return (X509Certificate) CertificateFactory.getInstance("X.509")
                .generateCertificates(new ByteArrayInputStream(cms)).iterator().next();
    }
}
