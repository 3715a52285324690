package org.castellan.server.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import org.castellan.server.config.CastellanConfig;
import org.castellan.server.config.ConfigException;
import org.castellan.testkit.TestPki;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** tls.crl-files: the CRL of an external client CA is enforced at the handshake and on live sessions. */
class ExternalCrlTest {

    /** Generous bound for a live session to be closed; the design goal is one second. */
    private static final Duration CLOSE_WITHIN = Duration.ofSeconds(15);

    @TempDir Path dir;

    @Test
    void aCertificateListedInAnExternalCrlIsRefusedAndOthersAreAccepted() throws Exception {
        TestPki pki = TestPki.create(Files.createDirectories(dir.resolve("pki")));
        String extra = String.join("\n",
                "client-ca-files = [\"" + pki.issuingCa().certificateFile() + "\"]",
                "crl-files = [\"" + pki.crlFile() + "\"]",
                "[[listener]]", "name = \"device\"", "protocol = \"pop3\"", "address = \"127.0.0.1\"", "port = 0",
                "tls = \"implicit\"", "client-cert = \"require\"", "");
        try (TlsServer server = TlsServer.start(dir.resolve("server"), pki, "intermediate", extra)) {
            int port = server.port("device");
            assertThat(TlsClient.greeting(pki.clientContext(pki.client()), port)).startsWith("+OK");
            assertThat(TlsClient.greeting(pki.clientContext(pki.revokedClient()), port)).as("revoked in the CRL").isNull();
            assertThat(server.server.tls().describe().crls()).isEqualTo(1);
        }
    }

    @Test
    void aReloadedCrlThatListsALiveSessionsCertificateClosesThatSessionOnly() throws Exception {
        TestPki pki = TestPki.create(Files.createDirectories(dir.resolve("pki")));
        ExternalCa ca = new ExternalCa(Files.createDirectories(dir.resolve("external")), "Operator Device CA");
        Path crl = dir.resolve("external/operator.crl");
        ca.writeCrl(crl);
        String extra = String.join("\n",
                "client-ca-files = [\"" + ca.certificateFile() + "\"]",
                "crl-files = [\"" + crl + "\"]",
                "[[listener]]", "name = \"device\"", "protocol = \"pop3\"", "address = \"127.0.0.1\"", "port = 0",
                "tls = \"implicit\"", "client-cert = \"require\"", "");
        ExternalCa.Issued lost = ca.client("lost", null);
        ExternalCa.Issued kept = ca.client("kept", null);
        try (TlsServer server = TlsServer.start(dir.resolve("server"), pki, "intermediate", extra);
             SSLSocket lostSession = TlsClient.open(ExternalCa.clientContext(lost, pki.trustStore()), server.port("device"));
             SSLSocket keptSession = TlsClient.open(ExternalCa.clientContext(kept, pki.trustStore()), server.port("device"))) {
            assertThat(TlsClient.readLine(lostSession)).startsWith("+OK");
            assertThat(TlsClient.readLine(keptSession)).startsWith("+OK");
            await().atMost(CLOSE_WITHIN).until(() -> server.server.sessions().size() == 2);

            ca.revoke(lost.serial());
            ca.writeCrl(crl);

            await().atMost(CLOSE_WITHIN).until(() -> server.server.sessions().size() == 1);
            assertThat(TlsClient.closedByServer(lostSession)).isTrue();
            assertThat(server.server.sessions().list().get(0).tls().orElseThrow().peer()).contains(kept.certificate());
            assertThat(TlsClient.greeting(ExternalCa.clientContext(lost, pki.trustStore()), server.port("device"))).isNull();
        }
    }

    @Test
    void aMissingCrlFileIsReportedWithItsKey() throws Exception {
        TestPki pki = TestPki.create(Files.createDirectories(dir.resolve("pki")));
        Path missing = dir.resolve("nowhere.crl");
        String config = String.join("\n", "[server]", "hostname = \"localhost\"", "data-dir = \".\"", "[tls]",
                "certificate = \"" + pki.server().chainFile() + "\"", "key = \"" + pki.server().keyFile() + "\"",
                "client-ca-files = [\"" + pki.issuingCa().certificateFile() + "\"]",
                "crl-files = [\"" + missing + "\"]", "");
        Path file = Files.writeString(dir.resolve("castellan.toml"), config);
        assertThatThrownBy(() -> CastellanConfig.load(file))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("tls.crl-files")
                .hasMessageContaining(missing.toString());
    }

}
