package org.castellan.server.tls;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.castellan.server.testing.ExternalClient;
import org.castellan.testkit.TestCertificate;
import org.castellan.testkit.TestPki;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Real clients — openssl s_client, curl and Python's ssl — with and without a client certificate
 * against a {@code require} listener (no banner byte without a valid certificate) and a
 * {@code request} listener (both served), and connection rules seen from 127.0.0.2, 127.0.0.3 and
 * ::1 source addresses.
 */
class ClientMatrixTest {

    private static final String PYTHON = String.join("\n",
            "import socket, ssl, sys",
            "host, port, source, cert, key, ca = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5],"
                    + " sys.argv[6]",
            "ctx = ssl.create_default_context(cafile=ca)",
            "if cert != '-': ctx.load_cert_chain(cert, key)",
            "try:",
            "    raw = socket.create_connection((host, port), timeout=20,"
                    + " source_address=None if source == '-' else (source, 0))",
            "    s = ctx.wrap_socket(raw, server_hostname='localhost')",
            "    line = s.makefile('rb').readline()",
            "    print(line.decode().strip() if line else 'CLOSED')",
            "except (OSError, ssl.SSLError) as e:",
            "    print('REFUSED', e)",
            "");

    @TempDir static Path dir;
    private static TestPki pki;
    private static TlsServer server;
    private static Path python;

    @BeforeAll
    static void start() throws IOException {
        ExternalClient.require("openssl", "openssl");
        ExternalClient.require("curl", "curl");
        ExternalClient.require("python3", "python3");
        pki = TestPki.create(Files.createDirectories(dir.resolve("pki")));
        python = Files.writeString(dir.resolve("client.py"), PYTHON);
        String extra = String.join("\n",
                "client-ca-files = [\"" + pki.issuingCa().certificateFile() + "\"]",
                "[[listener]]", "name = \"device\"", "protocol = \"pop3\"", "address = \"::\"", "port = 0",
                "tls = \"implicit\"", "client-cert = \"require\"",
                "[[listener]]", "name = \"optional\"", "protocol = \"pop3\"", "address = \"::\"", "port = 0",
                "tls = \"implicit\"", "client-cert = \"request\"",
                "[[rule]]", "cidr = \"127.0.0.2\"", "action = \"deny\"",
                "[[rule]]", "cidr = \"127.0.0.3\"", "listeners = [\"optional\"]", "action = \"require-cert\"",
                "[[rule]]", "cidr = \"::1\"", "listeners = [\"device\"]", "action = \"deny\"", "");
        server = TlsServer.start(dir.resolve("server"), pki, "intermediate", extra);
    }

    @AfterAll
    static void stop() {
        if (server != null) server.close();
    }

    @Test
    void requireListenerServesOnlyClientsWithAValidCertificate() throws Exception {
        int port = server.port("device");
        assertThat(openssl(port, null)).doesNotContain("+OK");
        assertThat(openssl(port, pki.untrustedClient())).doesNotContain("+OK");
        assertThat(openssl(port, pki.client())).contains("+OK");
        assertThat(curl(port, null, null)).doesNotContain("< +OK");
        assertThat(curl(port, pki.expiredClient(), null)).doesNotContain("< +OK");
        assertThat(curl(port, pki.client(), null)).contains("< +OK");
        assertThat(python("127.0.0.1", port, null, null)).startsWith("REFUSED");
        assertThat(python("127.0.0.1", port, null, pki.wrongUsageClient())).startsWith("REFUSED");
        assertThat(python("127.0.0.1", port, null, pki.client())).startsWith("+OK");
    }

    @Test
    void requestListenerServesClientsWithAndWithoutACertificate() throws Exception {
        int port = server.port("optional");
        assertThat(openssl(port, null)).contains("+OK");
        assertThat(openssl(port, pki.client())).contains("+OK");
        assertThat(curl(port, null, null)).contains("< +OK");
        assertThat(curl(port, pki.client(), null)).contains("< +OK");
        assertThat(python("127.0.0.1", port, null, null)).startsWith("+OK");
        assertThat(python("127.0.0.1", port, null, pki.untrustedClient())).as("as if none").startsWith("+OK");
        assertThat(python("127.0.0.1", port, null, pki.client())).startsWith("+OK");
    }

    @Test
    void connectionRulesDecideBySourceAddress() throws Exception {
        int optional = server.port("optional");
        int device = server.port("device");
        // 127.0.0.2 is denied everywhere: closed before TLS, nothing sent.
        assertThat(curl(optional, pki.client(), "127.0.0.2")).doesNotContain("< +OK");
        assertThat(python("127.0.0.1", optional, "127.0.0.2", pki.client())).doesNotStartWith("+OK");
        // 127.0.0.3 must show a certificate even on the request listener.
        assertThat(curl(optional, null, "127.0.0.3")).doesNotContain("< +OK");
        assertThat(python("127.0.0.1", optional, "127.0.0.3", null)).startsWith("REFUSED");
        assertThat(python("127.0.0.1", optional, "127.0.0.3", pki.client())).startsWith("+OK");
        // ::1 is denied on the device listener only.
        assertThat(python("::1", device, null, pki.client())).doesNotStartWith("+OK");
        assertThat(python("::1", optional, null, null)).startsWith("+OK");
        assertThat(server.server.denied("optional")).isGreaterThanOrEqualTo(2);
        assertThat(server.server.denied("device")).isGreaterThanOrEqualTo(1);
    }

    /** openssl s_client's whole output; QUIT ends the session once it is served. */
    private static String openssl(int port, TestCertificate certificate) throws Exception {
        String command = "printf 'QUIT\\r\\n' | openssl s_client -connect 127.0.0.1:" + port + " -servername localhost"
                + " -CAfile " + pki.trustFile() + " -ign_eof"
                + (certificate == null ? "" : " -cert " + certificate.chainFile() + " -key " + certificate.keyFile());
        return ExternalClient.run(List.of("sh", "-c", command), Map.of()).output();
    }

    /** curl -v's whole output (the server's lines start with "< "); the login fails, the greeting is what counts. */
    private static String curl(int port, TestCertificate certificate, String source) throws Exception {
        List<String> command = new ArrayList<>(List.of("curl", "--verbose", "--max-time", "30",
                "--cacert", pki.trustFile().toString(), "--resolve", "localhost:" + port + ":127.0.0.1",
                "--user", "nobody:wrong"));
        if (certificate != null) {
            command.addAll(List.of("--cert", certificate.chainFile().toString(), "--key", certificate.keyFile().toString()));
        }
        if (source != null) command.addAll(List.of("--interface", source));
        command.add("pop3s://localhost:" + port + "/");
        return ExternalClient.run(command, Map.of()).output();
    }

    /** The greeting line Python's ssl client read, {@code CLOSED}, or {@code REFUSED} and the error. */
    private static String python(String host, int port, String source, TestCertificate certificate) throws Exception {
        return ExternalClient.runOk(List.of("python3", python.toString(), host, Integer.toString(port),
                source == null ? "-" : source,
                certificate == null ? "-" : certificate.chainFile().toString(),
                certificate == null ? "-" : certificate.keyFile().toString(),
                pki.trustFile().toString()), Map.of()).output().trim();
    }
}
