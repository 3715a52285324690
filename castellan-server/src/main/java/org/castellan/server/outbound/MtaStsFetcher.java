package org.castellan.server.outbound;

import java.io.IOException;
import java.io.InputStream;
import java.net.ProxySelector;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.time.Duration;
import java.util.Locale;
import java.util.Optional;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.TrustManagerFactory;

/**
 * Fetches a domain's MTA-STS policy from {@code https://mta-sts.<domain>/.well-known/mta-sts.txt}
 * (RFC 8461 §3.3) with the JDK's HttpClient.
 *
 * <p>SECURITY: the policy host's certificate must be valid for its name and chain to the system's
 * trust store (or the one given); redirects are never followed (RFC 8461 §3.3); the body must be
 * {@code text/plain}, at most {@link #MAX_POLICY_BYTES}, and arrive within the timeout. The client
 * resolves {@code mta-sts.<domain>} itself unless a proxy is given: the proxy seam exists for tests,
 * which tunnel (HTTP CONNECT) the real host name to a loopback server, so that TLS, name checks and
 * HTTP run exactly as in production.
 *
 * <p>Failure: never throws; a failure is a {@link Failed} with the TLS-RPT result type it reports
 * as (RFC 8460 §4.3.3).
 */
public final class MtaStsFetcher implements AutoCloseable {

    /** RFC 8461 §3.3: senders may limit the policy body; 64 KB is what it suggests. */
    public static final int MAX_POLICY_BYTES = 64 * 1024;
    /** RFC 8461 §3.3: the well-known path of the policy. */
    static final String PATH = "/.well-known/mta-sts.txt";

    /** The policy host of {@code domain} (RFC 8461 §3.3): {@code mta-sts.<domain>}. */
    static String host(String domain) {
        return "mta-sts." + domain.toLowerCase(Locale.ROOT);
    }
    private static final int HTTP_OK = 200;

    private final HttpClient client;
    private final Duration timeout;

    /**
     * @param trustStore the policy hosts' trust anchors; empty for the system's (the JDK's {@code cacerts})
     * @param proxy {@link java.net.http.HttpClient.Builder#NO_PROXY} in production
     * @param timeout for connecting and for the whole response
     */
    public MtaStsFetcher(Optional<KeyStore> trustStore, ProxySelector proxy, Duration timeout) {
        this.timeout = timeout;
        this.client = HttpClient.newBuilder()
                .followRedirects(HttpClient.Redirect.NEVER) // RFC 8461 §3.3
                .connectTimeout(timeout)
                .proxy(proxy)
                .sslContext(webPkiContext(trustStore))
                .build();
    }

    /** What a fetch gives. */
    public sealed interface Fetch {
    }

    public record Fetched(MtaStsPolicy policy, String body) implements Fetch {
    }

    public record Failed(TlsRptResultType type, String reason) implements Fetch {
    }

    /** Fetches and parses the policy of the ASCII (A-label) {@code domain}; blocks up to the timeout. */
    public Fetch fetch(String domain) {
        URI uri = URI.create("https://" + host(domain) + PATH);
        HttpRequest request = HttpRequest.newBuilder(uri).timeout(timeout).GET().build();
        try {
            HttpResponse<InputStream> response = client.send(request, HttpResponse.BodyHandlers.ofInputStream());
            try (InputStream in = response.body()) {
                if (response.statusCode() != HTTP_OK) { // a redirect included: RFC 8461 §3.3
                    return new Failed(TlsRptResultType.STS_POLICY_FETCH_ERROR, uri + " answered HTTP " + response.statusCode());
                }
                String type = response.headers().firstValue("Content-Type").orElse("");
                if (!mediaType(type).equals("text/plain")) {
                    return new Failed(TlsRptResultType.STS_POLICY_INVALID, uri + " is " + (type.isEmpty() ? "untyped" : type) + ", not text/plain");
                }
                byte[] body = in.readNBytes(MAX_POLICY_BYTES + 1);
                if (body.length > MAX_POLICY_BYTES) {
                    return new Failed(TlsRptResultType.STS_POLICY_INVALID, uri + " is larger than " + MAX_POLICY_BYTES + " bytes");
                }
                String text = new String(body, StandardCharsets.UTF_8);
                return switch (MtaStsPolicy.parse(text)) {
                    case MtaStsPolicy.Valid v -> new Fetched(v.policy(), text);
                    case MtaStsPolicy.Invalid i -> new Failed(TlsRptResultType.STS_POLICY_INVALID, uri + ": " + i.reason());
                };
            }
        } catch (SSLHandshakeException e) {
            return new Failed(TlsRptResultType.STS_WEBPKI_INVALID, uri + ": " + e.getMessage());
        } catch (IOException e) {
            return new Failed(TlsRptResultType.STS_POLICY_FETCH_ERROR, uri + ": " + e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Failed(TlsRptResultType.STS_POLICY_FETCH_ERROR, uri + ": interrupted");
        }
    }

    /** {@code text/plain; charset=utf-8} → {@code text/plain}. */
    private static String mediaType(String contentType) {
        int semicolon = contentType.indexOf(';');
        return (semicolon < 0 ? contentType : contentType.substring(0, semicolon)).strip().toLowerCase(Locale.ROOT);
    }

    /** A TLS client context that trusts {@code trustStore}, or the system's store when it is empty. */
    static SSLContext webPkiContext(Optional<KeyStore> trustStore) {
        try {
            TrustManagerFactory trust = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            trust.init(trustStore.orElse(null));
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(null, trust.getTrustManagers(), null);
            return context;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("cannot build a web PKI TLS context: " + e.getMessage(), e);
        }
    }

    @Override
    public void close() {
        client.close();
    }
}
