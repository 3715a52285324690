package org.castellan.server.outbound;

import java.io.IOException;
import java.net.ProxySelector;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.security.KeyStore;
import java.time.Duration;
import java.util.Optional;

/**
 * Delivers a TLS report to an {@code https:} {@code rua} destination (RFC 8460 §5.4): an HTTP POST
 * of the gzipped JSON as {@code application/tlsrpt+gzip}.
 *
 * <p>SECURITY: the endpoint's certificate must be valid for its name and chain to the system's
 * trust store (or the one given); redirects are not followed, so a report goes only where the
 * domain's DNS said. The proxy seam is the one {@link MtaStsFetcher} has.
 *
 * <p>Failure: never throws; {@link #post} says whether the endpoint took the report (a 2xx reply)
 * and, if not, why, so that the caller may try again later (RFC 8460 §5.5).
 */
public final class TlsRptPost implements AutoCloseable {

    private final HttpClient client;
    private final Duration timeout;

    public TlsRptPost(Optional<KeyStore> trustStore, ProxySelector proxy, Duration timeout) {
        this.timeout = timeout;
        this.client = HttpClient.newBuilder()
                .followRedirects(HttpClient.Redirect.NEVER)
                .connectTimeout(timeout)
                .proxy(proxy)
                .sslContext(MtaStsFetcher.webPkiContext(trustStore))
                .build();
    }

    /** The outcome: {@code reason} is empty when the endpoint took the report. */
    public record Result(boolean delivered, String reason) {
    }

    /** POSTs the report to {@code endpoint}; blocks up to the timeout. */
    public Result post(URI endpoint, TlsRptReport report) {
        if (!"https".equalsIgnoreCase(endpoint.getScheme())) return new Result(false, endpoint + " is not https");
        HttpRequest request = HttpRequest.newBuilder(endpoint)
                .timeout(timeout)
                .header("Content-Type", "application/tlsrpt+gzip") // RFC 8460 §5.4, §6.4
                .POST(HttpRequest.BodyPublishers.ofByteArray(report.gzip()))
                .build();
        try {
            HttpResponse<Void> response = client.send(request, HttpResponse.BodyHandlers.discarding());
            int status = response.statusCode();
            return status / 100 == 2 ? new Result(true, "") : new Result(false, endpoint + " answered HTTP " + status);
        } catch (IOException e) {
            return new Result(false, endpoint + ": " + e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Result(false, endpoint + ": interrupted");
        }
    }

    @Override
    public void close() {
        client.close();
    }
}
