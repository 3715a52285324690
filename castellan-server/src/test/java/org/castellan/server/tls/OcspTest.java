package org.castellan.server.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import org.castellan.security.pki.OcspClient;
import org.castellan.server.transport.Connection;
import org.castellan.testkit.TestPki;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * tls.ocsp: client certificates of an external CA whose AIA names an OCSP responder are checked
 * there, over real HTTP, at the handshake and again for live sessions.
 */
class OcspTest {

    /** Generous bound for a live session to be closed; the design goal is one second. */
    private static final Duration CLOSE_WITHIN = Duration.ofSeconds(15);

    @TempDir Path dir;
    private TestPki pki;
    private ExternalCa ca;

    @BeforeEach
    void pki() throws IOException {
        pki = TestPki.create(Files.createDirectories(dir.resolve("pki")));
        ca = new ExternalCa(Files.createDirectories(dir.resolve("external")), "Operator Device CA");
    }

    @Test
    void aGoodAnswerAdmitsTheCertificateAndIsCachedUntilNextUpdate() throws Exception {
        try (OcspResponder responder = new OcspResponder(ca);
             TlsServer server = start("hard-fail")) {
            ExternalCa.Issued device = ca.client("laptop", responder.uri());
            assertThat(TlsClient.greeting(client(device), server.port("device"))).startsWith("+OK");
            assertThat(TlsClient.greeting(client(device), server.port("device"))).startsWith("+OK");
            assertThat(responder.requests()).as("the second handshake used the cached answer").isEqualTo(1);
        }
    }

    /**
     * RFC 6960 §4.2.2.2: an answer is signed by the CA itself or by a responder the CA issued a
     * certificate with id-kp-OCSPSigning; any other certificate of the CA, a device's, signs
     * nothing, or every device could vouch for a stolen one.
     */
    @Test
    void onlyTheCaOrADelegateWithOcspSigningMaySignAnAnswer() {
        try (OcspResponder responder = new OcspResponder(ca)) {
            ExternalCa.Issued device = ca.client("stolen", responder.uri());
            responder.signedBy(ca.client("mallory", null));
            assertThat(new OcspClient(Clock.systemUTC()).check(device.certificate(), ca.certificate()))
                    .isInstanceOf(OcspClient.Status.Unavailable.class);
            responder.signedBy(ca.ocspSigner());
            assertThat(new OcspClient(Clock.systemUTC()).check(device.certificate(), ca.certificate()))
                    .isInstanceOf(OcspClient.Status.Good.class);
        }
    }

    /**
     * An answer that is DER but no OCSP response (a zero signature, an INTEGER among the
     * certificates) is no answer: unavailable, said to be malformed, and never an exception out of
     * the check, which runs inside a TLS handshake.
     */
    @Test
    void aMalformedAnswerIsUnavailableAndNoException() {
        try (OcspResponder responder = new OcspResponder(ca)) {
            ExternalCa.Issued device = ca.client("odd", responder.uri());
            responder.malformed();
            assertThat(new OcspClient(Clock.systemUTC()).check(device.certificate(), ca.certificate()))
                    .isInstanceOfSatisfying(OcspClient.Status.Unavailable.class,
                            u -> assertThat(u.reason()).contains("malformed exchange"));
            assertThat(responder.requests()).isEqualTo(1);
        }
    }

    @Test
    void aRevokedCertificateIsRefusedByRequireAndIsNoPeerForRequest() throws Exception {
        try (OcspResponder responder = new OcspResponder(ca);
             TlsServer server = start("soft-fail")) {
            ExternalCa.Issued device = ca.client("stolen", responder.uri());
            responder.answer(device.serial(), OcspResponder.Answer.REVOKED);
            assertThat(TlsClient.greeting(client(device), server.port("device"))).as("require").isNull();

            try (SSLSocket socket = TlsClient.open(client(device), server.port("optional"))) {
                assertThat(TlsClient.readLine(socket)).as("request: served as without a certificate").startsWith("+OK");
                Connection session = onlySession(server);
                assertThat(session.tls().orElseThrow().peer()).isEmpty();
            }
        }
    }

    @Test
    void anUnreachableResponderIsToleratedBySoftFailAndRefusedByHardFail() throws Exception {
        URI nobody = unusedPort();
        ExternalCa.Issued device = ca.client("roaming", nobody);
        try (TlsServer soft = start("soft-fail")) {
            assertThat(TlsClient.greeting(client(device), soft.port("device"))).startsWith("+OK");
        }
        try (TlsServer hard = start("hard-fail")) {
            assertThat(TlsClient.greeting(client(device), hard.port("device"))).isNull();
        }
    }

    @Test
    void anUnknownAnswerIsRefusedByHardFail() throws Exception {
        try (OcspResponder responder = new OcspResponder(ca);
             TlsServer server = start("hard-fail")) {
            ExternalCa.Issued device = ca.client("stranger", responder.uri());
            responder.answer(device.serial(), OcspResponder.Answer.UNKNOWN);
            assertThat(TlsClient.greeting(client(device), server.port("device"))).isNull();
        }
    }

    @Test
    void aResponderThatDoesNotAnswerHoldsUpNoOtherConnection() throws Exception {
        try (OcspResponder responder = new OcspResponder(ca);
             TlsServer server = start("hard-fail")) {
            responder.hold();
            // More handshakes waiting for the responder than the server has event loops (Netty's
            // default of two per CPU): if a check blocked its loop, every loop would be blocked.
            int waiting = 4 * Runtime.getRuntime().availableProcessors();
            List<SSLContext> devices = new ArrayList<>();
            for (int i = 0; i < waiting; i++) devices.add(client(ca.client("device" + i, responder.uri())));
            List<SSLSocket> sockets = new ArrayList<>();
            try {
                for (SSLContext device : devices) {
                    // TLS 1.3: the client's side completes before the server has checked its certificate.
                    sockets.add(TlsClient.open(device, server.port("device")));
                }
                await().atMost(CLOSE_WITHIN).until(() -> responder.waiting() == waiting);

                assertThat(TlsClient.greeting(pki.clientContext(), server.port("pop3s"))).startsWith("+OK");
                assertThat(server.server.sessions().list().stream().filter(c -> c.tls().isEmpty()))
                        .as("the device handshakes are still waiting for their OCSP answers").hasSize(waiting);
            } finally {
                responder.release();
                for (SSLSocket s : sockets) s.close();
            }
        }
    }

    @Test
    void aRevocationLearnedWhenTheAnswerIsRenewedClosesTheLiveSession() throws Exception {
        try (OcspResponder responder = new OcspResponder(ca);
             TlsServer server = start("hard-fail")) {
            // Short-lived answers, so that the server asks again while the session is open.
            responder.validity(Duration.ofSeconds(1));
            ExternalCa.Issued device = ca.client("lost", responder.uri());
            try (SSLSocket socket = TlsClient.open(client(device), server.port("device"))) {
                assertThat(TlsClient.readLine(socket)).startsWith("+OK");
                assertThat(onlySession(server).tls().orElseThrow().peer()).contains(device.certificate());
                responder.answer(device.serial(), OcspResponder.Answer.REVOKED);
                await().atMost(CLOSE_WITHIN).until(() -> server.server.sessions().size() == 0);
                assertThat(TlsClient.closedByServer(socket)).isTrue();
            }
            assertThat(TlsClient.greeting(client(device), server.port("device"))).as("and refused from now on").isNull();
        }
    }

    private TlsServer start(String mode) {
        String extra = String.join("\n",
                "client-ca-files = [\"" + ca.certificateFile() + "\"]",
                "ocsp = \"" + mode + "\"",
                "[[listener]]", "name = \"device\"", "protocol = \"pop3\"", "address = \"127.0.0.1\"", "port = 0",
                "tls = \"implicit\"", "client-cert = \"require\"",
                "[[listener]]", "name = \"optional\"", "protocol = \"pop3\"", "address = \"127.0.0.1\"", "port = 0",
                "tls = \"implicit\"", "client-cert = \"request\"", "");
        return TlsServer.start(dir.resolve("server-" + mode + "-" + System.nanoTime()), pki, "intermediate", extra);
    }

    private SSLContext client(ExternalCa.Issued device) {
        return ExternalCa.clientContext(device, pki.trustStore());
    }

    private static Connection onlySession(TlsServer server) {
        await().atMost(CLOSE_WITHIN).until(() -> server.server.sessions().size() == 1);
        return server.server.sessions().list().get(0);
    }

    /** An http:// address on which nothing listens: a port the system gave out and took back. */
    private static URI unusedPort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return URI.create("http://127.0.0.1:" + s.getLocalPort() + "/ocsp");
        }
    }

}
