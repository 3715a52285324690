package org.castellan.server.hostile;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Path;
import org.castellan.server.testing.TestServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An open relay is the first thing a spammer probes for. With outbound delivery running and a
 * route that would carry anything ({@code *}), an MX listener still refuses every recipient in
 * another domain with 550 5.7.1 (RFC 5321 §3.6.2, docs/outbound.md §1): from any source address,
 * with a local sender, and whatever a PROXY header claims, from a trusted proxy or not. Nothing is
 * queued and the next hop never hears of it.
 */
class RelayRefusalTest {

    private static final String RELAYING_DENIED = "550 5\\.7\\.1 Relaying denied.*";

    @TempDir Path dir;
    TestServer server;
    ServerSocketChannel nextHop;

    @BeforeEach
    void start() throws Exception {
        nextHop = ServerSocketChannel.open().bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        nextHop.configureBlocking(false);
        String outbound = String.join("\n", "[[outbound.route]]", "domain = \"*\"",
                "next-hop = \"127.0.0.1:" + nextHop.socket().getLocalPort() + "\"", "");
        // The [[outbound.route]] table follows TestServer's [auth] lines, before the listeners.
        server = TestServer.startWith(dir, "", outbound,
                TestServer.listener("mx", "smtp", "none", false),
                TestServer.listener("mx-proxied", "smtp", "none", false) + "proxy-from = [\"127.0.0.1/32\"]\n");
        assertThat(server.server().outbound()).isPresent();
    }

    @AfterEach
    void stop() throws Exception {
        server.server().close();
        nextHop.close();
    }

    private int port(String listener) {
        return server.server().addresses().get(listener).getPort();
    }

    private static void tryToRelay(RawClient c) {
        assertThat(c.line()).startsWith("220 ");
        c.send("EHLO relay-probe.example\r\n");
        assertThat(c.smtpReply()).startsWith("250 ");
        c.send("MAIL FROM:<" + TestServer.USER + ">\r\n"); // a local sender changes nothing
        assertThat(c.smtpReply()).startsWith("250 ");
        for (String victim : new String[] {"victim@elsewhere.example", "victim@[192.0.2.1]", "\"victim\"@elsewhere.example",
                "victim@ELSEWHERE.example"}) {
            c.send("RCPT TO:<" + victim + ">\r\n");
            assertThat(c.smtpReply()).matches(RELAYING_DENIED);
        }
        c.send("DATA\r\n");
        assertThat(c.smtpReply()).startsWith("554 "); // RFC 5321 §3.3: no valid recipients
    }

    @Test
    void anMxRefusesRemoteRecipientsFromAnyAddress() throws Exception {
        for (String source : new String[] {"127.0.0.1", "127.0.0.2", "127.9.9.9"}) {
            try (RawClient c = RawClient.connect(port("mx"), InetAddress.getByName(source))) {
                tryToRelay(c);
            }
        }
        assertNothingLeft();
    }

    @Test
    void aProxyHeaderClaimingALocalClientChangesNothing() throws Exception {
        // From the trusted proxy: the header is taken, and claims the server's own host.
        for (String claimed : new String[] {"127.0.0.1", "10.0.0.1"}) {
            try (RawClient c = RawClient.connect(port("mx-proxied"))) {
                c.send("PROXY TCP4 " + claimed + " 127.0.0.1 40000 25\r\n");
                tryToRelay(c);
            }
        }
        // From elsewhere the header is not taken: it is an unknown command, as it is on the listener
        // without proxy-from; the client's own address counts, and relays nothing either.
        for (String listener : new String[] {"mx-proxied", "mx"}) {
            try (RawClient c = RawClient.connect(port(listener), InetAddress.getByName("127.0.0.2"))) {
                c.send("PROXY TCP4 127.0.0.1 127.0.0.1 40000 25\r\n");
                assertThat(c.line()).startsWith("220 ");
                assertThat(c.smtpReply()).startsWith("5");
                c.send("EHLO relay-probe.example\r\n");
                assertThat(c.smtpReply()).startsWith("250 ");
                c.send("MAIL FROM:<" + TestServer.USER + ">\r\n");
                assertThat(c.smtpReply()).startsWith("250 ");
                c.send("RCPT TO:<victim@elsewhere.example>\r\n");
                assertThat(c.smtpReply()).matches(RELAYING_DENIED);
            }
        }
        assertNothingLeft();
    }

    private void assertNothingLeft() throws Exception {
        assertThat(server.server().outbound().orElseThrow().queue().list(10)).isEmpty();
        assertThat(nextHop.accept()).isNull(); // no connection ever waited at the next hop
    }
}
