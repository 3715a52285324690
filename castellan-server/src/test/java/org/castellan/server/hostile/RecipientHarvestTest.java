package org.castellan.server.hostile;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.castellan.server.config.LogFormat;
import org.castellan.server.testing.LogCapture;
import org.castellan.server.testing.TestServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The probe guessed 1,386 recipients in half a second on the MX listener. With the [smtp] limits
 * (docs/configuration.md; here: delay after 2, 4 per session, 6 per host and hour) a guessing
 * client is slowed, then answered 421 4.7.0 and disconnected; reconnecting from the same host
 * continues its count, then is refused at the greeting; a client on another host is served as
 * ever. A reply is delayed on the event loop's timer: the only time asserted is a lower bound,
 * which a timer that never fires early cannot miss.
 */
class RecipientHarvestTest {

    private static final Duration DELAY = Duration.ofMillis(300);
    private static final String SMTP_TABLE = String.join("\n", "[smtp]", "unknown-recipient-delay-after = 2",
            "unknown-recipient-delay = \"" + DELAY.toMillis() + "ms\"", "unknown-recipient-limit = 4",
            "unknown-recipient-source-limit = 6", "unknown-recipient-window = \"1h\"");
    private static final String UNKNOWN = "550 5\\.1\\.1 .*";
    private static final String CLOSING = "421 4\\.7\\.0 .* Too many unknown recipients, closing connection";

    @TempDir Path dir;
    TestServer server;
    LogCapture log;

    @BeforeEach
    void start() {
        log = new LogCapture(LogFormat.TEXT);
        // TestServer writes its [auth] lines last before the listeners: the [smtp] table follows them.
        server = TestServer.startWith(dir, "", SMTP_TABLE, TestServer.listener("mx", "smtp", "none", false));
    }

    @AfterEach
    void stop() {
        server.server().close();
        log.close();
    }

    @Test
    void aGuessingHostIsSlowedThenClosedThenRefusedWhileAnotherIsServed() throws Exception {
        InetAddress harvester = address("127.0.0.2");
        try (RawClient c = session(harvester)) {
            assertThat(rcpt(c, "guess1")).matches(UNKNOWN);
            assertThat(rcpt(c, "guess2")).matches(UNKNOWN);
            // From here on every reply of the session waits.
            long before = System.nanoTime();
            assertThat(rcpt(c, "guess3")).matches(UNKNOWN);
            assertThat(Duration.ofNanos(System.nanoTime() - before)).isGreaterThanOrEqualTo(DELAY);
            // The session's fourth: refused, then the session ends (Postfix's hard error limit).
            assertThat(rcpt(c, "guess4")).matches(UNKNOWN);
            assertThat(c.line()).matches(CLOSING);
            assertThat(c.line()).isNull();
        }

        // Reconnecting continues the host's count: slowed from the first reply, closed at 6.
        try (RawClient c = RawClient.connect(port(), harvester)) {
            assertThat(c.line()).startsWith("220 ");
            long before = System.nanoTime();
            c.send("EHLO harvester.example\r\n");
            assertThat(c.smtpReply()).startsWith("250 ");
            assertThat(Duration.ofNanos(System.nanoTime() - before)).isGreaterThanOrEqualTo(DELAY);
            c.send("MAIL FROM:<>\r\n");
            assertThat(c.smtpReply()).startsWith("250 ");
            assertThat(rcpt(c, "guess5")).matches(UNKNOWN);
            assertThat(rcpt(c, "guess6")).matches(UNKNOWN);
            assertThat(c.line()).matches(CLOSING);
            assertThat(c.line()).isNull();
        }

        // The host is now refused in place of the greeting (RFC 5321 §3.8), for the rest of the window.
        try (RawClient c = RawClient.connect(port(), harvester)) {
            assertThat(c.line()).matches("421 4\\.7\\.0 .* Too many unknown recipients from your address, try again later");
            assertThat(c.line()).isNull();
        }

        // Another host is served as ever: its mail is delivered, its own mistake answered plainly.
        try (RawClient c = session(address("127.0.0.3"))) {
            assertThat(rcpt(c, "nobody")).matches(UNKNOWN);
            assertThat(rcpt(c, "bob")).startsWith("250 ");
            c.send("DATA\r\n");
            assertThat(c.line()).startsWith("354 ");
            c.send("From: carol@example.net\r\nSubject: unaffected\r\n\r\nhello\r\n.\r\n");
            assertThat(c.line()).startsWith("250 ");
            c.send("QUIT\r\n");
            assertThat(c.line()).startsWith("221 ");
        }
        assertThat(TestServer.messages(server.server().store(), server.otherInbox())).singleElement()
                .satisfies(m -> assertThat(new String(m, StandardCharsets.UTF_8)).contains("Subject: unaffected"));

        await().atMost(Duration.ofSeconds(30)).until(() -> log.count("smtp delaying replies") == 2
                && log.count("smtp closing: ") == 2 && log.count("smtp refused: 127.0.0.2 has tried 6 unknown recipients") == 1);
    }

    /** The probe's burst, pipelined in one write: a handful of answers, then 421 and the end. */
    @Test
    void aPipelinedBurstOfGuessesGetsAFewAnswers() throws UnknownHostException {
        try (RawClient c = RawClient.connect(port(), address("127.0.0.4"))) {
            assertThat(c.line()).startsWith("220 ");
            StringBuilder burst = new StringBuilder("EHLO burst.example\r\nMAIL FROM:<>\r\n");
            for (int i = 0; i < 1386; i++) burst.append("RCPT TO:<user").append(i).append("@example.org>\r\n");
            c.send(burst.toString());
            List<String> replies = new ArrayList<>();
            for (String line = c.line(); line != null; line = c.line()) replies.add(line);
            assertThat(replies).filteredOn(r -> r.matches(UNKNOWN)).hasSize(4);
            assertThat(replies).last().asString().matches(CLOSING);
        }
    }

    private RawClient session(InetAddress from) {
        RawClient c = RawClient.connect(port(), from);
        assertThat(c.line()).startsWith("220 ");
        c.send("EHLO client.example\r\n");
        assertThat(c.smtpReply()).startsWith("250 ");
        c.send("MAIL FROM:<carol@example.net>\r\n");
        assertThat(c.smtpReply()).startsWith("250 ");
        return c;
    }

    private static String rcpt(RawClient c, String local) {
        c.send("RCPT TO:<" + local + "@example.org>\r\n");
        return c.smtpReply();
    }

    private int port() {
        return server.server().addresses().get("mx").getPort();
    }

    private static InetAddress address(String literal) throws UnknownHostException {
        return InetAddress.getByName(literal);
    }
}
