package org.castellan.server.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The plain-HTTP listener ({@code protocol = "http"}, {@code tls = "none"}) that publishes the
 * built-in CA's signed, public objects where relying parties fetch them: over {@code http:}
 * (RFC 5280 §4.2.1.13 and §4.2.2.1, RFC 6960 Appendix A.1). {@code openssl ocsp} asks it and is
 * told good, then revoked after {@code castellan cert revoke}; curl fetches the CRL, which {@code
 * openssl crl} reads; nothing that authenticates is there (EST is 404), and no answer carries
 * HSTS (RFC 6797 §7.2). With {@code pki-public-url} an http URL, issued certificates name it.
 */
class PlainHttpListenerTest {

    /** Where the certificates say the CA's objects are; printed into them, never fetched by these tests. */
    private static final String PUBLIC_URL = "http://pki.example.org:8080";
    private static final String CACERTS = "/.well-known/est/cacerts";

    @TempDir Path tmp;
    LiveServer live;
    Path work;

    @BeforeEach
    void start() throws Exception {
        String listener = String.join("\n", "[[listener]]", "name = \"public\"", "protocol = \"http\"",
                "address = \"127.0.0.1\"", "port = 0", "tls = \"none\"", "");
        live = LiveServer.start(tmp.resolve("data"), listener, text -> {
            assertThat(text).contains("# pki-public-url = \"\"");
            return text.replace("# pki-public-url = \"\"", "pki-public-url = \"" + PUBLIC_URL + "\"");
        });
        work = Files.createDirectories(tmp.resolve("work"));
    }

    @AfterEach
    void stop() {
        if (live != null) live.close();
    }

    private String plain() {
        return "http://127.0.0.1:" + live.address("public").getPort();
    }

    @Test
    void opensslOcspOverPlainHttpSaysGoodThenRevoked() throws Exception {
        LiveServer.Issued laptop = live.issueDevice("laptop");
        Path certificate = pem(laptop.p12());
        Path pki = live.cli.data.resolve("pki");
        String[] ocsp = {"openssl", "ocsp", "-issuer", pki.resolve("device-ca.crt").toString(), "-cert",
                certificate.toString(), "-url", plain() + "/ocsp", "-CAfile", live.rootCertificate().toString(), "-resp_text"};
        assertThat(run(ocsp)).contains(certificate + ": good");

        Cli.Run revoke = live.cli.admin("cert", "revoke", laptop.serial(), "--reason", "key-compromise");
        assertThat(revoke.code()).as(revoke.err()).isZero();
        assertThat(run(ocsp)).contains(certificate + ": revoked").contains("Reason: keyCompromise");
    }

    @Test
    void curlFetchesTheCrlOverPlainHttpWithoutHsts() throws Exception {
        LiveServer.Issued laptop = live.issueDevice("laptop");
        assertThat(live.cli.admin("cert", "revoke", laptop.serial()).code()).isZero();

        Path crl = work.resolve("device-ca.crl");
        Path headers = work.resolve("headers");
        assertThat(run("curl", "-sS", "-D", headers.toString(), "-o", crl.toString(), "-w", "%{http_code} %{content_type}",
                plain() + "/crl/device-ca.crl")).isEqualTo("200 application/pkix-crl");
        String text = run("openssl", "crl", "-inform", "DER", "-in", crl.toString(), "-noout", "-text");
        assertThat(text).contains("Issuer: O = Castellan, CN = Castellan Device CA");
        assertThat(RevocationServicesTest.revokedSerials(text)).contains(new BigInteger(laptop.serial(), 16));
        // RFC 6797 §7.2: a server must not send Strict-Transport-Security over a non-secure transport.
        assertThat(Files.readString(headers).toLowerCase(Locale.ROOT))
                .contains("cache-control: no-store").doesNotContain("strict-transport-security");

        Path ca = work.resolve("device-ca.crt");
        assertThat(run("curl", "-sS", "-o", ca.toString(), "-w", "%{http_code} %{content_type}", plain() + "/ca/device-ca.crt"))
                .isEqualTo("200 application/pkix-cert");
        assertThat(run("openssl", "x509", "-inform", "DER", "-in", ca.toString(), "-noout", "-subject"))
                .contains("Castellan Device CA");
    }

    @Test
    void enrollmentIsNotServedOverPlainHttp() throws Exception {
        // The same path is served on the HTTPS listener ...
        assertThat(run("curl", "-sS", "--cacert", live.rootCertificate().toString(), "-o", "/dev/null", "-w", "%{http_code}",
                "https://localhost:" + live.address("https").getPort() + CACERTS)).isEqualTo("200");
        // ... and not here, with or without credentials: nothing on this listener asks who the client is.
        assertThat(run("curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", plain() + CACERTS)).isEqualTo("404");
        assertThat(run("curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "-u", LiveServer.ACCOUNT + ":"
                + Cli.Pop3Password.VALUE, "-H", "Content-Type: application/pkcs10", "--data-binary", "MIIB",
                plain() + "/.well-known/est/simpleenroll")).isEqualTo("404");
        assertThat(run("curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", plain() + "/")).isEqualTo("404");
    }

    @Test
    void certificatesNameTheHttpPublicUrl() throws Exception {
        LiveServer.Issued laptop = live.issueDevice("laptop");
        String text = run("openssl", "x509", "-in", pem(laptop.p12()).toString(), "-noout", "-text");
        assertThat(text).contains("OCSP - URI:" + PUBLIC_URL + "/ocsp")
                .contains("CA Issuers - URI:" + PUBLIC_URL + "/ca/device-ca.crt")
                .contains("URI:" + PUBLIC_URL + "/crl/device-ca.crl")
                .doesNotContain("https://pki.example.org");
    }

    private Path pem(Path p12) throws Exception {
        return RevocationServicesTest.pem(p12, work);
    }

    private static String run(String... command) throws Exception {
        return RevocationServicesTest.run(command);
    }
}
