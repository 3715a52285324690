package org.castellan.server.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.time.Duration;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import org.castellan.testkit.TestPki;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A running server picks up a renewed certificate from disk, and ignores a broken one. */
class CertificateReloadTest {

    /** A safety net so that a broken server fails the test instead of hanging it; never asserted. */
    private static final int READ_TIMEOUT_MILLIS = 20_000;
    /** Well above the watcher's one-second poll, so a loaded machine does not fail the test. */
    private static final Duration RELOAD_WAIT = Duration.ofSeconds(30);

    @TempDir Path dir;

    @Test
    void aReplacedCertificateServesNewHandshakesAndABrokenOneIsIgnored() throws Exception {
        TestPki first = TestPki.create(Files.createDirectories(dir.resolve("first")));
        TestPki second = TestPki.create(Files.createDirectories(dir.resolve("second")));
        SSLContext client = trusting(first, second);
        try (TlsServer server = TlsServer.start(dir.resolve("server"), first, "intermediate")) {
            int port = server.port("pop3s");
            assertThat(presented(client, port)).isEqualTo(first.server().certificate());

            // The key first, then the certificate: between the two the pair does not match and
            // must not be served; once both are in place the new pair is.
            TlsServer.install(second.server().keyFile(), server.key);
            TlsServer.install(second.server().chainFile(), server.chain);
            await().atMost(RELOAD_WAIT).untilAsserted(() ->
                    assertThat(presented(client, port)).isEqualTo(second.server().certificate()));

            // A half-written certificate file: whenever the watcher looks, the server keeps the
            // pair it has (TlsPolicyCertificateReloadTest checks the refusal itself); the next
            // valid change must still be picked up, so the watcher survived the refusal.
            String pem = Files.readString(first.server().chainFile());
            Files.writeString(server.chain, pem.substring(0, pem.length() / 2));
            for (int i = 0; i < 3; i++) {
                assertThat(presented(client, port)).isEqualTo(second.server().certificate());
            }
            TlsServer.install(first.server().keyFile(), server.key);
            TlsServer.install(first.server().chainFile(), server.chain);
            await().atMost(RELOAD_WAIT).untilAsserted(() ->
                    assertThat(presented(client, port)).isEqualTo(first.server().certificate()));
        }
    }

    private static SSLContext trusting(TestPki... pkis) throws Exception {
        KeyStore trust = KeyStore.getInstance("PKCS12");
        trust.load(null, null);
        for (int i = 0; i < pkis.length; i++) trust.setCertificateEntry("root" + i, pkis[i].root().certificate());
        TrustManagerFactory tmf = TrustManagerFactory.getInstance("PKIX");
        tmf.init(trust);
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(null, tmf.getTrustManagers(), null);
        return context;
    }

    /** The leaf the server presents on a new implicit-TLS connection. */
    private static X509Certificate presented(SSLContext client, int port) throws Exception {
        try (SSLSocket socket = (SSLSocket) client.getSocketFactory().createSocket("127.0.0.1", port)) {
            socket.setSoTimeout(READ_TIMEOUT_MILLIS);
            socket.startHandshake();
            return (X509Certificate) socket.getSession().getPeerCertificates()[0];
        }
    }
}
