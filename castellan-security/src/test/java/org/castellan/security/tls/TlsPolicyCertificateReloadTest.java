package org.castellan.security.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import org.castellan.testkit.TestPki;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** The server certificate and key re-read while the policy serves: a good pair takes over, a broken one never does. */
class TlsPolicyCertificateReloadTest {

    @TempDir Path dir;
    private TestPki first;
    private TestPki second;
    private Path chain;
    private Path key;

    @BeforeEach
    void twoPkis() throws Exception {
        first = TestPki.create(Files.createDirectories(dir.resolve("first")));
        second = TestPki.create(Files.createDirectories(dir.resolve("second")));
        Path live = Files.createDirectories(dir.resolve("live"));
        chain = live.resolve("chain.pem");
        key = live.resolve("key.pem");
        install(first.server().chainFile(), chain);
        install(first.server().keyFile(), key);
    }

    @ParameterizedTest
    @EnumSource(TlsPolicy.Provider.class)
    void aNewPairServesTheNextHandshakeAndABrokenOneIsRefused(TlsPolicy.Provider provider) throws Exception {
        TlsPolicy policy = TlsPolicy.builder(TlsPolicy.Preset.INTERMEDIATE, chain, key).provider(provider).build();
        X509Certificate firstLeaf = first.server().certificate();
        X509Certificate secondLeaf = second.server().certificate();
        try (TlsTestServer server = new TlsTestServer(policy, TlsPolicy.ClientCertMode.NONE)) {
            assertThat(serverCertificate(server)).isEqualTo(firstLeaf);

            install(second.server().chainFile(), chain);
            install(second.server().keyFile(), key);
            assertThat(policy.reloadCertificate()).isTrue();
            assertThat(serverCertificate(server)).as("after the reload").isEqualTo(secondLeaf);

            // A certificate whose key has not arrived yet: the old pair stays.
            install(first.server().chainFile(), chain);
            assertThat(policy.reloadCertificate()).isFalse();
            assertThat(serverCertificate(server)).as("mismatched pair refused").isEqualTo(secondLeaf);

            // A half-written chain file.
            String pem = Files.readString(second.server().chainFile());
            Files.writeString(chain, pem.substring(0, pem.length() / 2));
            assertThat(policy.reloadCertificate()).isFalse();
            assertThat(serverCertificate(server)).as("truncated file refused").isEqualTo(secondLeaf);

            Files.delete(key);
            assertThat(policy.reloadCertificate()).isFalse();
            assertThat(serverCertificate(server)).as("missing key refused").isEqualTo(secondLeaf);

            install(first.server().keyFile(), key);
            assertThat(policy.reloadCertificate()).isFalse();
            install(first.server().chainFile(), chain);
            assertThat(policy.reloadCertificate()).as("once both files agree again").isTrue();
            assertThat(serverCertificate(server)).isEqualTo(firstLeaf);
        }
    }

    @Test
    void aKeyOfAnotherCertificateIsRefusedAtBuild() throws Exception {
        install(second.server().keyFile(), key);
        assertThatThrownBy(() -> TlsPolicy.builder(TlsPolicy.Preset.INTERMEDIATE, chain, key).build())
                .isInstanceOf(TlsConfigException.class)
                .hasMessageContaining("does not belong to the first certificate")
                .hasMessageContaining(key.toString());
    }

    @Test
    void certificateFilesAreTheConfiguredOnes() {
        TlsPolicy policy = TlsPolicy.builder(TlsPolicy.Preset.MODERN, chain, key).build();
        assertThat(policy.certificateFiles()).containsExactly(chain, key);
    }

    /** Copies with the source's permissions (0600 for keys), replacing the target by rename as an operator's tool would. */
    private static void install(Path source, Path target) throws Exception {
        Path staged = target.resolveSibling(target.getFileName() + ".new");
        Files.copy(source, staged, StandardCopyOption.COPY_ATTRIBUTES, StandardCopyOption.REPLACE_EXISTING);
        Files.move(staged, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    /** The leaf the server presents, to a client trusting both test roots. */
    private X509Certificate serverCertificate(TlsTestServer server) throws Exception {
        KeyStore trust = KeyStore.getInstance("PKCS12");
        trust.load(null, null);
        trust.setCertificateEntry("first", first.root().certificate());
        trust.setCertificateEntry("second", second.root().certificate());
        TrustManagerFactory tmf = TrustManagerFactory.getInstance("PKIX");
        tmf.init(trust);
        SSLContext client = SSLContext.getInstance("TLS");
        client.init(null, tmf.getTrustManagers(), null);
        try (SSLSocket socket = (SSLSocket) client.getSocketFactory().createSocket("127.0.0.1", server.port())) {
            socket.setSoTimeout(20_000);
            socket.startHandshake();
            X509Certificate leaf = (X509Certificate) socket.getSession().getPeerCertificates()[0];
            assertThat(new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.US_ASCII))
                    .readLine()).startsWith("OK ");
            return leaf;
        }
    }
}
