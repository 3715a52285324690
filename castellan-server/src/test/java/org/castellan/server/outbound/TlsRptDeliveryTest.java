package org.castellan.server.outbound;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.zip.GZIPInputStream;
import org.castellan.protocol.smtp.Dsn;
import org.castellan.protocol.smtp.SmtpCommand;
import org.castellan.server.Castellan;
import org.castellan.server.config.CastellanConfig;
import org.castellan.server.testing.ExternalClient;
import org.castellan.server.testing.TestServer;
import org.castellan.server.testing.TxtZone;
import org.castellan.store.queue.NewQueuedMessage;
import org.castellan.store.queue.NewQueuedRecipient;
import org.castellan.store.queue.OutboundQueue;
import org.castellan.store.queue.QueuedRecipient;
import org.castellan.store.queue.RecipientState;
import org.castellan.testkit.TestPki;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.MXRecord;
import org.xbill.DNS.Name;

/**
 * TLS-RPT on a running server (RFC 8460, docs/outbound.md §5): the day's counts are in the store,
 * so a restart keeps them and the day's report holds every session; report mail goes despite the
 * TLS failures that defer other mail, and its own session is not counted (RFC 8460 §3).
 */
class TlsRptDeliveryTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    /** A loopback address of its own, so that port 25 is free on it; the MX host of remote.test. */
    private static final String MX_ADDRESS = "127.0.83.1";
    private static final long TTL = 300;

    @TempDir Path dir;
    ZoneDnsServer dns;
    ScriptedReceiver mx;
    /** A receiver whose certificate names another host than the route's next hop. */
    ScriptedReceiver strict;
    Castellan server;
    /** What a submission client trusts for the server's certificate. */
    Path submissionTrust;

    @BeforeEach
    void start() throws Exception {
        Name domain = Name.fromString("remote.test.");
        Name host = Name.fromString("mx.remote.test.");
        dns = new ZoneDnsServer(Map.of(domain, List.of(new MXRecord(domain, DClass.IN, TTL, 10, host)),
                host, List.of(new ARecord(host, DClass.IN, TTL, InetAddress.getByName(MX_ADDRESS)))));
        Path pkiDir = Files.createDirectories(dir.resolve("receiver-pki"));
        TestPki pki = TestPki.create(pkiDir);
        mx = new ScriptedReceiver(new InetSocketAddress(InetAddress.getByName(MX_ADDRESS), Router.SMTP_PORT),
                List.of("PIPELINING"), pki.serverFor("mx.remote.test"));
        strict = new ScriptedReceiver(List.of("PIPELINING"), pki.serverFor("other.test"));
        String outbound = String.join("\n", "[dns]", "resolvers = [\"127.0.0.1:" + dns.address().getPort() + "\"]",
                "dnssec = false",
                // verify-name: the certificate must name "localhost", and names other.test
                "[[outbound.route]]", "domain = \"strict.test\"", "next-hop = \"localhost:" + strict.port() + "\"",
                "tls = \"verify-name\"", "ca-file = \"" + pki.trustFile() + "\"", "");
        TestServer started = TestServer.startWith(dir.resolve("server"), "", outbound,
                TestServer.listener("submissions", "submission", "implicit", false));
        server = started.server();
        submissionTrust = started.pki().trustFile();
    }

    @AfterEach
    void stop() throws IOException {
        if (server != null) server.close();
        mx.close();
        strict.close();
        dns.close();
    }

    private OutboundEngine engine() {
        return server.outbound().orElseThrow();
    }

    private long enqueue(String recipient) {
        OutboundQueue queue = engine().queue();
        long id = queue.enqueue(new NewQueuedMessage("alice@example.org", Optional.empty(), Dsn.Ret.HDRS,
                SmtpCommand.Body.SEVEN_BIT, false, false, Optional.empty(), "test", Instant.now(),
                List.of(new NewQueuedRecipient(recipient, Set.of(Dsn.Notify.FAILURE), Optional.empty()))),
                new ByteArrayInputStream("Subject: counted\r\n\r\nHi.\r\n".getBytes(StandardCharsets.US_ASCII))).id();
        engine().wake();
        return id;
    }

    private QueuedRecipient attempted(long id) {
        OutboundQueue queue = engine().queue();
        await().atMost(Duration.ofSeconds(30)).until(() -> queue.get(id).map(m -> m.recipients().get(0).attempts() > 0)
                .orElse(true));
        return queue.get(id).map(m -> m.recipients().get(0)).orElse(null);
    }

    private void delivered(long id) {
        OutboundQueue queue = engine().queue();
        await().atMost(Duration.ofSeconds(30)).until(() -> queue.get(id).map(m -> m.recipients().get(0).state()
                == RecipientState.DELIVERED).orElse(true)); // delivered and already purged counts too
    }

    /** The day's reports as the daily sender makes them once the day is over, to {@code rua}. */
    private void sendTodaysReports(String rua) {
        LocalDate tomorrow = LocalDate.now(ZoneOffset.UTC).plusDays(1);
        TxtZone records = TxtZone.of(Map.of("_smtp._tls.remote.test", List.of("v=TLSRPTv1; rua=" + rua)));
        try (TlsRptSender sender = new TlsRptSender(engine(), records, "localhost",
                new TlsRptPost(Optional.empty(), HttpClient.Builder.NO_PROXY, Duration.ofSeconds(5)),
                Clock.systemUTC(), Duration.ZERO)) {
            sender.sendDue(tomorrow);
        }
    }

    @Test
    void aRestartKeepsTheDaysCountsAndTheReportHoldsEverySession() throws Exception {
        delivered(enqueue("carol@remote.test"));
        delivered(enqueue("dave@remote.test"));
        Path config = dir.resolve("server").resolve("castellan.toml");
        server.close();
        server = Castellan.start(CastellanConfig.parse(Files.readString(config), config)); // the same data directory
        delivered(enqueue("erin@remote.test"));

        sendTodaysReports("mailto:tlsrpt@remote.test");
        await().atMost(Duration.ofSeconds(30)).until(() -> mx.messages.stream().anyMatch(m -> m.contains("TLS-Report-Domain:")));
        String report = mx.messages.stream().filter(m -> m.contains("TLS-Report-Domain: remote.test")).findFirst().orElseThrow();
        JsonNode policies = JSON.readTree(gunzip(report)).get("policies");
        assertThat(policies).hasSize(1);
        assertThat(policies.get(0).at("/policy/policy-type").asText()).isEqualTo("no-policy-found");
        // RFC 8460 §4.4: every session of the day, the two before the restart included.
        assertThat(policies.get(0).at("/summary/total-successful-session-count").asLong()).isEqualTo(3);
        assertThat(policies.get(0).at("/summary/total-failure-session-count").asLong()).isZero();

        // Drained once: a second pass has nothing to send, and the report's own session is not counted (RFC 8460 §3).
        OutboundQueue queue = engine().queue();
        await().atMost(Duration.ofSeconds(30)).until(() -> queue.list(10).isEmpty());
        assertThat(engine().tlsReports().pending()).isEmpty();
        int before = mx.messages.size();
        sendTodaysReports("mailto:tlsrpt@remote.test");
        assertThat(queue.list(10)).isEmpty();
        assertThat(mx.messages).hasSize(before);
    }

    /** Submits one message to carol@remote.test and prints "ok" once the server answered 250. */
    private static final String SUBMIT = """
            import smtplib, ssl, sys
            port, ca = int(sys.argv[1]), sys.argv[2]
            with smtplib.SMTP_SSL("127.0.0.1", port, context=ssl.create_default_context(cafile=ca)) as s:
                s.login("alice@example.org", "correct horse battery")
                s.sendmail("alice@example.org", ["carol@remote.test"],
                           "From: alice@example.org\\r\\nTo: carol@remote.test\\r\\nSubject: counted\\r\\n\\r\\nHi.\\r\\n")
                print("ok")
            """;

    @Test
    void aKillMinusNineKeepsTheSessionsCountedBeforeIt() throws Exception {
        ExternalClient.require("python3", "python3");
        Path data = dir.resolve("server");
        server.close(); // castellan serve, in a JVM of its own, takes the data directory over
        server = null;
        try (QueueCrashTest.Serve serve = QueueCrashTest.Serve.start(data, dir.resolve("serve.log"))) {
            int port = serve.port();
            for (int i = 1; i <= 2; i++) {
                ExternalClient.Result r = ExternalClient.run(List.of("python3", "-c", SUBMIT, Integer.toString(port),
                        submissionTrust.toString()), Map.of());
                assertThat(r.output()).as(r.output()).contains("ok");
                int delivered = i;
                await().atMost(Duration.ofSeconds(30)).until(() -> mx.messages.size() == delivered);
            }
            serve.kill(); // SIGKILL: no shutdown of any kind
        }
        int sessions = mx.connections.get();
        Path config = data.resolve("castellan.toml");
        server = Castellan.start(CastellanConfig.parse(Files.readString(config), config));

        sendTodaysReports("mailto:tlsrpt@remote.test");
        await().atMost(Duration.ofSeconds(30)).until(() -> mx.messages.stream().anyMatch(m -> m.contains("TLS-Report-Domain:")));
        String report = mx.messages.stream().filter(m -> m.contains("TLS-Report-Domain: remote.test")).findFirst().orElseThrow();
        JsonNode policy = JSON.readTree(gunzip(report)).get("policies").get(0);
        // Each session was counted, and committed, as it began: every one before the kill is in the report.
        assertThat(policy.at("/summary/total-successful-session-count").asLong()).isEqualTo(sessions).isPositive();
    }

    @Test
    void reportMailGoesWhereTheCertificateFailsThePolicyAndOtherMailWaits() throws Exception {
        long ordinary = enqueue("carol@strict.test");
        QueuedRecipient r = attempted(ordinary);
        // The route's verify-name policy is not met: deferred, nothing sent in the session.
        assertThat(r.state()).isEqualTo(RecipientState.QUEUED);
        assertThat(r.lastReply()).hasValueSatisfying(reply -> assertThat(reply).startsWith("4.7.5 "));
        assertThat(strict.commands()).contains("STARTTLS").noneMatch(c -> c.startsWith("MAIL"));

        engine().tlsReports().success(TlsRptPolicy.none("remote.test"));
        sendTodaysReports("mailto:tlsrpt@strict.test");
        // RFC 8460 §3: the report goes despite the TLS failure, over TLS with any certificate.
        await().atMost(Duration.ofSeconds(30)).until(() -> strict.messages.stream().anyMatch(m -> m.contains("TLS-Report-Domain:")));
        assertThat(strict.commands()).contains("MAIL FROM:<postmaster@localhost>", "RCPT TO:<tlsrpt@strict.test>")
                .doesNotContain("RCPT TO:<carol@strict.test>");
        assertThat(engine().queue().get(ordinary).orElseThrow().recipients().get(0).state()).isEqualTo(RecipientState.QUEUED);
    }

    /** The JSON of the report mail's {@code application/tlsrpt+gzip} part. */
    private static String gunzip(String message) throws IOException {
        int part = message.indexOf("Content-Type: application/tlsrpt+gzip");
        int body = message.indexOf("\r\n\r\n", part) + 4;
        byte[] gzip = Base64.getMimeDecoder().decode(message.substring(body, message.indexOf("\r\n--", body)));
        try (GZIPInputStream in = new GZIPInputStream(new ByteArrayInputStream(gzip))) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }
}
