package org.castellan.server.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.castellan.server.testing.ExternalClient;
import org.castellan.testkit.TestPki;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * tls.sni-certificates: the certificate is chosen by the server name in the ClientHello, exact or
 * by wildcard, with the default for no name or an unknown one; checked with openssl s_client
 * -servername and Python's ssl (server_hostname), on implicit TLS and STARTTLS.
 */
class SniTest {

    /** Bound for the watcher to put a new file into service; the design goal is about a second. */
    private static final Duration RELOAD_WITHIN = Duration.ofSeconds(15);
    private static final Pattern SUBJECT_CN = Pattern.compile("subject=.*CN ?= ?([^,\\n/]+)");

    @TempDir Path dir;
    private TestPki pki;
    private ExternalCa ca;
    private Path sniDirectory;

    @BeforeEach
    void certificates() throws IOException {
        ExternalClient.require("openssl", "openssl");
        ExternalClient.require("python3", "python3");
        pki = TestPki.create(Files.createDirectories(dir.resolve("pki")));
        ca = new ExternalCa(Files.createDirectories(dir.resolve("external")), "Operator Server CA");
        sniDirectory = Files.createDirectories(dir.resolve("sni"));
        Files.copy(ca.server("mail", "mail.example.org", "imap.example.org").combinedFile(),
                sniDirectory.resolve("mail.example.org.pem"));
        Files.copy(ca.server("wild", "*.example.net").combinedFile(), sniDirectory.resolve("example.net.pem"));
    }

    @Test
    void opensslGetsTheCertificateOfTheNameItAsksForAndTheDefaultOtherwise() throws Exception {
        try (TlsServer server = start()) {
            int port = server.port("pop3s");
            assertThat(opensslSubject(port, "mail.example.org")).isEqualTo("mail.example.org");
            assertThat(opensslSubject(port, "IMAP.example.org")).as("names are case-insensitive").isEqualTo("mail.example.org");
            assertThat(opensslSubject(port, "pop.example.net")).as("wildcard").isEqualTo("*.example.net");
            assertThat(opensslSubject(port, "a.b.example.net")).as("a wildcard is one label").isEqualTo("localhost");
            assertThat(opensslSubject(port, "other.example.com")).as("no match").isEqualTo("localhost");
            assertThat(opensslSubject(port, null)).as("no SNI").isEqualTo("localhost");
        }
    }

    @Test
    void pythonVerifiesTheChosenCertificateOnImplicitTlsAndStartTls() throws Exception {
        try (TlsServer server = start()) {
            String script = String.join("\n",
                    "import socket, ssl, sys",
                    "host, port, mode, ca = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]",
                    "ctx = ssl.create_default_context(cafile=ca)",
                    "raw = socket.create_connection(('127.0.0.1', port), timeout=20)",
                    "if mode == 'starttls':",
                    "    f = raw.makefile('rb')",
                    "    assert f.readline().startswith(b'+OK')",
                    "    raw.sendall(b'STLS\\r\\n')",
                    "    assert f.readline().startswith(b'+OK')",
                    "s = ctx.wrap_socket(raw, server_hostname=host)",
                    "print(dict(x[0] for x in s.getpeercert()['subject'])['commonName'])",
                    "");
            Path file = Files.writeString(dir.resolve("sni.py"), script);
            String trust = ca.certificateFile().toString();
            assertThat(python(file, "mail.example.org", server.port("pop3s"), "implicit", trust)).isEqualTo("mail.example.org");
            assertThat(python(file, "pop.example.net", server.port("pop3"), "starttls", trust)).isEqualTo("*.example.net");
        }
    }

    @Test
    void aCertificateAddedToTheDirectoryIsServedWithoutARestart() throws Exception {
        try (TlsServer server = start()) {
            int port = server.port("pop3s");
            assertThat(opensslSubject(port, "new.example.com")).isEqualTo("localhost");
            Path staged = dir.resolve("new.example.com.pem.tmp");
            Files.copy(ca.server("new", "new.example.com").combinedFile(), staged);
            Files.move(staged, sniDirectory.resolve("new.example.com.pem"));
            await().atMost(RELOAD_WITHIN).until(() -> "new.example.com".equals(opensslSubject(port, "new.example.com")));
            assertThat(server.server.tls().describe().serverNames()).contains("new.example.com", "*.example.net");
        }
    }

    private TlsServer start() {
        return TlsServer.start(dir.resolve("server"), pki, "intermediate",
                "sni-certificates = [\"" + sniDirectory + "\"]\n");
    }

    /** The common name of the certificate openssl s_client received, asking for {@code serverName} (null: no SNI). */
    private static String opensslSubject(int port, String serverName) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of("openssl", "s_client", "-connect", "127.0.0.1:" + port));
        if (serverName == null) command.add("-noservername");
        else command.addAll(List.of("-servername", serverName));
        ExternalClient.Result r = ExternalClient.run(command, Map.of());
        Matcher m = SUBJECT_CN.matcher(r.output());
        assertThat(m.find()).as("openssl output:\n%s", r.output()).isTrue();
        return m.group(1).trim();
    }

    private static String python(Path script, String host, int port, String mode, String trust)
            throws IOException, InterruptedException {
        return ExternalClient.runOk(List.of("python3", script.toString(), host, Integer.toString(port), mode, trust),
                Map.of()).output().trim();
    }
}
