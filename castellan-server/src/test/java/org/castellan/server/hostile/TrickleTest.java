package org.castellan.server.hostile;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.castellan.security.auth.AuthService;
import org.castellan.security.auth.AuthSettings;
import org.castellan.security.rules.ConnectionRules;
import org.castellan.security.tls.TlsPolicy;
import org.castellan.server.StoreCredentials;
import org.castellan.security.tls.TlsPolicy.ClientCertMode;
import org.castellan.server.config.Listener;
import org.castellan.server.config.Protocol;
import org.castellan.server.config.TlsMode;
import org.castellan.server.imap.ImapService;
import org.castellan.server.pop3.Pop3Service;
import org.castellan.server.smtp.SmtpLimits;
import org.castellan.server.smtp.SmtpService;
import org.castellan.server.testing.TestServer;
import org.castellan.server.transport.SessionRegistry;
import org.castellan.server.transport.Transport;
import org.castellan.store.embedded.EmbeddedMailStore;
import org.castellan.testkit.TestPki;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Slow clients, as an outside probe drove them: one byte every few seconds kept SMTP and
 * pre-login IMAP connections open for as long as the probe cared to go on, since every byte reset
 * the idle timer. Here every deadline is two seconds and the client sends a byte every 300 ms
 * ({@link SlowClient}); each test checks only that the server closed the connection, and with
 * which words. A server that does not close fails after {@link SlowClient#LIMIT}.
 */
class TrickleTest {

    /** Every deadline under test. */
    private static final String DEADLINE = "2s";

    @TempDir static Path dir;
    static TestServer server;

    @BeforeAll
    static void start() {
        server = TestServer.startWith(dir, "", "login-timeout = \"" + DEADLINE + "\"",
                TestServer.listener("imap", "imap", "starttls", true),
                TestServer.listener("imaps", "imap", "implicit", false),
                TestServer.listener("pop3", "pop3", "starttls", true),
                TestServer.listener("mx", "smtp", "starttls", false)
                        + "command-deadline = \"" + DEADLINE + "\"\n"
                        // 100 octets/s after two seconds: three a second is far below.
                        + "min-data-rate = 100\n");
    }

    @AfterAll
    static void stop() {
        if (server != null) server.server().close();
    }

    private static SlowClient connect(String listener) {
        return SlowClient.connect("127.0.0.2", server.server().addresses().get(listener));
    }

    @Test
    void anImapClientTricklingItsLoginIsToldGoodbyeAtTheLoginTimeout() {
        try (SlowClient imap = connect("imap")) {
            assertThat(imap.readLine()).startsWith("* OK ");
            String said = imap.trickleUntilClosed("a1 LOGIN alice@example.org ");
            assertThat(imap.closed()).isTrue();
            // RFC 9051 §5.4: the timer before authentication may be shorter than the autologout.
            assertThat(said).isEqualTo("* BYE Autologout; no login in time\r\n");
        }
    }

    @Test
    void aPop3ClientTricklingItsUserCommandIsClosedSilentlyAtTheLoginTimeout() {
        try (SlowClient pop3 = connect("pop3")) {
            assertThat(pop3.readLine()).startsWith("+OK ");
            String said = pop3.trickleUntilClosed("USER alice@example.org");
            assertThat(pop3.closed()).isTrue();
            // RFC 1939 §3: a session ended by a timer is closed without a response.
            assertThat(said).isEmpty();
        }
    }

    @Test
    void aTlsHandshakeTrickledPastTheLoginTimeoutGetsNoGreeting() {
        byte[] hello = SlowClient.clientHello(server.pki().clientContext());
        try (SlowClient imaps = connect("imaps")) {
            // The first dozen bytes take 3.6 s, past the two-second login timeout, which runs from accept.
            imaps.trickle(Arrays.copyOf(hello, 12));
            if (!imaps.closed()) imaps.sendAll(Arrays.copyOfRange(hello, 12, hello.length));
            assertThat(imaps.readUntilClosed()).as("no ServerHello, no greeting").isEmpty();
            assertThat(imaps.closed()).isTrue();
        }
    }

    @Test
    void anSmtpCommandLineTrickledAByteAtATimeGets421AtTheCommandDeadline() {
        try (SlowClient mx = connect("mx")) {
            assertThat(mx.readLine()).startsWith("220 ");
            String said = mx.trickleUntilClosed("EHLO slow.example.net");
            assertThat(mx.closed()).isTrue();
            // RFC 5321 §3.8: the server may close with 421; RFC 3463 4.4.2: a bad connection.
            assertThat(said).isEqualTo("421 4.4.2 localhost Command not completed in time, closing connection\r\n");
        }
    }

    @Test
    void smtpDataTrickledBelowTheMinimumRateGets421() {
        try (SlowClient mx = connect("mx")) {
            assertThat(mx.readLine()).startsWith("220 ");
            mx.send("HELO slow.example.net");
            assertThat(mx.readLine()).startsWith("250 ");
            mx.send("MAIL FROM:<sender@example.net>");
            assertThat(mx.readLine()).startsWith("250 ");
            mx.send("RCPT TO:<" + TestServer.USER + ">");
            assertThat(mx.readLine()).startsWith("250 ");
            mx.send("DATA");
            assertThat(mx.readLine()).startsWith("354 ");
            String said = mx.trickleUntilClosed("Subject: slow\r\n");
            assertThat(mx.closed()).isTrue();
            assertThat(said).isEqualTo("421 4.4.2 localhost Data arriving too slowly, closing connection\r\n");
        }
    }

    /**
     * The idle timers themselves (IMAP's 30-minute autologout, POP3's 10 minutes, SMTP's 5) count
     * whole commands: shortened to two seconds through the services' constructors, as
     * AutologoutTest does, a logged-in IMAP or POP3 session and an SMTP session trickling bytes are
     * closed as idle ones.
     */
    @Test
    void idleTimersCountWholeCommandsNotBytes(@TempDir Path own) throws Exception {
        Duration idle = Duration.parse("PT" + DEADLINE);
        TestPki pki = TestPki.create(Files.createDirectories(own.resolve("pki")));
        TlsPolicy tls = TlsPolicy.builder(TlsPolicy.Preset.INTERMEDIATE, pki.server().chainFile(), pki.server().keyFile()).build();
        try (EmbeddedMailStore store = EmbeddedMailStore.open(own.resolve("mail"));
             AuthService auth = new AuthService(new StoreCredentials(store), AuthSettings.defaults(), Clock.systemUTC());
             ExecutorService blocking = Executors.newVirtualThreadPerTaskExecutor()) {
            store.createDomain("example.org");
            TestServer.createAccount(store, TestServer.USER);
            Transport transport = new Transport(new SessionRegistry(), new ConnectionRules(List.of()), tls, Clock.systemUTC());
            try {
                InetSocketAddress imap = transport.bind(cleartext("imap", Protocol.IMAP),
                        new ImapService(store, auth, blocking, idle, "localhost", Set.of(), Optional.empty()));
                InetSocketAddress pop3 = transport.bind(cleartext("pop3", Protocol.POP3),
                        new Pop3Service(store, auth, blocking, idle));
                SmtpLimits d = SmtpLimits.DEFAULTS;
                InetSocketAddress mx = transport.bind(cleartext("mx", Protocol.SMTP),
                        new SmtpService("localhost", store, auth, blocking, Clock.systemUTC(), new SmtpLimits(d.maxMessageSize(),
                                d.maxRecipients(), d.maxCommands(), d.maxErrors(), d.maxAuthFailures(), idle, d.memorySpool())));

                try (SlowClient c = SlowClient.connect("127.0.0.2", imap)) {
                    assertThat(c.readLine()).startsWith("* OK ");
                    c.send("a1 LOGIN \"" + TestServer.USER + "\" \"" + TestServer.PASSWORD + "\"");
                    assertThat(c.readLine()).startsWith("a1 OK ");
                    assertThat(c.trickleUntilClosed("a2 NOOP")).isEqualTo("* BYE Autologout; idle for too long\r\n");
                    assertThat(c.closed()).isTrue();
                }
                try (SlowClient c = SlowClient.connect("127.0.0.2", pop3)) {
                    assertThat(c.readLine()).startsWith("+OK ");
                    c.send("USER " + TestServer.USER);
                    assertThat(c.readLine()).startsWith("+OK");
                    c.send("PASS " + TestServer.PASSWORD);
                    assertThat(c.readLine()).startsWith("+OK");
                    assertThat(c.trickleUntilClosed("STAT")).isEmpty(); // RFC 1939 §3: no response
                    assertThat(c.closed()).isTrue();
                }
                try (SlowClient c = SlowClient.connect("127.0.0.2", mx)) {
                    assertThat(c.readLine()).startsWith("220 ");
                    // RFC 5321 §4.5.3.2.7: the server timeout waits for the next command, not the next byte.
                    assertThat(c.trickleUntilClosed("NOOP")).isEqualTo("421 4.4.2 localhost Timeout, closing connection\r\n");
                    assertThat(c.closed()).isTrue();
                }
            } finally {
                transport.close();
            }
        }
    }

    private static Listener cleartext(String name, Protocol protocol) {
        return new Listener(name, protocol, "127.0.0.1", 0, TlsMode.NONE, ClientCertMode.NONE, true, List.of());
    }
}
