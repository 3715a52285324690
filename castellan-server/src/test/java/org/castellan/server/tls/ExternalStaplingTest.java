package org.castellan.server.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.castellan.server.Castellan;
import org.castellan.server.config.CastellanConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * OCSP stapling (RFC 6066 §8) of a server certificate from an external CA: the answer of the
 * responder its Authority Information Access names, fetched off the handshake and kept until its
 * nextUpdate, so the staple survives the responder going away.
 */
class ExternalStaplingTest {

    @TempDir Path dir;

    @Test
    void anExternalCertificateIsStapledWithItsRespondersAnswerWhichOutlivesTheResponder() throws Exception {
        ExternalCa ca = new ExternalCa(Files.createDirectories(dir.resolve("external")), "Operator Server CA");
        OcspResponder responder = new OcspResponder(ca);
        ExternalCa.Issued server = ca.server("mail", responder.uri(), "localhost");
        String config = String.join("\n",
                "[server]", "hostname = \"localhost\"", "data-dir = \"data\"", "shutdown-grace = \"1s\"",
                "[tls]", "certificate = \"" + server.chainFile() + "\"", "key = \"" + server.keyFile() + "\"",
                "[auth]", "scram-iterations = 4096",
                "[[listener]]", "name = \"pop3s\"", "protocol = \"pop3\"", "address = \"127.0.0.1\"", "port = 0",
                "tls = \"implicit\"", "");
        Files.createDirectories(dir.resolve("data"));
        try (Castellan castellan = Castellan.start(CastellanConfig.parse(config, dir.resolve("castellan.toml")))) {
            int port = castellan.addresses().get("pop3s").getPort();
            await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> assertThat(status(port, ca))
                    .contains("OCSP Response Status: successful").contains("Cert Status: good"));
            int asked = responder.requests();

            responder.close();
            assertThat(status(port, ca)).as("kept until nextUpdate").contains("Cert Status: good");
            assertThat(responder.requests()).as("not asked per handshake").isEqualTo(asked);
        }
    }

    private static String status(int port, ExternalCa ca) throws Exception {
        Process p = new ProcessBuilder(List.of("openssl", "s_client", "-connect", "127.0.0.1:" + port, "-status",
                "-CAfile", ca.certificateFile().toString())).redirectErrorStream(true).start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        return out;
    }
}
