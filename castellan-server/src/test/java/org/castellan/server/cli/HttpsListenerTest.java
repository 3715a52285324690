package org.castellan.server.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import javax.net.ssl.SSLContext;
import org.castellan.server.config.CastellanConfig;
import org.castellan.server.config.ConfigException;
import org.castellan.server.http.HttpService;
import org.castellan.server.testing.RawHttps;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The HTTPS listener {@code castellan init} makes (RFC 9110, RFC 9112 over implicit TLS), on the
 * wire: the router's 404 and 405, HEAD, keep-alive, the headers every answer carries, the
 * decoder's limits (414, 431, 413) and refusals (400), and no HTTP without TLS.
 */
class HttpsListenerTest {

    private static final String CACERTS = "/.well-known/est/cacerts";

    @TempDir Path tmp;
    LiveServer live;
    SSLContext client;

    @BeforeEach
    void start() throws Exception {
        live = LiveServer.start(tmp.resolve("data"));
        client = live.clientContext(null);
    }

    @AfterEach
    void stop() {
        if (live != null) live.close();
    }

    private RawHttps connect() throws Exception {
        return new RawHttps(client, live.address("https"));
    }

    private static String get(String path) {
        return "GET " + path + " HTTP/1.1\r\nHost: localhost\r\n\r\n";
    }

    @Test
    void anUnknownPathIsNotFoundWithTheHeadersEveryAnswerCarries() throws Exception {
        try (RawHttps http = connect()) {
            RawHttps.Response r = http.exchange(get("/nothing-here"));
            assertThat(r.status()).isEqualTo(404);
            assertThat(r.header("Strict-Transport-Security")).isEqualTo("max-age=31536000"); // RFC 6797 §6.1
            assertThat(r.header("X-Content-Type-Options")).isEqualTo("nosniff");
            assertThat(r.header("Cache-Control")).isEqualTo("no-store");
            assertThat(r.header("Date")).isNotBlank(); // RFC 9110 §6.6.1
            assertThat(r.header("Content-Type")).startsWith("text/plain");
            assertThat(r.text()).doesNotContain("Exception").doesNotContain("at org.");
        }
    }

    @Test
    void aWrongMethodIs405WithAllow() throws Exception {
        try (RawHttps http = connect()) {
            RawHttps.Response r = http.exchange("DELETE " + CACERTS + " HTTP/1.1\r\nHost: localhost\r\n\r\n");
            assertThat(r.status()).isEqualTo(405); // RFC 9110 §15.5.6
            assertThat(r.header("Allow")).isEqualTo("GET, HEAD");
        }
    }

    /**
     * Every resource of the listener with the methods it serves, as RFC 7030 §3.2.2 and RFC 6960
     * Appendix A.1 give them: the CA certificates and CSR attributes by GET (with HEAD, RFC 9110
     * §9.3.2), enrollment by POST under every label, OCSP by POST on {@code /ocsp} and by GET below
     * it, the CRLs and CA certificates by GET. A method the resource does not serve is 405 with
     * exactly those methods in Allow (RFC 9110 §15.5.6), on one connection that goes on.
     */
    @Test
    void everyResourceAllowsExactlyTheMethodsItServes() throws Exception {
        java.util.Map<String, String> allow = new java.util.LinkedHashMap<>();
        for (String label : java.util.List.of("", "device/", "user/", "user-encryption/", "node/")) {
            allow.put("/.well-known/est/" + label + "cacerts", "GET, HEAD");
        }
        for (String label : java.util.List.of("", "device/", "user/", "user-encryption/")) {
            allow.put("/.well-known/est/" + label + "csrattrs", "GET, HEAD");
            allow.put("/.well-known/est/" + label + "serverkeygen", "POST");
        }
        for (String label : java.util.List.of("", "device/", "user/", "node/")) {
            allow.put("/.well-known/est/" + label + "simpleenroll", "POST");
        }
        for (String label : java.util.List.of("", "device/", "user/")) {
            allow.put("/.well-known/est/" + label + "simplereenroll", "POST");
        }
        allow.put("/ocsp", "POST");
        allow.put("/ocsp/MEMwQTA_MD0wOzAJBgUrDgMCGgUABBQ", "GET, HEAD");
        allow.put("/crl/device-ca.crl", "GET, HEAD");
        allow.put("/ca/user-ca.crt", "GET, HEAD");
        try (RawHttps http = connect()) {
            for (java.util.Map.Entry<String, String> resource : allow.entrySet()) {
                RawHttps.Response r = http.exchange("PUT " + resource.getKey()
                        + " HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n\r\n");
                assertThat(r.status()).as(resource.getKey()).isEqualTo(405);
                assertThat(r.header("Allow")).as(resource.getKey()).isEqualTo(resource.getValue());
            }
            // Those under the node label and user-encryption/ that are not there at all.
            for (String path : java.util.List.of("/.well-known/est/node/simplereenroll", "/.well-known/est/node/serverkeygen",
                    "/.well-known/est/user-encryption/simpleenroll", "/.well-known/est/node/csrattrs")) {
                assertThat(http.exchange("PUT " + path + " HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n\r\n")
                        .status()).as(path).isEqualTo(404);
            }
        }
    }

    @Test
    void headHasTheLengthOfGetAndNoBodyAndTheConnectionGoesOn() throws Exception {
        try (RawHttps http = connect()) {
            RawHttps.Response got = http.exchange(get(CACERTS));
            assertThat(got.status()).isEqualTo(200);
            http.send("HEAD " + CACERTS + " HTTP/1.1\r\nHost: localhost\r\n\r\n");
            RawHttps.Response head = http.read(true);
            assertThat(head.status()).isEqualTo(200);
            assertThat(head.header("Content-Length")).isEqualTo(Integer.toString(got.body().length)); // RFC 9110 §9.3.2
            // Had the server sent a body after HEAD's headers, it would be read here as the next status line.
            RawHttps.Response next = http.exchange(get("/nothing-here"));
            assertThat(next.statusLine()).startsWith("HTTP/1.1 404");
        }
    }

    @Test
    void pipelinedRequestsAreAnsweredInOrder() throws Exception {
        try (RawHttps http = connect()) {
            http.send(get("/a") + get(CACERTS) + get("/b"));
            assertThat(http.read(false).status()).isEqualTo(404);
            assertThat(http.read(false).status()).isEqualTo(200);
            assertThat(http.read(false).status()).isEqualTo(404);
        }
    }

    @Test
    void connectionCloseIsHonoured() throws Exception {
        try (RawHttps http = connect()) {
            RawHttps.Response r = http.exchange("GET /x HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
            assertThat(r.status()).isEqualTo(404);
            assertThat(http.closedByServer()).isTrue();
        }
    }

    @Test
    void aRequestLineOverTheLimitIs414AndTheConnectionCloses() throws Exception {
        try (RawHttps http = connect()) {
            RawHttps.Response r = http.exchange(get("/" + "a".repeat(HttpService.MAX_REQUEST_LINE)));
            assertThat(r.status()).isEqualTo(414);
            assertThat(r.header("Connection")).isEqualTo("close");
            assertThat(http.closedByServer()).isTrue();
        }
    }

    @Test
    void headersOverTheLimitAre431() throws Exception {
        try (RawHttps http = connect()) {
            RawHttps.Response r = http.exchange("GET / HTTP/1.1\r\nHost: localhost\r\nX-Filler: "
                    + "a".repeat(HttpService.MAX_HEADER_SIZE) + "\r\n\r\n");
            assertThat(r.status()).isEqualTo(431); // RFC 6585 §5
            assertThat(http.closedByServer()).isTrue();
        }
    }

    @Test
    void aBodyOverTheCapIs413BeforeItIsSent() throws Exception {
        try (RawHttps http = connect()) {
            RawHttps.Response r = http.exchange("POST /.well-known/est/simpleenroll HTTP/1.1\r\nHost: localhost\r\n"
                    + "Content-Length: " + (HttpService.MAX_BODY + 1) + "\r\n\r\n");
            assertThat(r.status()).isEqualTo(413);
            assertThat(http.closedByServer()).isTrue();
        }
    }

    @Test
    void aChunkedBodyOverTheCapIs413() throws Exception {
        try (RawHttps http = connect()) {
            http.send("POST /.well-known/est/simpleenroll HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n");
            String chunk = Integer.toHexString(8192) + "\r\n" + "a".repeat(8192) + "\r\n";
            RawHttps.Response r = null;
            for (int sent = 0; sent <= HttpService.MAX_BODY; sent += 8192) http.send(chunk);
            r = http.read(false);
            assertThat(r.status()).isEqualTo(413);
        }
    }

    @Test
    void garbageAndAMissingHostAre400() throws Exception {
        try (RawHttps http = connect()) {
            assertThat(http.exchange("HELLO THERE\r\n\r\n").status()).isEqualTo(400);
            assertThat(http.closedByServer()).isTrue();
        }
        try (RawHttps http = connect()) {
            assertThat(http.exchange("GET / HTTP/1.1\r\n\r\n").status()).isEqualTo(400); // RFC 9112 §3.2
        }
        try (RawHttps http = connect()) {
            assertThat(http.exchange("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n").status()).isEqualTo(400);
        }
    }

    @Test
    void plainHttpGetsNoHttpAnswer() throws Exception {
        InetSocketAddress at = live.address("https");
        try (Socket plain = new Socket()) {
            plain.connect(at, LiveServer.READ_TIMEOUT_MILLIS);
            plain.setSoTimeout(LiveServer.READ_TIMEOUT_MILLIS);
            OutputStream out = plain.getOutputStream();
            out.write(get(CACERTS).getBytes(StandardCharsets.US_ASCII));
            out.flush();
            InputStream in = plain.getInputStream();
            byte[] answer;
            try {
                answer = in.readAllBytes();
            } catch (java.net.SocketException reset) {
                answer = new byte[0];
            }
            assertThat(new String(answer, StandardCharsets.ISO_8859_1)).doesNotContain("HTTP/");
        }
    }

    @Test
    void initMakesAnHttpsListenerAndPlainHttpIsAConfigurationError() throws Exception {
        Path config = live.cli.data.resolve("castellan.toml");
        String text = Files.readString(config);
        assertThat(text).contains("protocol = \"https\"");
        String starttls = text + "\n[[listener]]\nname = \"web\"\nprotocol = \"https\"\naddress = \"127.0.0.1\"\nport = 0\n"
                + "tls = \"none\"\n";
        assertThatThrownBy(() -> CastellanConfig.parse(starttls, config)).isInstanceOf(ConfigException.class)
                .hasMessageContaining("protocol = \"https\" needs tls = \"implicit\"");
    }
}
