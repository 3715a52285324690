package org.castellan.security.tls;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import javax.net.ssl.ExtendedSSLSession;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import org.castellan.security.tls.TlsPolicy.ClientCertMode;
import org.castellan.security.tls.TlsPolicy.Preset;
import org.castellan.security.tls.TlsPolicy.Provider;
import org.castellan.testkit.TestPki;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The tls-exporter value (RFC 9266 §2, RFC 8446 §7.5) a BoringSSL server derives from its key log
 * equals the one the JDK's own TLS client exports for the same connection: two implementations
 * that share no code agree, for each TLS 1.3 cipher suite (SHA-256 and SHA-384).
 */
class TlsExporterTest {

    private static final int READ_TIMEOUT_MILLIS = 20_000;

    @TempDir static Path dir;
    static TestPki pki;

    @BeforeAll
    static void createPki() {
        pki = TestPki.create(dir);
    }

    private static TlsPolicy policy(Provider provider) {
        return TlsPolicy.builder(Preset.INTERMEDIATE, pki.server().chainFile(), pki.server().keyFile())
                .clientCaFiles(List.of(pki.issuingCa().certificateFile()))
                .provider(provider)
                .build();
    }

    /** The server's line and what the client exported (null where it exports nothing: TLS 1.2). */
    private record Seen(String line, String clientExporter) {}

    private static Seen connect(TlsTestServer server, SSLContext client, String protocol, String cipher) throws Throwable {
        try (SSLSocket socket = (SSLSocket) client.getSocketFactory().createSocket("127.0.0.1", server.port())) {
            socket.setSoTimeout(READ_TIMEOUT_MILLIS);
            socket.setEnabledProtocols(new String[] {protocol});
            if (cipher != null) socket.setEnabledCipherSuites(new String[] {cipher});
            socket.startHandshake();
            String line = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.US_ASCII))
                    .readLine();
            String exported = protocol.equals("TLSv1.3") ? HexFormat.of().formatHex(exporter(socket)) : null;
            return new Seen(line, exported);
        }
    }

    /** RFC 9266 §2 through the JDK 25 API, looked up at run time (the build's release level is 21). */
    private static byte[] exporter(SSLSocket socket) throws Throwable {
        MethodHandle export = MethodHandles.publicLookup().findVirtual(ExtendedSSLSession.class,
                "exportKeyingMaterialData", MethodType.methodType(byte[].class, String.class, byte[].class, int.class));
        return (byte[]) export.invoke(socket.getSession(), "EXPORTER-Channel-Binding", new byte[0], 32);
    }

    @ParameterizedTest
    @ValueSource(strings = {"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"})
    void boringSslDerivesTheExporterTheClientExports(String cipher) throws Throwable {
        try (TlsTestServer server = TlsTestServer.reportingExporter(policy(Provider.BORINGSSL), ClientCertMode.NONE)) {
            Seen seen = connect(server, pki.clientContext(), "TLSv1.3", cipher);
            assertThat(seen.line()).startsWith("OK TLSv1.3 " + cipher).endsWith(" exporter=" + seen.clientExporter());
        }
    }

    @ParameterizedTest
    @EnumSource(ClientCertMode.class)
    void everyConnectionHasItsOwnExporterResumedOrNot(ClientCertMode mode) throws Throwable {
        // One client context: its later connections resume by ticket where the server allows it (mode NONE).
        SSLContext client = mode == ClientCertMode.NONE ? pki.clientContext() : pki.clientContext(pki.client());
        Set<String> values = new HashSet<>();
        try (TlsTestServer server = TlsTestServer.reportingExporter(policy(Provider.BORINGSSL), mode)) {
            for (int i = 0; i < 4; i++) {
                Seen seen = connect(server, client, "TLSv1.3", null);
                assertThat(seen.line()).endsWith(" exporter=" + seen.clientExporter());
                values.add(seen.clientExporter());
            }
        }
        assertThat(values).hasSize(4);
    }

    @Test
    void tls12HasNoExporterBinding() throws Throwable {
        // RFC 9266 §3: tls-exporter is for TLS 1.3 (TLS 1.2 keeps tls-server-end-point).
        try (TlsTestServer server = TlsTestServer.reportingExporter(policy(Provider.BORINGSSL), ClientCertMode.NONE)) {
            assertThat(connect(server, pki.clientContext(), "TLSv1.2", null).line()).startsWith("OK TLSv1.2 ")
                    .endsWith(" exporter=none");
        }
    }

    @Test
    void theJdkProviderLeavesTheExporterToItsSessions() throws Throwable {
        try (TlsTestServer server = TlsTestServer.reportingExporter(policy(Provider.JDK), ClientCertMode.NONE)) {
            assertThat(connect(server, pki.clientContext(), "TLSv1.3", null).line()).endsWith(" exporter=none");
        }
    }
}
