package org.castellan.security.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslContext;
import java.io.BufferedReader;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedKeyManager;
import org.castellan.security.tls.TlsPolicy.ClientCertMode;
import org.castellan.security.tls.TlsPolicy.Preset;
import org.castellan.security.tls.TlsPolicy.Provider;
import org.castellan.testkit.TestCertificate;
import org.castellan.testkit.TestPki;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Real handshakes: a Netty server with the policy, JDK SSLSocket (or Netty) clients, on 127.0.0.1. */
class TlsPolicyTest {

    /** A safety net so that a broken server fails the test instead of hanging it; never asserted. */
    private static final int READ_TIMEOUT_MILLIS = 20_000;

    @TempDir static Path dir;
    static TestPki pki;

    @BeforeAll
    static void createPki() {
        pki = TestPki.create(dir);
    }

    private static TlsPolicy policy(Preset preset, Provider provider) {
        return TlsPolicy.builder(preset, pki.server().chainFile(), pki.server().keyFile())
                .clientCaFiles(List.of(pki.issuingCa().certificateFile()))
                .crlFiles(List.of(pki.crlFile()))
                .provider(provider)
                .build();
    }

    /** What the client saw: the server's line, or why there was none. */
    record Outcome(String line, Exception failure) {
        boolean ok() {
            return line != null && line.startsWith("OK ");
        }
    }

    private static Outcome connect(TlsTestServer server, SSLContext client, String... protocols) {
        try (SSLSocket socket = (SSLSocket) client.getSocketFactory().createSocket("127.0.0.1", server.port())) {
            socket.setSoTimeout(READ_TIMEOUT_MILLIS);
            if (protocols.length > 0) socket.setEnabledProtocols(protocols);
            socket.startHandshake();
            String line = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.US_ASCII))
                    .readLine();
            return new Outcome(line, null);
        } catch (IOException e) {
            return new Outcome(null, e);
        }
    }

    @ParameterizedTest
    @EnumSource(Provider.class)
    void modernNegotiatesTls13AndRefusesATls12Client(Provider provider) throws Exception {
        try (TlsTestServer server = new TlsTestServer(policy(Preset.MODERN, provider), ClientCertMode.NONE)) {
            Outcome modern = connect(server, pki.clientContext());
            assertThat(modern.line()).startsWith("OK TLSv1.3 TLS_").endsWith("peer=none");

            Outcome old = connect(server, pki.clientContext(), "TLSv1.2");
            assertThat(old.ok()).as("TLS 1.2 client against MODERN: %s", old).isFalse();
            assertThat(old.failure()).isInstanceOf(javax.net.ssl.SSLException.class);
        }
    }

    @ParameterizedTest
    @EnumSource(Provider.class)
    void intermediateSpeaksTls12WithAeadAndRefusesTls11(Provider provider) throws Exception {
        try (TlsTestServer server = new TlsTestServer(policy(Preset.INTERMEDIATE, provider), ClientCertMode.NONE)) {
            assertThat(connect(server, pki.clientContext()).line()).startsWith("OK TLSv1.3 ");
            Outcome tls12 = connect(server, pki.clientContext(), "TLSv1.2");
            assertThat(tls12.line()).matches("OK TLSv1\\.2 TLS_ECDHE_ECDSA_WITH_(AES_(128|256)_GCM_SHA(256|384)|CHACHA20_POLY1305_SHA256) peer=none");

            // The JDK client refuses to offer TLS 1.1 at all, so the ClientHello is written by hand;
            // the same hello as TLS 1.2 shows that it is otherwise acceptable.
            assertThat(firstRecordType(server, 0x0303)).as("TLS 1.2 hello gets a handshake record").isEqualTo(0x16);
            assertThat(firstRecordType(server, 0x0302)).as("TLS 1.1 hello gets an alert or nothing").isIn(0x15, -1);
        }
    }

    @ParameterizedTest
    @EnumSource(Provider.class)
    void intermediateRefusesCbcOnlyClients(Provider provider) throws Exception {
        try (TlsTestServer server = new TlsTestServer(policy(Preset.INTERMEDIATE, provider), ClientCertMode.NONE)) {
            SSLContext client = pki.clientContext();
            try (SSLSocket socket = (SSLSocket) client.getSocketFactory().createSocket("127.0.0.1", server.port())) {
                socket.setSoTimeout(READ_TIMEOUT_MILLIS);
                socket.setEnabledProtocols(new String[] {"TLSv1.2"});
                socket.setEnabledCipherSuites(new String[] {
                    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256", "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384"});
                assertThatThrownBy(socket::startHandshake).isInstanceOf(javax.net.ssl.SSLException.class);
            }
        }
    }

    @ParameterizedTest
    @EnumSource(Provider.class)
    void requireRefusesAClientWithoutCertificate(Provider provider) throws Exception {
        try (TlsTestServer server = new TlsTestServer(policy(Preset.INTERMEDIATE, provider), ClientCertMode.REQUIRE)) {
            for (String protocol : List.of("TLSv1.3", "TLSv1.2")) {
                Outcome outcome = connect(server, pki.clientContext(), protocol);
                assertThat(outcome.line()).as("%s without certificate: %s", protocol, outcome).isNull();
                assertThat(outcome.failure()).isNotNull();
            }
        }
    }

    @ParameterizedTest
    @EnumSource(Provider.class)
    void requireRefusesEveryCertificateThatShouldNotPass(Provider provider) throws Exception {
        try (TlsTestServer server = new TlsTestServer(policy(Preset.INTERMEDIATE, provider), ClientCertMode.REQUIRE)) {
            for (TestCertificate bad : List.of(pki.untrustedClient(), pki.expiredClient(), pki.notYetValidClient(),
                    pki.wrongUsageClient(), pki.revokedClient())) {
                Outcome outcome = connect(server, alwaysPresenting(bad));
                assertThat(outcome.line()).as("%s: %s", bad.name(), outcome).isNull();
            }
        }
    }

    @ParameterizedTest
    @EnumSource(Provider.class)
    void requireAcceptsAValidCertificateAndRecordsIt(Provider provider) throws Exception {
        try (TlsTestServer server = new TlsTestServer(policy(Preset.INTERMEDIATE, provider), ClientCertMode.REQUIRE)) {
            for (String protocol : List.of("TLSv1.3", "TLSv1.2")) {
                Outcome outcome = connect(server, pki.clientContext(pki.client()), protocol);
                assertThat(outcome.line()).as("%s", outcome)
                        .startsWith("OK " + protocol).endsWith("peer=verified:CN=alice@example.org,O=Castellan Test");
            }
        }
    }

    @ParameterizedTest
    @EnumSource(Provider.class)
    void requestAcceptsWithAndWithoutCertificateAndTellsWhichVerified(Provider provider) throws Exception {
        try (TlsTestServer server = new TlsTestServer(policy(Preset.INTERMEDIATE, provider), ClientCertMode.REQUEST)) {
            for (String protocol : List.of("TLSv1.3", "TLSv1.2")) {
                assertThat(connect(server, pki.clientContext(), protocol).line())
                        .startsWith("OK " + protocol).endsWith("peer=none");
                assertThat(connect(server, pki.clientContext(pki.client()), protocol).line())
                        .endsWith("peer=verified:CN=alice@example.org,O=Castellan Test");
                for (TestCertificate bad : List.of(pki.untrustedClient(), pki.revokedClient(), pki.expiredClient())) {
                    Outcome outcome = connect(server, alwaysPresenting(bad), protocol);
                    assertThat(outcome.line()).as("%s %s: %s", protocol, bad.name(), outcome).endsWith("peer=rejected");
                }
            }
        }
    }

    @ParameterizedTest
    @EnumSource(Provider.class)
    void everyConnectionVerifiesItsCertificateAnew(Provider provider) throws Exception {
        try (TlsTestServer server = new TlsTestServer(policy(Preset.INTERMEDIATE, provider), ClientCertMode.REQUEST)) {
            // One client context, so the client offers to resume the first session on the second connection.
            SSLContext client = pki.clientContext(pki.client());
            for (String protocol : List.of("TLSv1.3", "TLSv1.2")) {
                for (int i = 0; i < 3; i++) {
                    assertThat(connect(server, client, protocol).line()).as("%s connection %d", protocol, i)
                            .endsWith("peer=verified:CN=alice@example.org,O=Castellan Test");
                }
            }
        }
    }

    @ParameterizedTest
    @EnumSource(Provider.class)
    void startTlsSendsTheReplyInPlaintextThenHandshakes(Provider provider) throws Exception {
        try (TlsTestServer server = new TlsTestServer(policy(Preset.INTERMEDIATE, provider), ClientCertMode.REQUEST, true);
                Socket plain = new Socket("127.0.0.1", server.port())) {
            plain.setSoTimeout(READ_TIMEOUT_MILLIS);
            java.io.InputStream in = plain.getInputStream();
            StringBuilder reply = new StringBuilder();
            for (int c = in.read(); c != '\n' && c != -1; c = in.read()) reply.append((char) c);
            assertThat(reply.toString()).isEqualTo("GO");
            try (SSLSocket tls = (SSLSocket) pki.clientContext(pki.client()).getSocketFactory()
                    .createSocket(plain, "localhost", server.port(), true)) {
                tls.startHandshake();
                String line = new BufferedReader(new InputStreamReader(tls.getInputStream(), StandardCharsets.US_ASCII))
                        .readLine();
                assertThat(line).startsWith("OK TLSv1.3").endsWith("peer=verified:CN=alice@example.org,O=Castellan Test");
            }
        }
    }

    @Test
    void boringSslIsUsedWhenAvailable() {
        assertThat(OpenSsl.isAvailable()).as("netty-tcnative loads on this platform: %s", OpenSsl.unavailabilityCause())
                .isTrue();
        TlsPolicy policy = TlsPolicy.builder(Preset.INTERMEDIATE, pki.server().chainFile(), pki.server().keyFile()).build();
        assertThat(policy.provider()).isEqualTo(Provider.BORINGSSL);
    }

    @ParameterizedTest
    @EnumSource(Provider.class)
    void describeListsProtocolsAndOnlyAeadCiphers(Provider provider) {
        TlsPolicy.Description intermediate = policy(Preset.INTERMEDIATE, provider).describe();
        assertThat(intermediate.provider()).isEqualTo(provider);
        assertThat(intermediate.protocols()).containsExactly("TLSv1.3", "TLSv1.2");
        assertThat(intermediate.cipherSuites()).contains("TLS_AES_128_GCM_SHA256", "TLS_CHACHA20_POLY1305_SHA256",
                "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256");
        assertThat(intermediate.cipherSuites()).allSatisfy(c ->
                assertThat(c).doesNotContain("CBC").doesNotStartWith("TLS_RSA_").matches(".*(GCM|CHACHA20).*"));
        assertThat(intermediate.clientCertificateAnchors()).containsExactly("CN=Castellan Test Issuing CA,O=Castellan Test");

        TlsPolicy.Description modern = policy(Preset.MODERN, provider).describe();
        assertThat(modern.protocols()).containsExactly("TLSv1.3");
        assertThat(modern.cipherSuites()).allSatisfy(c -> assertThat(c).doesNotContain("ECDHE"));
    }

    @Test
    void outboundClientContextTrustsTheGivenCaAndPresentsItsCertificate() throws Exception {
        TlsPolicy policy = policy(Preset.INTERMEDIATE, null);
        SslContext client = TlsPolicy.clientContext(Preset.INTERMEDIATE, List.of(pki.root().certificateFile()),
                pki.client().chainFile(), pki.client().keyFile());
        SslContext stranger = TlsPolicy.clientContext(Preset.INTERMEDIATE, List.of(pki.issuingCa().certificateFile()),
                null, null);
        try (TlsTestServer server = new TlsTestServer(policy, ClientCertMode.REQUIRE)) {
            assertThat(nettyExchange(client, "localhost", server.port()))
                    .endsWith("peer=verified:CN=alice@example.org,O=Castellan Test");
            // Trusts the server, but presents no certificate: REQUIRE closes the connection.
            assertThat(nettyExchange(stranger, "localhost", server.port())).isEmpty();
        }
        SslContext wrongCa = TlsPolicy.clientContext(Preset.INTERMEDIATE,
                List.of(pki.untrustedClient().chainFile()), null, null);
        try (TlsTestServer server = new TlsTestServer(policy, ClientCertMode.NONE)) {
            assertThat(nettyExchange(wrongCa, "localhost", server.port())).as("server not trusted").isEmpty();
            assertThat(nettyExchange(client, "localhost", server.port())).endsWith("peer=none");
        }
    }

    @Test
    void clientCertificateModesNeedTrustAnchors() {
        TlsPolicy policy = TlsPolicy.builder(Preset.MODERN, pki.server().chainFile(), pki.server().keyFile()).build();
        assertThat(policy.newHandler(ByteBufAllocator.DEFAULT, ClientCertMode.NONE)).isNotNull();
        assertThatThrownBy(() -> policy.newHandler(ByteBufAllocator.DEFAULT, ClientCertMode.REQUIRE))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("needs client CA files");
    }

    @Test
    void configurationErrorsNameTheFile() throws IOException {
        Path missing = dir.resolve("missing.pem");
        assertThatThrownBy(() -> TlsPolicy.builder(Preset.MODERN, missing, pki.server().keyFile()).build())
                .isInstanceOf(TlsConfigException.class)
                .hasMessageContaining("missing.pem does not exist");
        assertThatThrownBy(() -> TlsPolicy.builder(Preset.MODERN, pki.server().chainFile(), pki.server().chainFile())
                        .build())
                .isInstanceOf(TlsConfigException.class)
                .hasMessageContaining("holds no PEM private key");
        Path notPem = Files.writeString(dir.resolve("ca.txt"), "not a certificate\n");
        assertThatThrownBy(() -> TlsPolicy.builder(Preset.MODERN, pki.server().chainFile(), pki.server().keyFile())
                        .clientCaFiles(List.of(notPem)).build())
                .isInstanceOf(TlsConfigException.class)
                .hasMessageContaining("client CA")
                .hasMessageContaining("ca.txt");
    }

    /** A client that sends {@code certificate} whatever CAs the server names in its request. */
    private static SSLContext alwaysPresenting(TestCertificate certificate) throws Exception {
        KeyManager presenting = new X509ExtendedKeyManager() {
            @Override
            public String[] getClientAliases(String keyType, Principal[] issuers) {
                return new String[] {TestCertificate.KEY_ALIAS};
            }

            @Override
            public String chooseClientAlias(String[] keyType, Principal[] issuers, Socket socket) {
                return TestCertificate.KEY_ALIAS;
            }

            @Override
            public String chooseEngineClientAlias(String[] keyType, Principal[] issuers, SSLEngine engine) {
                return TestCertificate.KEY_ALIAS;
            }

            @Override
            public String[] getServerAliases(String keyType, Principal[] issuers) {
                return null;
            }

            @Override
            public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
                return null;
            }

            @Override
            public X509Certificate[] getCertificateChain(String alias) {
                return certificate.chain().toArray(new X509Certificate[0]);
            }

            @Override
            public PrivateKey getPrivateKey(String alias) {
                return certificate.privateKey();
            }
        };
        TrustManagerFactory trust = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        trust.init(pki.trustStore());
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(new KeyManager[] {presenting}, trust.getTrustManagers(), new SecureRandom());
        return context;
    }

    /** The server's line over a Netty client, or "" if the connection closed without one. */
    private static String nettyExchange(SslContext context, String host, int port) throws Exception {
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        CompletableFuture<String> line = new CompletableFuture<>();
        StringBuilder received = new StringBuilder();
        try {
            Channel channel = new Bootstrap().group(group).channel(NioSocketChannel.class)
                    .handler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        protected void initChannel(SocketChannel ch) {
                            ch.pipeline().addLast(context.newHandler(ch.alloc(), host, port));
                            ch.pipeline().addLast(new SimpleChannelInboundHandler<ByteBuf>() {
                                @Override
                                protected void channelRead0(ChannelHandlerContext ctx, ByteBuf msg) {
                                    received.append(msg.toString(StandardCharsets.US_ASCII));
                                }

                                @Override
                                public void channelInactive(ChannelHandlerContext ctx) {
                                    line.complete(received.toString().strip());
                                }

                                @Override
                                public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                                    ctx.close();
                                }
                            });
                        }
                    })
                    .connect("127.0.0.1", port).sync().channel();
            channel.closeFuture().sync();
            return line.get(READ_TIMEOUT_MILLIS, TimeUnit.MILLISECONDS);
        } finally {
            group.shutdownGracefully(0, 0, TimeUnit.SECONDS).sync();
        }
    }

    /**
     * Sends a minimal ClientHello of {@code version} offering ECDHE-ECDSA with AES-GCM and CBC, and
     * returns the content type of the server's first record (0x16 handshake, 0x15 alert) or -1 if
     * the server closed the connection without answering.
     */
    private static int firstRecordType(TlsTestServer server, int version) throws IOException {
        byte[] random = new byte[32];
        new SecureRandom().nextBytes(random);
        java.io.ByteArrayOutputStream body = new java.io.ByteArrayOutputStream();
        body.write(version >> 8);
        body.write(version);
        body.writeBytes(random);
        body.write(0); // no session id
        int[] suites = {0xC02B, 0xC02C, 0xC009, 0xC00A};
        body.write(0);
        body.write(suites.length * 2);
        for (int suite : suites) {
            body.write(suite >> 8);
            body.write(suite);
        }
        body.write(1);
        body.write(0); // null compression
        byte[] extensions = {
            0x00, 0x0a, 0x00, 0x04, 0x00, 0x02, 0x00, 0x17, // supported_groups: secp256r1
            0x00, 0x0b, 0x00, 0x02, 0x01, 0x00, // ec_point_formats: uncompressed
            0x00, 0x0d, 0x00, 0x04, 0x00, 0x02, 0x04, 0x03, // signature_algorithms: ecdsa_secp256r1_sha256
        };
        body.write(extensions.length >> 8);
        body.write(extensions.length);
        body.writeBytes(extensions);
        byte[] hello = body.toByteArray();
        try (Socket socket = new Socket("127.0.0.1", server.port())) {
            socket.setSoTimeout(READ_TIMEOUT_MILLIS);
            OutputStream out = socket.getOutputStream();
            int handshakeLength = hello.length + 4;
            out.write(new byte[] {0x16, 0x03, 0x01, (byte) (handshakeLength >> 8), (byte) handshakeLength,
                0x01, 0x00, (byte) (hello.length >> 8), (byte) hello.length});
            out.write(hello);
            out.flush();
            try {
                return new DataInputStream(socket.getInputStream()).read();
            } catch (java.net.SocketException reset) {
                return -1;
            }
        }
    }
}
