package org.castellan.server.transport;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import org.castellan.security.rules.Cidr;
import org.castellan.security.rules.ConnectionRules;
import org.castellan.security.rules.RuleAction;
import org.castellan.security.tls.TlsPolicy;
import org.castellan.security.tls.TlsPolicy.ClientCertMode;
import org.castellan.server.config.Listener;
import org.castellan.server.config.Protocol;
import org.castellan.server.config.TlsMode;
import org.castellan.testkit.TestPki;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The connection path of docs/design.md §2 with real sockets and real TLS: rules at accept, implicit
 * TLS and STARTTLS from the one policy, the device gate, PROXY headers, the session registry.
 */
class TransportTest {

    private static final Duration WAIT = Duration.ofSeconds(10);

    @TempDir static Path pkiDir;
    static TestPki pki;
    static TlsPolicy policy;

    private Transport transport;
    private final SessionRegistry registry = new SessionRegistry();

    @BeforeAll
    static void pki() {
        pki = TestPki.create(pkiDir);
        policy = TlsPolicy.builder(TlsPolicy.Preset.INTERMEDIATE, pki.server().chainFile(), pki.server().keyFile())
                .clientCaFiles(List.of(pki.trustFile()))
                .build();
    }

    @AfterEach
    void stop() {
        if (transport != null) transport.close();
    }

    private InetSocketAddress start(Listener listener, ConnectionRules.Entry... rules) {
        transport = new Transport(registry, new ConnectionRules(List.of(rules)), policy, Clock.systemUTC());
        return transport.bind(listener, new EchoService());
    }

    private static Listener listener(String address, TlsMode tls, ClientCertMode cert, String... proxyFrom) {
        return new Listener("test", Protocol.IMAP, address, 0, tls, cert, false, List.of(proxyFrom));
    }

    @Test
    void implicitTlsListenerGreetsAfterHandshakeAndRegistersTheSession() throws Exception {
        InetSocketAddress at = start(listener("127.0.0.1", TlsMode.IMPLICIT, ClientCertMode.NONE));
        try (SSLSocket s = tls(pki.clientContext(), at, null)) {
            BufferedReader in = reader(s);
            assertThat(in.readLine()).startsWith("hello ");
            assertThat(s.getSession().getPeerCertificates()[0]).isEqualTo(pki.server().certificate());
            await().atMost(WAIT).until(() -> registry.size() == 1);
            Connection c = registry.list().get(0);
            assertThat(c.remote().getAddress().getHostAddress()).isEqualTo("127.0.0.1");
            assertThat(c.tls()).hasValueSatisfying(t -> {
                assertThat(t.protocol()).isEqualTo("TLSv1.3");
                assertThat(t.peer()).isEmpty();
            });
            send(s, "ping");
            assertThat(in.readLine()).isEqualTo("echo ping");
            assertThat(c.bytesIn()).isPositive();
            assertThat(c.bytesOut()).isPositive();
        }
        await().atMost(WAIT).until(() -> registry.size() == 0);
    }

    /** With one listening socket per event loop, every loop's connections are served. */
    @Test
    void manyConnectionsAtOnceAreAllServed() throws Exception {
        InetSocketAddress at = start(listener("127.0.0.1", TlsMode.NONE, ClientCertMode.NONE));
        List<Socket> sockets = new ArrayList<>();
        try {
            for (int i = 0; i < 40; i++) sockets.add(new Socket(at.getAddress(), at.getPort()));
            for (int i = 0; i < sockets.size(); i++) {
                Socket s = sockets.get(i);
                BufferedReader in = reader(s);
                assertThat(in.readLine()).startsWith("hello ");
                send(s, "ping " + i);
                assertThat(in.readLine()).isEqualTo("echo ping " + i);
            }
            await().atMost(WAIT).until(() -> registry.size() == 40);
        } finally {
            for (Socket s : sockets) s.close();
        }
        await().atMost(WAIT).until(() -> registry.size() == 0);
    }

    /** SO_REUSEPORT must not let a second server (or anything else) share a port silently. */
    @Test
    void aPortInUseIsRefusedWithTheListenerNamed() throws Exception {
        InetSocketAddress at = start(listener("127.0.0.1", TlsMode.NONE, ClientCertMode.NONE));
        Listener same = new Listener("second", Protocol.IMAP, "127.0.0.1", at.getPort(), TlsMode.NONE, ClientCertMode.NONE,
                false, List.of());
        try (Transport second = new Transport(new SessionRegistry(), new ConnectionRules(List.of()), policy, Clock.systemUTC())) {
            assertThatThrownBy(() -> second.bind(same, new EchoService()))
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("listener second: cannot listen on 127.0.0.1:" + at.getPort());
        }
        try (ServerSocket other = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
             Transport third = new Transport(new SessionRegistry(), new ConnectionRules(List.of()), policy, Clock.systemUTC())) {
            Listener taken = new Listener("third", Protocol.IMAP, "127.0.0.1", other.getLocalPort(), TlsMode.NONE,
                    ClientCertMode.NONE, false, List.of());
            assertThatThrownBy(() -> third.bind(taken, new EchoService())).hasMessageContaining("listener third: cannot listen");
        }
        try (Socket s = new Socket(at.getAddress(), at.getPort())) {
            assertThat(reader(s).readLine()).as("the first server still serves").startsWith("hello ");
        }
    }

    @Test
    void deviceGateSendsNoProtocolByteWithoutAValidCertificate() throws Exception {
        InetSocketAddress at = start(listener("127.0.0.1", TlsMode.IMPLICIT, ClientCertMode.REQUIRE));
        for (SSLContext refused : List.of(pki.clientContext(), pki.clientContext(pki.untrustedClient()),
                pki.clientContext(pki.expiredClient()))) {
            assertNoGreeting(refused, at);
        }
        try (SSLSocket s = tls(pki.clientContext(pki.client()), at, null)) {
            assertThat(reader(s).readLine()).startsWith("hello ");
            await().atMost(WAIT).until(() -> registry.size() == 1);
            assertThat(registry.list().get(0).tls().orElseThrow().peer())
                    .hasValue(pki.client().certificate());
        }
    }

    @Test
    void rulesDenyRequireAndAllowBySourceAddressBeforeAnyByte() throws Exception {
        InetSocketAddress at = start(listener("0.0.0.0", TlsMode.IMPLICIT, ClientCertMode.NONE),
                new ConnectionRules.Entry(Cidr.parse("127.0.0.2/32"), Set.of(), RuleAction.DENY),
                new ConnectionRules.Entry(Cidr.parse("127.0.0.3"), Set.of("test"), RuleAction.REQUIRE_CERT),
                new ConnectionRules.Entry(Cidr.parse("127.0.0.0/8"), Set.of("other"), RuleAction.DENY));

        try (Socket s = new Socket()) {
            s.bind(new InetSocketAddress("127.0.0.2", 0));
            s.connect(new InetSocketAddress("127.0.0.1", at.getPort()));
            assertThat(readQuietly(s)).isEqualTo(-1); // closed at once, nothing sent
        }
        await().atMost(WAIT).until(() -> transport.denied("test") == 1);

        assertNoGreeting(pki.clientContext(), new InetSocketAddress("127.0.0.1", at.getPort()),
                InetAddress.getByName("127.0.0.3"));
        try (SSLSocket s = tls(pki.clientContext(pki.client()), new InetSocketAddress("127.0.0.1", at.getPort()),
                InetAddress.getByName("127.0.0.3"))) {
            assertThat(reader(s).readLine()).startsWith("hello ");
        }
        // The rule for another listener does not apply here; 127.0.0.1 falls through to allow.
        try (SSLSocket s = tls(pki.clientContext(), new InetSocketAddress("127.0.0.1", at.getPort()), null)) {
            assertThat(reader(s).readLine()).startsWith("hello ");
        }
        assertThat(transport.denied("test")).isEqualTo(1);
    }

    @Test
    void rulesMatchIpv6Clients() throws Exception {
        InetSocketAddress at = start(listener("::1", TlsMode.NONE, ClientCertMode.NONE),
                new ConnectionRules.Entry(Cidr.parse("::1/128"), Set.of(), RuleAction.DENY));
        try (Socket s = new Socket("::1", at.getPort())) {
            assertThat(readQuietly(s)).isEqualTo(-1);
        }
        await().atMost(WAIT).until(() -> transport.denied("test") == 1);
    }

    @Test
    void proxyHeaderFromTrustedUpstreamGivesTheRealClientToTheRules() throws Exception {
        InetSocketAddress at = start(listener("127.0.0.1", TlsMode.NONE, ClientCertMode.NONE, "127.0.0.1/32"),
                new ConnectionRules.Entry(Cidr.parse("192.0.2.0/24"), Set.of(), RuleAction.DENY));
        try (Socket s = new Socket(at.getAddress(), at.getPort())) {
            send(s, "PROXY TCP4 198.51.100.7 127.0.0.1 40000 143");
            BufferedReader in = reader(s);
            assertThat(in.readLine()).startsWith("hello ");
            await().atMost(WAIT).until(() -> registry.size() == 1);
            assertThat(registry.list().get(0).remote())
                    .isEqualTo(new InetSocketAddress(InetAddress.getByName("198.51.100.7"), 40000));
        }
        try (Socket s = new Socket(at.getAddress(), at.getPort())) {
            send(s, "PROXY TCP4 192.0.2.9 127.0.0.1 40000 143");
            assertThat(readQuietly(s)).isEqualTo(-1);
        }
        await().atMost(WAIT).until(() -> transport.denied("test") == 1);
    }

    @Test
    void proxyHeaderFromAnUntrustedAddressIsNeverAnAddress() throws Exception {
        InetSocketAddress at = start(listener("127.0.0.1", TlsMode.NONE, ClientCertMode.NONE, "10.9.9.9/32"));
        try (Socket s = new Socket(at.getAddress(), at.getPort())) {
            BufferedReader in = reader(s);
            assertThat(in.readLine()).startsWith("hello ");
            send(s, "PROXY TCP4 198.51.100.7 127.0.0.1 40000 143");
            assertThat(in.readLine()).isEqualTo("echo PROXY TCP4 198.51.100.7 127.0.0.1 40000 143");
            assertThat(registry.list().get(0).remote().getAddress().getHostAddress()).isEqualTo("127.0.0.1");
        }
    }

    @Test
    void startTlsUpgradesInPlaceAndDropsWhatWasPipelinedBehindIt() throws Exception {
        InetSocketAddress at = start(listener("127.0.0.1", TlsMode.STARTTLS, ClientCertMode.NONE));
        try (Socket plain = new Socket(at.getAddress(), at.getPort())) {
            BufferedReader in = reader(plain);
            assertThat(in.readLine()).startsWith("hello ");
            // An attacker's line rides in the same packet as STARTTLS (docs/design.md §5.4).
            plain.getOutputStream().write("STARTTLS\r\ninjected\r\n".getBytes(StandardCharsets.US_ASCII));
            plain.getOutputStream().flush();
            assertThat(in.readLine()).isEqualTo("GO");
            SSLSocket s = (SSLSocket) pki.clientContext().getSocketFactory()
                    .createSocket(plain, "localhost", at.getPort(), true);
            s.startHandshake();
            BufferedReader secure = reader(s);
            send(s, "after");
            assertThat(secure.readLine()).isEqualTo("echo after");
            assertThat(registry.list().get(0).tls()).isPresent();
        }
    }

    private static void assertNoGreeting(SSLContext context, InetSocketAddress at) throws IOException {
        assertNoGreeting(context, at, null);
    }

    /** The handshake fails, or the server closes before sending any application byte. */
    private static void assertNoGreeting(SSLContext context, InetSocketAddress at, InetAddress from) throws IOException {
        try (SSLSocket s = tls(context, at, from)) {
            assertThatThrownBy(() -> {
                s.startHandshake();
                // TLS 1.3: the client may finish first and learn of the refusal on its first read.
                int b = s.getInputStream().read();
                if (b == -1) throw new IOException("closed without a byte");
                throw new AssertionError("received a protocol byte: " + (char) b);
            }).isInstanceOf(IOException.class);
        }
    }

    private static SSLSocket tls(SSLContext context, InetSocketAddress at, InetAddress from) throws IOException {
        Socket raw = new Socket();
        if (from != null) raw.bind(new InetSocketAddress(from, 0));
        raw.connect(at, (int) WAIT.toMillis());
        raw.setSoTimeout((int) WAIT.toMillis());
        SSLSocket s = (SSLSocket) context.getSocketFactory().createSocket(raw, "localhost", at.getPort(), true);
        return s;
    }

    private static int readQuietly(Socket s) throws IOException {
        s.setSoTimeout((int) WAIT.toMillis());
        try {
            return s.getInputStream().read();
        } catch (java.net.SocketException reset) {
            return -1; // a reset is as good as a close: nothing was sent
        }
    }

    private static BufferedReader reader(Socket s) throws IOException {
        s.setSoTimeout((int) WAIT.toMillis());
        return new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.US_ASCII));
    }

    private static void send(Socket s, String line) throws IOException {
        OutputStream out = s.getOutputStream();
        out.write((line + "\r\n").getBytes(StandardCharsets.US_ASCII));
        out.flush();
    }
}
