package org.castellan.server.outbound;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.castellan.server.testing.ExternalClient;
import org.castellan.server.testing.TestServer;
import org.castellan.testkit.TestPki;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * REQUIRETLS (RFC 8689) from submission to the next hop: offered only after TLS on submission,
 * refused before TLS and on the MX listener, kept in the queue, and a message that asks for it is
 * never handed to a hop that DANE or MTA-STS did not authenticate: its recipient fails with
 * 5.7.10 and the sender gets the report (docs/outbound.md §5).
 */
class RequireTlsSubmissionTest {

    /** Prints what the server said at each step, as "step value". */
    private static final String CLIENT = """
            import smtplib, ssl, sys
            sub, mx, ca = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
            ctx = ssl.create_default_context(cafile=ca)
            message = "From: alice@example.org\\r\\nTo: carol@remote.test\\r\\nSubject: tls only\\r\\n\\r\\nSecret.\\r\\n"
            with smtplib.SMTP("127.0.0.1", mx) as s:
                s.starttls(context=ctx)
                s.ehlo("client.test")
                print("mx-offers", s.has_extn("requiretls"))
                print("mx-mail", *s.mail("alice@example.org", ["REQUIRETLS"]))
            with smtplib.SMTP("127.0.0.1", sub) as s:
                s.ehlo("client.test")
                print("plain-offers", s.has_extn("requiretls"))
                print("plain-mail", *s.mail("alice@example.org", ["REQUIRETLS"]))
                s.starttls(context=ctx)
                s.ehlo("client.test")
                print("tls-offers", s.has_extn("requiretls"))
                s.login("alice@example.org", "correct horse battery")
                print("refused", s.sendmail("alice@example.org", ["carol@remote.test"], message, mail_options=["REQUIRETLS"]))
            """;

    @TempDir Path dir;
    ScriptedReceiver receiver;
    TestServer server;

    @BeforeEach
    void start() throws Exception {
        TestPki pki = TestPki.create(Files.createDirectories(dir.resolve("receiver-pki")));
        // STARTTLS and REQUIRETLS offered, but reached by a static route: neither DANE nor MTA-STS vouches for it.
        receiver = new ScriptedReceiver(List.of("PIPELINING", "REQUIRETLS"), pki.serverFor("receiver.test"));
        String route = String.join("\n", "[[outbound.route]]", "domain = \"remote.test\"",
                "next-hop = \"127.0.0.1:" + receiver.port() + "\"", "");
        server = TestServer.startWith(dir.resolve("server"), "", route,
                TestServer.listener("submission", "submission", "starttls", false),
                TestServer.listener("mx", "smtp", "starttls", false));
    }

    @AfterEach
    void stop() throws Exception {
        if (server != null) server.server().close();
        if (receiver != null) receiver.close();
    }

    @Test
    void aRequireTlsMessageFailsAtAnUnauthenticatedHopAndNothingIsSent() throws Exception {
        ExternalClient.require("python3", "python3");
        int submission = server.server().addresses().get("submission").getPort();
        int mx = server.server().addresses().get("mx").getPort();
        ExternalClient.Result r = ExternalClient.run(List.of("python3", "-c", CLIENT, Integer.toString(submission),
                Integer.toString(mx), server.pki().trustFile().toString()), Map.of());
        assertThat(r.exitCode()).as(r.output()).isZero();
        // RFC 8689 §4: the keyword only over TLS, and only where mail is relayed on (not on MX).
        assertThat(r.output()).contains("mx-offers False").contains("mx-mail 555")
                .contains("plain-offers False").contains("plain-mail 530 b'5.7.10")
                .contains("tls-offers True").contains("refused {}");

        // RFC 8689 §4.2.1: the hop is not authenticated by DANE or MTA-STS: the recipient fails, not waits.
        await().atMost(Duration.ofSeconds(30)).until(() -> TestServer.messages(server.server().store(), server.inbox()).stream()
                .map(m -> new String(m, StandardCharsets.UTF_8)).anyMatch(m -> m.contains("multipart/report")));
        String report = TestServer.messages(server.server().store(), server.inbox()).stream()
                .map(m -> new String(m, StandardCharsets.UTF_8)).filter(m -> m.contains("multipart/report")).findFirst().orElseThrow();
        assertThat(report).contains("Action: failed").contains("5.7.10");
        assertThat(receiver.commands()).noneMatch(c -> c.startsWith("MAIL") || c.startsWith("RCPT"));
        assertThat(receiver.messages).isEmpty();
    }
}
