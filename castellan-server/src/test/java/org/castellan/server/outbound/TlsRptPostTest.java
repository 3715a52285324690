package org.castellan.server.outbound;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import java.io.ByteArrayInputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.zip.GZIPInputStream;
import javax.net.ssl.SSLContext;
import org.castellan.testkit.TestPki;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** RFC 8460 §5.4: a report POSTed to a real HTTPS endpoint on loopback, reached by name through {@link ConnectProxy}. */
class TlsRptPostTest {

    private static final String HOST = "reports.example.test";

    @TempDir
    Path dir;

    @Test
    void reportIsPostedGzippedAndOnlyA2xxCountsAsDelivered() throws Exception {
        TestPki pki = TestPki.create(dir);
        SSLContext tls = SSLContext.getInstance("TLS");
        tls.init(pki.serverFor(HOST).keyManagerFactory().getKeyManagers(), null, null);
        HttpsServer server = HttpsServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.setHttpsConfigurator(new HttpsConfigurator(tls));
        server.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
        AtomicReference<String> method = new AtomicReference<>();
        AtomicReference<String> contentType = new AtomicReference<>();
        AtomicReference<byte[]> body = new AtomicReference<>();
        AtomicInteger status = new AtomicInteger(201);
        server.createContext("/tlsrpt", exchange -> {
            try (exchange) {
                method.set(exchange.getRequestMethod());
                contentType.set(exchange.getRequestHeaders().getFirst("Content-Type"));
                body.set(exchange.getRequestBody().readAllBytes());
                exchange.sendResponseHeaders(status.get(), -1);
            }
        });
        server.start();
        TlsRptReport report = TlsRptTest.report();
        try (ConnectProxy proxy = new ConnectProxy(Map.of(HOST, server.getAddress().getPort()));
                TlsRptPost post = new TlsRptPost(Optional.of(pki.trustStore()), proxy.selector(), Duration.ofSeconds(30))) {
            URI endpoint = URI.create("https://" + HOST + "/tlsrpt");
            assertThat(post.post(endpoint, report)).isEqualTo(new TlsRptPost.Result(true, ""));
            assertThat(method.get()).isEqualTo("POST");
            assertThat(contentType.get()).isEqualTo("application/tlsrpt+gzip");
            try (GZIPInputStream in = new GZIPInputStream(new ByteArrayInputStream(body.get()))) {
                assertThat(new String(in.readAllBytes(), StandardCharsets.UTF_8)).isEqualTo(report.json());
            }
            status.set(503);
            assertThat(post.post(endpoint, report).delivered()).isFalse();
            assertThat(post.post(URI.create("http://" + HOST + "/tlsrpt"), report).delivered()).isFalse();
        } finally {
            server.stop(0);
        }
    }
}
