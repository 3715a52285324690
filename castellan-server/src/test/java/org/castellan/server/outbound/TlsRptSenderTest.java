package org.castellan.server.outbound;

import org.castellan.server.testing.TxtZone;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
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
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicReference;
import java.util.zip.GZIPInputStream;
import javax.net.ssl.SSLContext;
import org.castellan.security.mailauth.DkimAlgorithm;
import org.castellan.security.mailauth.DnsLookup;
import org.castellan.server.dkim.DkimKeys;
import org.castellan.store.embedded.EmbeddedMailStore;
import org.castellan.store.queue.QueuedMessage;
import org.castellan.testkit.MutableClock;
import org.castellan.testkit.TestPki;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * RFC 8460 §4.1, §5.3, §5.4: the day's counts become one report per policy domain, mailed to each
 * {@code rua=mailto:} through the outbound queue (DKIM-signed) and POSTed to each {@code rua=https:}.
 */
class TlsRptSenderTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String HOSTNAME = "mx.castellan.test";
    private static final String REPORTS_HOST = "reports.example.test";
    private static final Instant START = Instant.parse("2026-12-05T00:00:00Z");
    private static final Instant END = Instant.parse("2026-12-06T00:00:00Z");

    @TempDir
    Path dir;
    EmbeddedMailStore store;
    OutboundEngine engine;

    @BeforeEach
    void open() throws IOException {
        store = EmbeddedMailStore.open(Files.createDirectories(dir.resolve("mail")));
        Path data = Files.createDirectories(dir.resolve("data"));
        new DkimKeys(data).generate(HOSTNAME, Set.of(DkimAlgorithm.ED25519_SHA256), Instant.now());
        engine = new OutboundEngine(store, Optional.empty(), OutboundSessionTest.settings(Duration.ofSeconds(2)), HOSTNAME,
                Clock.fixed(END.minusSeconds(600), ZoneOffset.UTC)).signWith(new DkimKeys(data)); // sessions of the day reported
    }

    @AfterEach
    void close() {
        engine.close();
        store.close();
    }

    @Test
    void eachMailtoGetsASignedReportMailAndEachHttpsAPost() throws Exception {
        TestPki pki = TestPki.create(Files.createDirectories(dir.resolve("pki")));
        HttpsServer server = HttpsServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        SSLContext tls = SSLContext.getInstance("TLS");
        tls.init(pki.serverFor(REPORTS_HOST).keyManagerFactory().getKeyManagers(), null, null);
        server.setHttpsConfigurator(new HttpsConfigurator(tls));
        server.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
        AtomicReference<byte[]> posted = new AtomicReference<>();
        server.createContext("/tlsrpt", exchange -> {
            try (exchange) {
                posted.set(exchange.getRequestBody().readAllBytes());
                exchange.sendResponseHeaders(200, -1);
            }
        });
        server.start();

        TlsRptPolicy sts = TlsRptPolicy.none("example.com");
        TlsRptAggregator counts = engine.tlsReports();
        counts.success(sts);
        counts.success(sts);
        counts.failure(sts, TlsRptAggregator.FailureDetails.of(TlsRptResultType.STARTTLS_NOT_SUPPORTED, "mx.example.com",
                "192.0.2.7"));
        // A domain without an _smtp._tls record gets no report (RFC 8460 §3).
        counts.success(TlsRptPolicy.none("quiet.example"));
        TxtZone zone = TxtZone.of(Map.of("_smtp._tls.example.com", List.of("v=spf1 -all",
                "v=TLSRPTv1; rua=mailto:tlsrpt@reports.example,mailto:second@other.example,https://" + REPORTS_HOST + "/tlsrpt")));
        try (ConnectProxy proxy = new ConnectProxy(Map.of(REPORTS_HOST, server.getAddress().getPort()));
                TlsRptSender sender = new TlsRptSender(engine, zone, HOSTNAME,
                        new TlsRptPost(Optional.of(pki.trustStore()), proxy.selector(), Duration.ofSeconds(30)),
                        Clock.fixed(END.plusSeconds(600), ZoneOffset.UTC), Duration.ZERO)) {
            sender.sendDue(LocalDate.ofInstant(END, ZoneOffset.UTC));
        } finally {
            server.stop(0);
        }

        List<QueuedMessage> queued = store.list(10);
        assertThat(queued).hasSize(2);
        assertThat(queued).flatMap(QueuedMessage::recipients).extracting(r -> r.address())
                .containsExactlyInAnyOrder("tlsrpt@reports.example", "second@other.example");
        for (QueuedMessage m : queued) {
            assertThat(m.sender()).isEqualTo("postmaster@" + HOSTNAME);
            String message;
            try (InputStream in = store.openContent(m.id())) {
                message = new String(in.readAllBytes(), StandardCharsets.US_ASCII);
            }
            // RFC 8460 §5.3: DKIM-signed by the submitter's domain.
            assertThat(message).startsWith("DKIM-Signature:").contains("d=" + HOSTNAME)
                    .contains("TLS-Report-Domain: example.com").contains("TLS-Report-Submitter: " + HOSTNAME)
                    .contains("Content-Type: application/tlsrpt+gzip");
            assertReport(gunzip(Base64.getMimeDecoder().decode(attachment(message))));
        }
        assertThat(posted.get()).isNotNull();
        assertReport(gunzip(posted.get()));
        assertThat(engine.tlsReports().pending()).as("the counts were drained").isEmpty();
    }

    @Test
    void theSchedulerReportsTheUtcDayJustEnded() throws Exception { // RFC 8460 §4.1
        engine.tlsReports().success(TlsRptPolicy.none("example.com"));
        engine.tlsReports().success(TlsRptPolicy.none("example.com"));
        engine.tlsReports().failure(TlsRptPolicy.none("example.com"), TlsRptAggregator.FailureDetails.of(
                TlsRptResultType.STARTTLS_NOT_SUPPORTED, "mx.example.com", "192.0.2.7"));
        TxtZone zone = TxtZone.of(Map.of("_smtp._tls.example.com", List.of("v=TLSRPTv1; rua=mailto:tlsrpt@reports.example")));
        // Shortly before midnight UTC: the day's report is due once midnight has passed.
        MutableClock clock = new MutableClock(END.minusMillis(200));
        try (TlsRptSender sender = new TlsRptSender(engine, zone, HOSTNAME,
                new TlsRptPost(Optional.empty(), java.net.http.HttpClient.Builder.NO_PROXY, Duration.ofSeconds(5)),
                clock, Duration.ZERO).start()) {
            await().until(() -> !store.list(10).isEmpty());
            String message;
            try (InputStream in = store.openContent(store.list(10).get(0).id())) {
                message = new String(in.readAllBytes(), StandardCharsets.US_ASCII);
            }
            assertReport(gunzip(Base64.getMimeDecoder().decode(attachment(message))));
        }
    }

    private static void assertReport(String json) throws IOException {
        JsonNode report = JSON.readTree(json);
        assertThat(report.get("organization-name").asText()).isEqualTo(HOSTNAME);
        assertThat(report.get("contact-info").asText()).isEqualTo("postmaster@" + HOSTNAME);
        assertThat(Instant.parse(report.get("date-range").get("start-datetime").asText())).isEqualTo(START);
        assertThat(Instant.parse(report.get("date-range").get("end-datetime").asText())).isEqualTo(END);
        assertThat(report.get("policies")).hasSize(1);
        JsonNode policy = report.get("policies").get(0);
        assertThat(policy.get("policy").get("policy-domain").asText()).isEqualTo("example.com");
        assertThat(policy.get("summary").get("total-successful-session-count").asLong()).isEqualTo(2);
        assertThat(policy.get("summary").get("total-failure-session-count").asLong()).isEqualTo(1);
        assertThat(policy.get("failure-details").get(0).get("result-type").asText()).isEqualTo("starttls-not-supported");
    }

    /** The base64 body of the {@code application/tlsrpt+gzip} part. */
    private static String attachment(String message) {
        int part = message.indexOf("Content-Type: application/tlsrpt+gzip");
        int body = message.indexOf("\r\n\r\n", part) + 4;
        return message.substring(body, message.indexOf("\r\n--", body));
    }

    private static String gunzip(byte[] gzip) throws IOException {
        try (GZIPInputStream in = new GZIPInputStream(new ByteArrayInputStream(gzip))) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }
}
