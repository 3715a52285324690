package org.castellan.server.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import org.castellan.server.config.CastellanConfig;
import org.castellan.server.config.ConfigException;
import org.castellan.testkit.TestPki;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** tls.crl-files: the CRL of an external client CA is enforced at the handshake. */
class ExternalCrlTest {

    /** A safety net so that a broken server fails the test instead of hanging it; never asserted. */
    private static final int READ_TIMEOUT_MILLIS = 20_000;

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
            assertThat(greeting(pki.clientContext(pki.client()), port)).startsWith("+OK");
            assertThat(greeting(pki.clientContext(pki.revokedClient()), port)).as("revoked in the CRL").isNull();
            assertThat(server.server.tls().describe().crls()).isEqualTo(1);
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

    /** The server's greeting, or null when the server refused the client certificate. */
    private static String greeting(SSLContext client, int port) throws Exception {
        try (SSLSocket socket = (SSLSocket) client.getSocketFactory().createSocket("127.0.0.1", port)) {
            socket.setSoTimeout(READ_TIMEOUT_MILLIS);
            try {
                socket.startHandshake();
                // TLS 1.3: a refused client certificate shows as an alert on the first read.
                return new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.US_ASCII))
                        .readLine();
            } catch (IOException refused) {
                return null;
            }
        }
    }
}
