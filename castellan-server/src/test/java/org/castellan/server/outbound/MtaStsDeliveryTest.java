package org.castellan.server.outbound;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import java.io.ByteArrayInputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Executors;
import javax.net.ssl.SSLContext;
import org.castellan.protocol.smtp.Dsn;
import org.castellan.protocol.smtp.SmtpCommand.Body;
import org.castellan.server.dns.DnsFixture;
import org.castellan.server.dns.DnsFixture.Signing;
import org.castellan.server.dns.DnsFixture.Zone;
import org.castellan.server.dns.DnsResolver;
import org.castellan.server.testing.PostfixReceiver;
import org.castellan.store.embedded.EmbeddedMailStore;
import org.castellan.store.queue.NewQueuedMessage;
import org.castellan.store.queue.NewQueuedRecipient;
import org.castellan.store.queue.QueuedRecipient;
import org.castellan.store.queue.RecipientState;
import org.castellan.testkit.TestCertificate;
import org.castellan.testkit.TestPki;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * MTA-STS (RFC 8461) applied by the engine: the {@code _mta-sts} TXT records in an unsigned zone
 * (so DANE does not apply) on NSD behind Unbound, the policies served over HTTPS on loopback and
 * reached by name through {@link ConnectProxy}, the receivers STARTTLS servers on port 25 of
 * loopback addresses of their own with TestPki certificates. Under {@code enforce} a certificate
 * for another name defers the mail with nothing sent; the right name delivers it; under
 * {@code testing} the wrong name is counted for TLS-RPT and the mail goes anyway.
 */
class MtaStsDeliveryTest {

    private static final String ENFORCE_WRONG = "127.0.27.1";
    private static final String ENFORCE_RIGHT = "127.0.27.2";
    private static final String TESTING_WRONG = "127.0.27.3";
    private static final String UNLISTED = "127.0.27.4";
    /** A real Postfix with a certificate for another name than its MX host's. */
    private static final String POSTFIX_WRONG = "127.0.27.5";
    /** The MX host of a domain whose policy is invalid. */
    private static final String INVALID_POLICY = "127.0.27.6";
    private static final Map<String, String> MODES = Map.of("a", "enforce", "b", "enforce", "c", "testing", "d", "enforce",
            "e", "enforce", "f", "strict");

    @TempDir static Path pkiDir;
    static TestPki pki;
    static TestCertificate wrongName;
    static TestCertificate rightName;
    static DnsFixture dns;
    static HttpsServer policies;
    static ConnectProxy proxy;

    @TempDir Path dir;
    EmbeddedMailStore store;
    OutboundEngine engine;
    MtaStsFetcher fetcher;

    @BeforeAll
    static void start() throws Exception {
        pki = TestPki.create(pkiDir);
        wrongName = pki.serverFor("other.test");
        rightName = pki.serverFor("mx-b.sts.test");
        dns = DnsFixture.start(new Zone("sts.test", Signing.UNSIGNED, List.of(
                "a MX 10 mx-a", "mx-a A " + ENFORCE_WRONG, "_mta-sts.a TXT \"v=STSv1; id=1\"",
                "b MX 10 mx-b", "mx-b A " + ENFORCE_RIGHT, "_mta-sts.b TXT \"v=STSv1; id=1\"",
                "c MX 10 mx-c", "mx-c A " + TESTING_WRONG, "_mta-sts.c TXT \"v=STSv1; id=1\"",
                // the policy of d lists mx-d, but its MX is another host
                "d MX 10 elsewhere", "elsewhere A " + UNLISTED, "_mta-sts.d TXT \"v=STSv1; id=1\"",
                "e MX 10 mx-e", "mx-e A " + POSTFIX_WRONG, "_mta-sts.e TXT \"v=STSv1; id=1\"",
                // the policy of f has a mode RFC 8461 §3.2 does not know
                "f MX 10 mx-f", "mx-f A " + INVALID_POLICY, "_mta-sts.f TXT \"v=STSv1; id=1\"")));
        TestCertificate policyHost = pki.serverFor("mta-sts.a.sts.test", "mta-sts.b.sts.test", "mta-sts.c.sts.test",
                "mta-sts.d.sts.test", "mta-sts.e.sts.test", "mta-sts.f.sts.test");
        SSLContext tls = SSLContext.getInstance("TLS");
        tls.init(policyHost.keyManagerFactory().getKeyManagers(), null, null);
        policies = HttpsServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        policies.setHttpsConfigurator(new HttpsConfigurator(tls));
        policies.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
        policies.createContext(MtaStsFetcher.PATH, exchange -> {
            try (exchange) {
                // RFC 8461 §3.2: the policy of <label>.sts.test, served at mta-sts.<label>.sts.test
                String label = exchange.getRequestHeaders().getFirst("Host").toLowerCase(Locale.ROOT).split("\\.")[1];
                byte[] body = ("version: STSv1\r\nmode: " + MODES.get(label) + "\r\nmx: mx-" + label
                        + ".sts.test\r\nmax_age: 86400\r\n").getBytes(StandardCharsets.US_ASCII);
                exchange.getResponseHeaders().set("Content-Type", "text/plain");
                exchange.sendResponseHeaders(200, body.length);
                try (OutputStream out = exchange.getResponseBody()) {
                    out.write(body);
                }
            }
        });
        policies.start();
        int port = policies.getAddress().getPort();
        proxy = new ConnectProxy(Map.of("mta-sts.a.sts.test", port, "mta-sts.b.sts.test", port, "mta-sts.c.sts.test", port,
                "mta-sts.d.sts.test", port, "mta-sts.e.sts.test", port, "mta-sts.f.sts.test", port));
    }

    @AfterAll
    static void stopAll() throws Exception {
        if (proxy != null) proxy.close();
        if (policies != null) policies.stop(0);
        if (dns != null) dns.close();
    }

    @BeforeEach
    void engine() throws Exception {
        store = EmbeddedMailStore.open(Files.createDirectories(dir.resolve("mail")));
        DnsResolver resolver = dns.resolver(1);
        fetcher = new MtaStsFetcher(Optional.of(pki.trustStore()), proxy.selector(), Duration.ofSeconds(10));
        engine = new OutboundEngine(store, Optional.of(resolver), OutboundSessionTest.settings(Duration.ofSeconds(10)),
                "castellan.test", Clock.systemUTC())
                .applyMtaSts(new MtaStsPolicies(resolver, fetcher, dir.resolve("mta-sts"), Clock.systemUTC()),
                        Optional.of(pki.trustFile()));
    }

    @AfterEach
    void stop() {
        engine.close();
        fetcher.close();
        store.close();
    }

    private long enqueue(String recipient) {
        return enqueue(recipient, "Subject: sts\r\n\r\nHi.\r\n");
    }

    private long enqueue(String recipient, String content) {
        NewQueuedMessage m = new NewQueuedMessage("alice@example.org", Optional.empty(), Dsn.Ret.UNSPECIFIED, Body.SEVEN_BIT,
                false, false, Optional.empty(), "test", Clock.systemUTC().instant(),
                List.of(new NewQueuedRecipient(recipient, EnumSet.of(Dsn.Notify.FAILURE), Optional.empty())));
        return store.enqueue(m, new ByteArrayInputStream(content.getBytes(StandardCharsets.US_ASCII))).id();
    }

    private QueuedRecipient deliverTo(String address, TestCertificate certificate, String recipient, List<String> commands)
            throws Exception {
        try (ScriptedReceiver r = new ScriptedReceiver(new InetSocketAddress(InetAddress.getByName(address), Router.SMTP_PORT),
                List.of("PIPELINING"), certificate)) {
            long id = enqueue(recipient);
            engine.start();
            await().atMost(Duration.ofSeconds(60)).until(() -> store.get(id).orElseThrow().recipients().get(0).attempts() > 0);
            commands.addAll(r.commands());
            return store.get(id).orElseThrow().recipients().get(0);
        }
    }

    @Test
    void enforceRefusesACertificateForAnotherName() throws Exception {
        List<String> commands = new ArrayList<>();
        QueuedRecipient q = deliverTo(ENFORCE_WRONG, wrongName, "carol@a.sts.test", commands);
        // RFC 8461 §5.1: under enforce, no delivery to an MX host whose certificate does not name it.
        assertThat(q.state()).isEqualTo(RecipientState.QUEUED);
        assertThat(q.lastReply()).hasValueSatisfying(reply -> assertThat(reply).startsWith("4.7.5 MTA-STS: "));
        assertThat(commands).contains("STARTTLS");
        assertThat(commands).noneMatch(c -> c.startsWith("MAIL") || c.startsWith("RCPT"));
    }

    @Test
    void enforceSkipsAnMxHostThePolicyDoesNotList() throws Exception {
        List<String> commands = new ArrayList<>();
        QueuedRecipient q = deliverTo(UNLISTED, rightName, "carol@d.sts.test", commands);
        // RFC 8461 §4.1: under enforce only the MX hosts the policy lists are used.
        assertThat(q.state()).isEqualTo(RecipientState.QUEUED);
        assertThat(q.lastReply()).hasValueSatisfying(reply -> assertThat(reply)
                .startsWith("4.7.5 MTA-STS: elsewhere.sts.test is not an MX host"));
        assertThat(commands).isEmpty();
    }

    @Test
    void enforceDeliversToTheRightName() throws Exception {
        List<String> commands = new ArrayList<>();
        QueuedRecipient q = deliverTo(ENFORCE_RIGHT, rightName, "carol@b.sts.test", commands);
        assertThat(q.state()).isEqualTo(RecipientState.DELIVERED);
        assertThat(commands).containsSubsequence("STARTTLS", "RCPT TO:<carol@b.sts.test>");
        assertThat(engine.tlsReports().pending().get("b.sts.test")).singleElement().satisfies(p -> {
            assertThat(p.policy().type()).isEqualTo(TlsRptPolicy.Type.STS);
            assertThat(p.successes()).isEqualTo(1);
        });
    }

    @Test
    void testingDeliversAndCountsTheFailure() throws Exception {
        List<String> commands = new ArrayList<>();
        QueuedRecipient q = deliverTo(TESTING_WRONG, wrongName, "carol@c.sts.test", commands);
        // RFC 8461 §5: a testing policy is reported (RFC 8460), not enforced.
        assertThat(q.state()).isEqualTo(RecipientState.DELIVERED);
        assertThat(engine.tlsReports().pending().get("c.sts.test")).singleElement().satisfies(p -> {
            assertThat(p.policy().type()).isEqualTo(TlsRptPolicy.Type.STS);
            assertThat(p.failures().keySet()).extracting(TlsRptAggregator.FailureDetails::resultType)
                    .containsExactly(TlsRptResultType.CERTIFICATE_HOST_MISMATCH);
        });
    }

    @Test
    void anInvalidPolicyIsReportedAndTheMailGoesAsWithNone() throws Exception {
        List<String> commands = new ArrayList<>();
        QueuedRecipient q = deliverTo(INVALID_POLICY, wrongName, "carol@f.sts.test", commands);
        // RFC 8461 §5.1: without a valid policy the mail goes as for a domain with none.
        assertThat(q.state()).isEqualTo(RecipientState.DELIVERED);
        // RFC 8460 §4.3.2.2: the policy that could not be had is reported, beside the session's own count.
        assertThat(engine.tlsReports().pending().get("f.sts.test")).satisfiesExactlyInAnyOrder(p -> {
            assertThat(p.policy()).isEqualTo(TlsRptPolicy.stsUnavailable("f.sts.test"));
            assertThat(p.successes()).isZero();
            assertThat(p.failures().keySet()).singleElement().satisfies(d -> {
                assertThat(d.resultType()).isEqualTo(TlsRptResultType.STS_POLICY_INVALID);
                assertThat(d.receivingMxHostname()).isEqualTo("mta-sts.f.sts.test");
                assertThat(d.additionalInformation()).hasValueSatisfying(i -> assertThat(i).contains("mode"));
            });
        }, p -> {
            assertThat(p.policy().type()).isEqualTo(TlsRptPolicy.Type.NO_POLICY_FOUND);
            assertThat(p.successes()).isOne();
        });
    }

    @Test
    void tlsRequiredNoPassesOverAnEnforcedCertificateFailure() throws Exception {
        try (ScriptedReceiver r = new ScriptedReceiver(new InetSocketAddress(InetAddress.getByName(ENFORCE_WRONG),
                Router.SMTP_PORT), List.of("PIPELINING"), wrongName)) {
            long id = enqueue("carol@a.sts.test", "Subject: sts\r\nTLS-Required: No\r\n\r\nHi.\r\n");
            engine.start();
            await().atMost(Duration.ofSeconds(60)).until(() -> store.get(id).orElseThrow().recipients().get(0).attempts() > 0);
            // RFC 8689 §4.2.2: the recipient domain's MTA-STS failure does not stop this message.
            assertThat(store.get(id).orElseThrow().recipients().get(0).state()).isEqualTo(RecipientState.DELIVERED);
            assertThat(r.commands()).containsSubsequence("STARTTLS", "STARTTLS", "RCPT TO:<carol@a.sts.test>");
        }
    }

    @Test
    void enforceGivesAPostfixWithAnotherNamesCertificateNothing() throws Exception {
        try (PostfixReceiver postfix = new PostfixReceiver(Files.createDirectories(dir.resolve("postfix")), wrongName,
                "e.sts.test", new InetSocketAddress(InetAddress.getByName(POSTFIX_WRONG), Router.SMTP_PORT))) {
            long id = enqueue(postfix.recipient);
            engine.start();
            await().atMost(Duration.ofSeconds(60)).until(() -> store.get(id).orElseThrow().recipients().get(0).attempts() > 0);
            QueuedRecipient q = store.get(id).orElseThrow().recipients().get(0);
            // RFC 8461 §5.1: under enforce, no delivery to an MX host whose certificate does not name it.
            assertThat(q.state()).isEqualTo(RecipientState.QUEUED);
            assertThat(q.lastReply()).hasValueSatisfying(reply -> assertThat(reply).startsWith("4.7.5 MTA-STS: "));
            assertThat(postfix.queuedAnything()).as(postfix.maillog()).isFalse();
        }
    }
}
