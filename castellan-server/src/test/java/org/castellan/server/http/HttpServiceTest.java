package org.castellan.server.http;

import static java.nio.charset.StandardCharsets.US_ASCII;
import static org.assertj.core.api.Assertions.assertThat;

import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.castellan.security.rules.ConnectionRules;
import org.castellan.security.tls.TlsPolicy;
import org.castellan.security.tls.TlsPolicy.ClientCertMode;
import org.castellan.server.config.Listener;
import org.castellan.server.config.Protocol;
import org.castellan.server.config.TlsMode;
import org.castellan.server.transport.SessionRegistry;
import org.castellan.server.transport.Transport;
import org.castellan.server.testing.RawHttps;
import org.castellan.testkit.TestPki;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The HTTP layer with routes of its own on a real TLS listener: a route that fails is a 500 with
 * no trace and the connection goes on; prefixes route by the longest match; a request not
 * complete in time gets 408 (RFC 9110 §15.5.9) and an idle connection is closed; HTTP/1.0
 * without keep-alive closes after its answer.
 */
class HttpServiceTest {

    /** Short, so that the tests of the timeouts wait for the server's 408 and close rather than for the defaults. */
    private static final Duration SHORT = Duration.ofMillis(500);
    /** For every other test: longer than any pause a loaded machine puts between a test's requests. */
    private static final Duration PATIENT = Duration.ofSeconds(30);

    @TempDir static Path pkiDir;
    static TestPki pki;
    static TlsPolicy policy;
    private Transport transport;
    private InetSocketAddress at;

    @BeforeAll
    static void pki() {
        pki = TestPki.create(pkiDir);
        policy = TlsPolicy.builder(TlsPolicy.Preset.INTERMEDIATE, pki.server().chainFile(), pki.server().keyFile()).build();
    }

    @BeforeEach
    void start() {
        start(PATIENT);
    }

    /** Serves the routes with {@code timeout} for a request to complete and for an idle connection. */
    private void start(Duration timeout) {
        HttpRoutes routes = new HttpRoutes()
                .exact(HttpMethod.GET, "/throws", call -> {
                    throw new IllegalStateException("secret internal detail");
                })
                .exact(HttpMethod.GET, "/fails", call -> CompletableFuture.failedFuture(new IOException("disk on fire")))
                .prefix(HttpMethod.GET, "/p/", call -> CompletableFuture.completedFuture(
                        HttpAnswer.text(HttpResponseStatus.OK, "short " + call.path())))
                .prefix(HttpMethod.GET, "/p/long/", call -> CompletableFuture.completedFuture(
                        HttpAnswer.text(HttpResponseStatus.OK, "long " + call.path())))
                .exact(HttpMethod.GET, "/p/exact", call -> CompletableFuture.completedFuture(
                        HttpAnswer.text(HttpResponseStatus.OK, "exact " + call.path())))
                .exact(HttpMethod.GET, "/", call -> CompletableFuture.completedFuture(
                        HttpAnswer.text(HttpResponseStatus.OK, "root " + call.path())))
                .exact(HttpMethod.POST, "/form", call -> CompletableFuture.completedFuture(
                        HttpAnswer.text(HttpResponseStatus.OK, call.method() + " " + new String(call.body(), US_ASCII))))
                .exact(HttpMethod.PUT, "/form", call -> CompletableFuture.completedFuture(
                        HttpAnswer.text(HttpResponseStatus.OK, call.method() + " " + call.path())));
        transport = new Transport(new SessionRegistry(), new ConnectionRules(List.of()), policy, Clock.systemUTC());
        at = transport.bind(new Listener("web", Protocol.HTTPS, "127.0.0.1", 0, TlsMode.IMPLICIT, ClientCertMode.NONE,
                false, List.of()), new HttpService(routes, timeout, timeout));
    }

    @AfterEach
    void stop() {
        transport.close();
    }

    private void restart(Duration timeout) {
        transport.close();
        start(timeout);
    }

    @Test
    void aFailingRouteIs500WithoutItsDetailAndTheConnectionGoesOn() throws Exception {
        try (RawHttps c = client()) {
            RawHttps.Response thrown = c.exchange("GET /throws HTTP/1.1\r\nHost: x\r\n\r\n");
            assertThat(thrown.status()).isEqualTo(500);
            assertThat(thrown.text()).contains("Internal server error").doesNotContain("secret", "Exception");
            RawHttps.Response failed = c.exchange("GET /fails HTTP/1.1\r\nHost: x\r\n\r\n");
            assertThat(failed.status()).isEqualTo(500);
            assertThat(failed.text()).doesNotContain("disk on fire");
            assertThat(c.exchange("GET /p/x HTTP/1.1\r\nHost: x\r\n\r\n").statusLine()).startsWith("HTTP/1.1 200");
        }
    }

    @Test
    void theLongestPrefixWinsAndAPrefixIsASegment() throws Exception {
        try (RawHttps c = client()) {
            assertThat(c.exchange("GET /p/long/a?q=1 HTTP/1.1\r\nHost: x\r\n\r\n").text()).isEqualTo("long /p/long/a\n");
            assertThat(c.exchange("GET /p/a HTTP/1.1\r\nHost: x\r\n\r\n").text()).isEqualTo("short /p/a\n");
            assertThat(c.exchange("GET /px HTTP/1.1\r\nHost: x\r\n\r\n").statusLine()).startsWith("HTTP/1.1 404");
            assertThat(c.exchange("GET https://x/p/b HTTP/1.1\r\nHost: x\r\n\r\n").text()).isEqualTo("short /p/b\n"); // RFC 9112 §3.2.2
        }
    }

    /**
     * An exact path wins over every prefix but names that path only; the absolute form without a
     * path is the path {@code /} (RFC 9112 §3.2.2), and the asterisk form, which names no
     * resource here, is 404.
     */
    @Test
    void anExactPathWinsOverAPrefixAndTheOtherRequestTargetForms() throws Exception {
        try (RawHttps c = client()) {
            assertThat(c.exchange("GET /p/exact HTTP/1.1\r\nHost: x\r\n\r\n").text()).isEqualTo("exact /p/exact\n");
            assertThat(c.exchange("GET /p/exact/a HTTP/1.1\r\nHost: x\r\n\r\n").text()).isEqualTo("short /p/exact/a\n");
            assertThat(c.exchange("GET /p/exact?q=1 HTTP/1.1\r\nHost: x\r\n\r\n").text()).isEqualTo("exact /p/exact\n");
            assertThat(c.exchange("GET https://x HTTP/1.1\r\nHost: x\r\n\r\n").text()).isEqualTo("root /\n");
            assertThat(c.exchange("GET https://x/?q=1 HTTP/1.1\r\nHost: x\r\n\r\n").text()).isEqualTo("root /\n");
            assertThat(c.exchange("OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n").statusLine()).startsWith("HTTP/1.1 404");
            assertThat(c.exchange("GET /p/%2Fa HTTP/1.1\r\nHost: x\r\n\r\n").text()).isEqualTo("short /p/%2Fa\n");
        }
    }

    /**
     * A path with routes for other methods is 405 with an Allow header listing them (RFC 9110
     * §15.5.6), HEAD beside GET only where there is a GET (RFC 9110 §9.3.2); a route gets the
     * method it serves and the body that came with it.
     */
    @Test
    void aMethodWithoutARouteIs405NamingTheMethodsThePathHas() throws Exception {
        try (RawHttps c = client()) {
            RawHttps.Response get = c.exchange("GET /form HTTP/1.1\r\nHost: x\r\n\r\n");
            assertThat(get.status()).isEqualTo(405);
            assertThat(get.header("Allow")).isEqualTo("POST, PUT");
            RawHttps.Response head = c.send("HEAD /form HTTP/1.1\r\nHost: x\r\n\r\n").read(true);
            assertThat(head.status()).isEqualTo(405);
            assertThat(head.header("Allow")).isEqualTo("POST, PUT");
            RawHttps.Response delete = c.exchange("DELETE /p/a HTTP/1.1\r\nHost: x\r\n\r\n");
            assertThat(delete.status()).isEqualTo(405);
            assertThat(delete.header("Allow")).isEqualTo("GET, HEAD");
            assertThat(c.exchange("POST /form HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello").text())
                    .isEqualTo("POST hello\n");
            assertThat(c.exchange("PUT /form HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n").text())
                    .isEqualTo("PUT /form\n");
        }
    }

    @Test
    void aRequestNotCompleteInTimeGets408AndTheConnectionCloses() throws Exception {
        restart(SHORT);
        try (RawHttps c = client()) {
            c.send("GET /p/x HTTP/1.1\r\nHost: x\r\n");
            assertThat(c.read(false).statusLine()).startsWith("HTTP/1.1 408");
            assertThat(c.closedByServer()).isTrue();
        }
    }

    @Test
    void anIdleConnectionIsClosedWithoutAWord() throws Exception {
        restart(SHORT);
        try (RawHttps c = client()) {
            assertThat(c.exchange("GET /p/x HTTP/1.1\r\nHost: x\r\n\r\n").statusLine()).startsWith("HTTP/1.1 200");
            assertThat(c.closedByServer()).isTrue();
        }
    }

    @Test
    void http10WithoutKeepAliveClosesAfterItsAnswer() throws Exception {
        try (RawHttps c = client()) {
            assertThat(c.exchange("GET /p/x HTTP/1.0\r\n\r\n").statusLine()).startsWith("HTTP/1.0 200");
            assertThat(c.closedByServer()).isTrue();
        }
    }

    private RawHttps client() throws Exception {
        TrustManagerFactory tmf = TrustManagerFactory.getInstance("PKIX");
        tmf.init(pki.trustStore());
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(null, tmf.getTrustManagers(), null);
        return new RawHttps(context, at);
    }
}
