package org.castellan.server.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * OCSP stapling (RFC 6066 §8) on every TLS listener, seen by {@code openssl s_client -status}:
 * the built-in CA's server certificate carries its responder's answer on implicit TLS (IMAPS,
 * HTTPS) and after SMTP STARTTLS, and the answer turns to revoked once {@code castellan cert revoke}
 * revokes that certificate, with the listeners serving on.
 */
class ListenerStaplingTest {

    @TempDir Path tmp;
    LiveServer live;

    @AfterEach
    void stop() {
        if (live != null) live.close();
    }

    @Test
    void imapsAndSmtpStarttlsStapleGoodThenRevokedAfterCertRevoke() throws Exception {
        // The standard listeners of castellan init: imaps (implicit TLS, client certificates requested)
        // and mx (SMTP with STARTTLS, none asked for).
        live = LiveServer.start(tmp.resolve("data"));
        assertThat(status("imaps")).contains("OCSP Response Status: successful").contains("Cert Status: good");
        assertThat(status("mx")).contains("OCSP Response Status: successful").contains("Cert Status: good");
        assertThat(status("https")).contains("OCSP Response Status: successful").contains("Cert Status: good");
        assertThat(live.cli.admin("audit").out()).contains("OCSP stapling for").contains("from the built-in CA's OCSP responder");

        String serial = serverCertificate().getSerialNumber().toString(16);
        Cli.Run revoke = live.cli.admin("cert", "revoke", serial, "--reason", "key-compromise");
        assertThat(revoke.code()).as(revoke.err()).isZero();

        await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
                assertThat(status("imaps")).contains("Cert Status: revoked").contains("Revocation Reason: keyCompromise"));
        assertThat(status("mx")).contains("Cert Status: revoked");
        assertThat(status("https")).contains("Cert Status: revoked");
    }

    /** What {@code openssl s_client -status} printed about the staple of {@code listener}. */
    private String status(String listener) throws Exception {
        List<String> command = new ArrayList<>(List.of("openssl", "s_client", "-connect",
                "127.0.0.1:" + live.address(listener).getPort(), "-status", "-CAfile", live.rootCertificate().toString()));
        if (listener.equals("mx")) command.addAll(List.of("-starttls", "smtp"));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(out).as(out).contains("Verify return code: 0 (ok)");
        return out;
    }

    private X509Certificate serverCertificate() throws Exception {
        byte[] pem = Files.readAllBytes(live.cli.data.resolve("tls/chain.pem"));
        return (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(new ByteArrayInputStream(pem));
    }
}
