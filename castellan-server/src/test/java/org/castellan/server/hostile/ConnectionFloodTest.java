package org.castellan.server.hostile;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import javax.net.ssl.SSLSocket;
import org.castellan.server.testing.TestServer;
import org.castellan.server.testing.Transcript;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A flood of connections from a few addresses, as an outside probe made it: thousands of
 * connections from four addresses took every file descriptor, and new clients got no greeting.
 * Here each listener has small caps; the connections beyond them get the protocol's refusal (or,
 * on implicit TLS, a closed socket) at once, while a client from another address is served.
 * Clients bind to addresses of 127.0.0.0/8, which Linux routes to the loopback interface.
 */
class ConnectionFloodTest {

    private static final int MX_PER_ADDRESS = 5;
    private static final int IMAP_PER_ADDRESS = 3;
    private static final int IMAP_PER_NETWORK = 5;
    private static final int IMAPS_PER_ADDRESS = 2;
    /** Closing a socket frees its slot once the server has seen the close. */
    private static final Duration FREED = Duration.ofSeconds(10);

    @TempDir static Path dir;
    static TestServer server;
    private final List<AutoCloseable> held = new ArrayList<>();

    @BeforeAll
    static void start() {
        server = TestServer.startWith(dir, "", "",
                TestServer.listener("mx", "smtp", "none", false) + "max-connections-per-address = " + MX_PER_ADDRESS + "\n",
                TestServer.listener("imap", "imap", "starttls", false)
                        + "max-connections-per-address = " + IMAP_PER_ADDRESS + "\n"
                        + "max-connections-per-network = " + IMAP_PER_NETWORK + "\n",
                TestServer.listener("imaps", "imap", "implicit", false)
                        + "max-connections-per-address = " + IMAPS_PER_ADDRESS + "\n");
    }

    @AfterAll
    static void stop() {
        if (server != null) server.server().close();
    }

    @AfterEach
    void closeHeld() throws Exception {
        for (AutoCloseable c : held) c.close();
        held.clear();
    }

    private SlowClient hold(SlowClient client) {
        held.add(client);
        return client;
    }

    private static InetSocketAddress at(TestServer s, String listener) {
        return s.server().addresses().get(listener);
    }

    @Test
    void oneAddressGetsItsCapOfSmtpConnectionsTheRestA421WhileAnotherAddressIsGreeted() {
        for (int i = 0; i < MX_PER_ADDRESS; i++) {
            assertThat(hold(SlowClient.connect("127.0.0.2", at(server, "mx"))).readLine()).startsWith("220 ");
        }
        for (int i = 0; i < 3; i++) {
            try (SlowClient extra = SlowClient.connect("127.0.0.2", at(server, "mx"))) {
                // RFC 5321 §3.1: 421 in place of the greeting, and the server closes.
                assertThat(extra.readLine()).isEqualTo("421 4.7.0 localhost Too many connections from your address,"
                        + " try again later");
                assertThat(extra.readLine()).isNull();
            }
        }
        try (SlowClient other = SlowClient.connect("127.0.0.3", at(server, "mx"))) {
            assertThat(other.readLine()).startsWith("220 ");
        }
        // A connection that ends frees its place for the same address.
        try {
            held.remove(0).close();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
        await().atMost(FREED).until(() -> {
            try (SlowClient again = SlowClient.connect("127.0.0.2", at(server, "mx"))) {
                return again.readLine().startsWith("220 ");
            }
        });
    }

    @Test
    void aNetworkGetsItsCapAcrossItsAddressesAndAnotherNetworkIsStillServed() {
        for (int i = 0; i < IMAP_PER_ADDRESS; i++) {
            assertThat(hold(SlowClient.connect("127.0.0.2", at(server, "imap"))).readLine()).startsWith("* OK ");
        }
        // RFC 9051 §7.1.5: BYE as the greeting refuses this client.
        try (SlowClient fourth = SlowClient.connect("127.0.0.2", at(server, "imap"))) {
            assertThat(fourth.readLine()).isEqualTo("* BYE Too many connections from your address, try again later");
            assertThat(fourth.readLine()).isNull();
        }
        for (int i = IMAP_PER_ADDRESS; i < IMAP_PER_NETWORK; i++) {
            assertThat(hold(SlowClient.connect("127.0.0.3", at(server, "imap"))).readLine()).startsWith("* OK ");
        }
        try (SlowClient sameNetwork = SlowClient.connect("127.0.0.4", at(server, "imap"))) {
            assertThat(sameNetwork.readLine()).isEqualTo("* BYE Too many connections from your network, try again later");
            assertThat(sameNetwork.readLine()).isNull();
        }
        try (SlowClient otherNetwork = SlowClient.connect("127.0.1.4", at(server, "imap"))) {
            assertThat(otherNetwork.readLine()).startsWith("* OK ");
        }
    }

    @Test
    void onImplicitTlsTheConnectionBeyondTheCapIsClosedWithoutAByte() {
        for (int i = 0; i < IMAPS_PER_ADDRESS; i++) {
            Transcript tls = new Transcript(tlsFrom("127.0.0.2", at(server, "imaps")), server.pki());
            held.add(tls);
            tls.run("S: \\* OK .*");
        }
        try (SlowClient extra = hold(SlowClient.connect("127.0.0.2", at(server, "imaps")))) {
            // Nothing may be said before TLS, so nothing is: no ServerHello, no refusal, a closed socket.
            extra.sendAll(SlowClient.clientHello(server.pki().clientContext()));
            assertThat(extra.readUntilClosed()).isEmpty();
            assertThat(extra.closed()).isTrue();
        }
        Transcript other = new Transcript(tlsFrom("127.0.0.3", at(server, "imaps")), server.pki());
        held.add(other);
        other.run("S: \\* OK .*");
    }

    @Test
    void theServerWideCeilingRefusesTheNextConnectionOnEveryListener(@TempDir Path own) throws Exception {
        TestServer small = TestServer.startWithServer(own, "max-connections = 4", "", "",
                TestServer.listener("pop3", "pop3", "none", false),
                TestServer.listener("mx", "smtp", "none", false));
        try {
            assertThat(hold(SlowClient.connect("127.0.0.2", at(small, "pop3"))).readLine()).startsWith("+OK ");
            assertThat(hold(SlowClient.connect("127.0.0.3", at(small, "pop3"))).readLine()).startsWith("+OK ");
            assertThat(hold(SlowClient.connect("127.0.0.4", at(small, "mx"))).readLine()).startsWith("220 ");
            assertThat(hold(SlowClient.connect("127.0.0.5", at(small, "mx"))).readLine()).startsWith("220 ");
            try (SlowClient fifth = SlowClient.connect("127.0.0.6", at(small, "pop3"))) {
                // RFC 3206 §4: a temporary condition; the client tries again later.
                assertThat(fifth.readLine()).isEqualTo("-ERR [SYS/TEMP] Too many connections, try again later");
                assertThat(fifth.readLine()).isNull();
            }
            try (SlowClient sixth = SlowClient.connect("127.0.1.6", at(small, "mx"))) {
                assertThat(sixth.readLine()).isEqualTo("421 4.7.0 localhost Too many connections, try again later");
                assertThat(sixth.readLine()).isNull();
            }
        } finally {
            closeHeld(); // before the server, whose stop would give them its shutdown grace
            small.server().close();
        }
    }

    private static SSLSocket tlsFrom(String from, InetSocketAddress to) {
        try {
            SSLSocket s = (SSLSocket) server.pki().clientContext().getSocketFactory().createSocket();
            s.bind(new InetSocketAddress(InetAddress.getByName(from), 0));
            s.connect(to);
            s.startHandshake();
            return s;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
