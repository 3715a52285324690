package org.castellan.server.outbound;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.SSLContext;
import org.castellan.security.mailauth.DnsLookup;
import org.castellan.testkit.TestCertificate;
import org.castellan.testkit.TestPki;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * RFC 8461 §3.3 policy fetching and §5.1 caching against a real HTTPS server on loopback with a
 * TestPki certificate for {@code mta-sts.example.test}. The fetcher reaches it by name through
 * {@link ConnectProxy}, so TLS name checks run against the real policy host name.
 */
class MtaStsFetchTest {

    private static final String DOMAIN = "example.test";
    private static final String POLICY_HOST = "mta-sts." + DOMAIN;

    @TempDir
    static Path pkiDir;

    private static TestPki pki;
    private static TestCertificate policyHost;

    @TempDir
    Path cacheDir;

    private HttpsServer server;
    private ConnectProxy proxy;
    private MtaStsFetcher fetcher;
    private final AtomicInteger policyRequests = new AtomicInteger();
    private final AtomicInteger redirectTargetRequests = new AtomicInteger();
    private volatile Response response;
    private final FakeDns dns = new FakeDns();
    private static final Instant NOW = Instant.parse("2026-12-06T12:00:00Z");

    /** What the policy server answers. */
    private record Response(int status, String contentType, byte[] body, Map<String, String> headers) {
        static Response policy(String text) {
            return new Response(200, "text/plain; charset=utf-8", text.getBytes(StandardCharsets.UTF_8), Map.of());
        }
    }

    @BeforeAll
    static void pki() {
        pki = TestPki.create(pkiDir);
        policyHost = pki.serverFor(POLICY_HOST);
    }

    @BeforeEach
    void start() throws Exception {
        SSLContext tls = SSLContext.getInstance("TLS");
        tls.init(policyHost.keyManagerFactory().getKeyManagers(), null, null);
        server = HttpsServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.setHttpsConfigurator(new HttpsConfigurator(tls));
        server.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
        server.createContext(MtaStsFetcher.PATH, exchange -> {
            policyRequests.incrementAndGet();
            answer(exchange, response);
        });
        server.createContext("/elsewhere", exchange -> {
            redirectTargetRequests.incrementAndGet();
            answer(exchange, Response.policy(MtaStsTest.EXAMPLE_POLICY));
        });
        server.start();
        int port = server.getAddress().getPort();
        proxy = new ConnectProxy(Map.of(POLICY_HOST, port, "mta-sts.wrong-name.test", port));
        fetcher = new MtaStsFetcher(Optional.of(pki.trustStore()), proxy.selector(), Duration.ofSeconds(30));
        response = Response.policy(MtaStsTest.EXAMPLE_POLICY);
    }

    @AfterEach
    void stop() throws IOException {
        fetcher.close();
        proxy.close();
        server.stop(0);
    }

    private static void answer(HttpExchange exchange, Response r) throws IOException {
        try (exchange) {
            exchange.getRequestBody().readAllBytes();
            if (r.contentType() != null) exchange.getResponseHeaders().set("Content-Type", r.contentType());
            r.headers().forEach((k, v) -> exchange.getResponseHeaders().set(k, v));
            exchange.sendResponseHeaders(r.status(), r.body().length == 0 ? -1 : r.body().length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(r.body());
            }
        }
    }

    @Test
    void fetchesThePolicyFromTheWellKnownUrl() {
        assertThat(fetcher.fetch(DOMAIN)).isEqualTo(new MtaStsFetcher.Fetched(MtaStsTest.example(), MtaStsTest.EXAMPLE_POLICY));
        assertThat(proxy.requested()).containsExactly(POLICY_HOST + ":443");
    }

    @Test
    void redirectIsNotFollowed() {
        response = new Response(301, null, new byte[0], Map.of("Location", "https://" + POLICY_HOST + "/elsewhere"));
        assertThat(fetcher.fetch(DOMAIN)).isInstanceOfSatisfying(MtaStsFetcher.Failed.class,
                f -> assertThat(f.type()).isEqualTo(TlsRptResultType.STS_POLICY_FETCH_ERROR));
        assertThat(redirectTargetRequests).hasValue(0);
    }

    @Test
    void notFoundIsAFetchError() {
        response = new Response(404, "text/plain", "no".getBytes(StandardCharsets.US_ASCII), Map.of());
        assertThat(fetcher.fetch(DOMAIN)).isInstanceOfSatisfying(MtaStsFetcher.Failed.class,
                f -> assertThat(f.type()).isEqualTo(TlsRptResultType.STS_POLICY_FETCH_ERROR));
    }

    @Test
    void bodyOfTheLimitIsReadAndOneByteMoreIsRefused() {
        String padded = pad(MtaStsTest.EXAMPLE_POLICY, MtaStsFetcher.MAX_POLICY_BYTES);
        response = Response.policy(padded);
        assertThat(fetcher.fetch(DOMAIN)).isInstanceOf(MtaStsFetcher.Fetched.class);
        response = Response.policy(pad(MtaStsTest.EXAMPLE_POLICY, MtaStsFetcher.MAX_POLICY_BYTES + 1));
        assertThat(fetcher.fetch(DOMAIN)).isInstanceOfSatisfying(MtaStsFetcher.Failed.class,
                f -> assertThat(f.reason()).contains("larger than"));
    }

    /** The policy followed by an extension line that brings it to exactly {@code size} bytes. */
    private static String pad(String policy, int size) {
        String key = "x_pad: ";
        return policy + key + "a".repeat(size - policy.length() - key.length() - 1) + "\n";
    }

    @Test
    void otherContentTypeIsRefused() {
        response = new Response(200, "text/html", MtaStsTest.EXAMPLE_POLICY.getBytes(StandardCharsets.US_ASCII), Map.of());
        assertThat(fetcher.fetch(DOMAIN)).isInstanceOfSatisfying(MtaStsFetcher.Failed.class,
                f -> assertThat(f.type()).isEqualTo(TlsRptResultType.STS_POLICY_INVALID));
    }

    @Test
    void badPolicyIsNoPolicy() {
        response = Response.policy("version: STSv1\nmode: enforce\nmax_age: 86400\n");
        assertThat(fetcher.fetch(DOMAIN)).isInstanceOfSatisfying(MtaStsFetcher.Failed.class,
                f -> assertThat(f.type()).isEqualTo(TlsRptResultType.STS_POLICY_INVALID));
    }

    @Test
    void certificateNotTrustedBySystemStoreIsRefused() {
        try (MtaStsFetcher system = new MtaStsFetcher(Optional.empty(), proxy.selector(), Duration.ofSeconds(30))) {
            assertThat(system.fetch(DOMAIN)).isInstanceOfSatisfying(MtaStsFetcher.Failed.class,
                    f -> assertThat(f.type()).isEqualTo(TlsRptResultType.STS_WEBPKI_INVALID));
        }
        assertThat(policyRequests).hasValue(0);
    }

    @Test
    void certificateForAnotherNameIsRefused() {
        assertThat(fetcher.fetch("wrong-name.test")).isInstanceOfSatisfying(MtaStsFetcher.Failed.class,
                f -> assertThat(f.type()).isEqualTo(TlsRptResultType.STS_WEBPKI_INVALID));
        assertThat(policyRequests).hasValue(0);
    }

    // --- RFC 8461 §5.1: discovery and the cache

    private MtaStsPolicies policies() {
        return policies(NOW);
    }

    private MtaStsPolicies policies(Instant now) {
        return new MtaStsPolicies(dns, fetcher, cacheDir, Clock.fixed(now, ZoneOffset.UTC));
    }

    @Test
    void noRecordNoPolicy() {
        assertThat(policies().lookup(DOMAIN)).isEqualTo(new MtaStsPolicies.NoPolicy(Optional.empty()));
        assertThat(policyRequests).hasValue(0);
    }

    @Test
    void sameIdUsesTheCacheAndANewIdFetchesAgain() {
        MtaStsPolicies policies = policies();
        dns.publish("v=STSv1; id=1;");
        assertThat(policies.lookup(DOMAIN)).isEqualTo(new MtaStsPolicies.Applies(MtaStsTest.example(), "1", Optional.empty()));
        assertThat(policies.lookup(DOMAIN)).isInstanceOf(MtaStsPolicies.Applies.class);
        assertThat(policyRequests).hasValue(1);

        response = Response.policy(MtaStsTest.EXAMPLE_POLICY.replace("enforce", "testing"));
        dns.publish("v=STSv1; id=2;");
        assertThat(policies.lookup(DOMAIN)).isInstanceOfSatisfying(MtaStsPolicies.Applies.class,
                a -> assertThat(a.policy().mode()).isEqualTo(MtaStsPolicy.Mode.TESTING));
        assertThat(policyRequests).hasValue(2);
    }

    @Test
    void fetchFailureKeepsTheCachedPolicy() {
        MtaStsPolicies policies = policies();
        dns.publish("v=STSv1; id=1;");
        policies.lookup(DOMAIN);
        response = new Response(500, "text/plain", new byte[0], Map.of());
        dns.publish("v=STSv1; id=2;");
        assertThat(policies.lookup(DOMAIN)).isInstanceOfSatisfying(MtaStsPolicies.Applies.class, a -> {
            assertThat(a.policy()).isEqualTo(MtaStsTest.example());
            assertThat(a.refreshFailure()).get().extracting(MtaStsFetcher.Failed::type).isEqualTo(TlsRptResultType.STS_POLICY_FETCH_ERROR);
        });
    }

    @Test
    void fetchFailureWithoutCacheIsNoPolicyWithTheFailure() {
        response = Response.policy("garbage");
        dns.publish("v=STSv1; id=1;");
        assertThat(policies().lookup(DOMAIN)).isInstanceOfSatisfying(MtaStsPolicies.NoPolicy.class,
                n -> assertThat(n.failure()).get().extracting(MtaStsFetcher.Failed::type).isEqualTo(TlsRptResultType.STS_POLICY_INVALID));
    }

    @Test
    void cachedPolicySurvivesARestartAndOutlivesTheRecord() throws IOException {
        dns.publish("v=STSv1; id=1;");
        policies().lookup(DOMAIN);
        assertThat(Files.exists(cacheDir.resolve(DOMAIN + ".json"))).isTrue();

        // A new process: the TXT record is gone (or blocked) and the policy host is down.
        response = new Response(503, "text/plain", new byte[0], Map.of());
        dns.failing();
        assertThat(policies().lookup(DOMAIN)).isEqualTo(new MtaStsPolicies.Applies(MtaStsTest.example(), "1", Optional.empty()));
        dns.none();
        assertThat(policies().lookup(DOMAIN)).isEqualTo(new MtaStsPolicies.Applies(MtaStsTest.example(), "1", Optional.empty()));
        assertThat(policyRequests).hasValue(1);
    }

    @Test
    void expiredCachedPolicyIsNotUsed() {
        dns.publish("v=STSv1; id=1;");
        policies().lookup(DOMAIN);
        dns.none();
        assertThat(policies(NOW.plusSeconds(604799)).lookup(DOMAIN)).isInstanceOf(MtaStsPolicies.Applies.class);
        // RFC 8461 §3.2: max_age after the fetch, the policy is gone.
        assertThat(policies(NOW.plusSeconds(604800)).lookup(DOMAIN)).isEqualTo(new MtaStsPolicies.NoPolicy(Optional.empty()));
    }

    /** The TXT look-up of {@code _mta-sts.example.test}, set by each test. */
    private static final class FakeDns implements DnsLookup {
        private volatile Answer<String> txt = new NotFound<>();

        void publish(String record) {
            txt = new Found<>(List.of(record));
        }

        void none() {
            txt = new NotFound<>();
        }

        void failing() {
            txt = new Failed<>("SERVFAIL");
        }

        @Override
        public Answer<String> txt(String name) {
            return name.equals("_mta-sts." + DOMAIN) ? txt : new NotFound<>();
        }

        @Override
        public Answer<InetAddress> addresses(String name) {
            return new NotFound<>();
        }

        @Override
        public Answer<String> mx(String name) {
            return new NotFound<>();
        }

        @Override
        public Answer<String> ptr(InetAddress address) {
            return new NotFound<>();
        }
    }
}
