package org.castellan.server.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.InputStream;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.castellan.server.testing.RawHttps;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The built-in CA's revocation services on the HTTPS listener of {@code castellan init}, as
 * third-party tools use them: {@code openssl ocsp} asks the responder over HTTPS (RFC 6960
 * Appendix A.1) and is told good, then revoked by the first request after {@code castellan cert
 * revoke}; curl fetches the CRL (RFC 5280 §5), which {@code openssl crl} reads and which lists
 * the revoked serial, and the issuing CA's certificate; names that are not there get 404.
 */
class RevocationServicesTest {

    @TempDir Path tmp;
    LiveServer live;
    Path work;

    @BeforeEach
    void start() throws Exception {
        live = LiveServer.start(tmp.resolve("data"));
        work = Files.createDirectories(tmp.resolve("work"));
    }

    @AfterEach
    void stop() {
        if (live != null) live.close();
    }

    private String base() {
        return "https://localhost:" + live.address("https").getPort();
    }

    @Test
    void opensslOcspSaysGoodThenRevokedFromTheFirstRequestAfterTheRevocation() throws Exception {
        LiveServer.Issued laptop = live.issueDevice("laptop");
        Path certificate = pem(laptop.p12());
        assertThat(ocsp(certificate)).contains(certificate + ": good");

        Cli.Run revoke = live.cli.admin("cert", "revoke", laptop.serial(), "--reason", "key-compromise");
        assertThat(revoke.code()).as(revoke.err()).isZero();
        // The responder reads the CA's index on every request: no cache answers "good" after the revocation.
        assertThat(ocsp(certificate)).contains(certificate + ": revoked").contains("Reason: keyCompromise");
    }

    @Test
    void curlFetchesTheCrlAndTheCaCertificateThatOpensslReads() throws Exception {
        LiveServer.Issued laptop = live.issueDevice("laptop");
        assertThat(live.cli.admin("cert", "revoke", laptop.serial()).code()).isZero();

        Path crl = work.resolve("device-ca.crl");
        assertThat(curl("/crl/device-ca.crl", crl)).isEqualTo("200 application/pkix-crl");
        String text = run("openssl", "crl", "-inform", "DER", "-in", crl.toString(), "-noout", "-text");
        assertThat(text).contains("Issuer: O = Castellan, CN = Castellan Device CA");
        assertThat(revokedSerials(text)).contains(new BigInteger(laptop.serial(), 16));

        Path ca = work.resolve("device-ca.crt");
        assertThat(curl("/ca/device-ca.crt", ca)).isEqualTo("200 application/pkix-cert");
        assertThat(run("openssl", "x509", "-inform", "DER", "-in", ca.toString(), "-noout", "-subject"))
                .contains("Castellan Device CA");
        // The CRL is the issuing CA's: openssl verifies its signature with that certificate.
        assertThat(run("openssl", "crl", "-inform", "DER", "-in", crl.toString(), "-noout", "-CAfile",
                pemOf(ca).toString())).contains("verify OK");
    }

    /**
     * RFC 6960 Appendix A.1: a request may come as a GET too, its DER base64-encoded and then
     * URL-encoded in the path, and is answered as a POST is.
     */
    @Test
    void theGetFormOfAnOcspRequestIsAnsweredAsThePostForm() throws Exception {
        Path issuer = live.cli.data.resolve("pki").resolve("device-ca.crt");
        Path request = work.resolve("request.der");
        // Whether a request's base64 holds a '+', '/' or '=' to escape depends on the serial, about
        // one device in two: devices are issued until one's request needs its escapes.
        Path certificate = null;
        String encoded = "";
        for (int device = 0; device < 32 && !encoded.contains("%"); device++) {
            certificate = pem(live.issueDevice("laptop-" + device).p12());
            run("openssl", "ocsp", "-issuer", issuer.toString(), "-cert", certificate.toString(), "-no_nonce",
                    "-reqout", request.toString());
            encoded = java.net.URLEncoder.encode(Base64.getEncoder().encodeToString(Files.readAllBytes(request)),
                    StandardCharsets.US_ASCII);
        }
        assertThat(encoded).as("the request needs its escapes").contains("%");
        Path response = work.resolve("response.der");
        assertThat(curl("/ocsp/" + encoded, response)).isEqualTo("200 application/ocsp-response");
        assertThat(run("openssl", "ocsp", "-respin", response.toString(), "-issuer", issuer.toString(),
                "-cert", certificate.toString(), "-no_nonce", "-CAfile", live.rootCertificate().toString()))
                .contains(certificate + ": good");
    }

    /** Each issuing CA publishes its own CRL and certificate under its own name (RFC 5280 §4.2.1.13, §4.2.2.1). */
    @Test
    void everyIssuingCaHasItsCrlAndCertificateUnderItsName() throws Exception {
        for (String kind : List.of("server", "user", "node")) {
            String subject = "CN = Castellan " + Character.toUpperCase(kind.charAt(0)) + kind.substring(1) + " CA";
            Path crl = work.resolve(kind + "-ca.crl");
            assertThat(curl("/crl/" + kind + "-ca.crl", crl)).isEqualTo("200 application/pkix-crl");
            assertThat(run("openssl", "crl", "-inform", "DER", "-in", crl.toString(), "-noout", "-issuer")).contains(subject);
            Path ca = work.resolve(kind + "-ca.crt");
            assertThat(curl("/ca/" + kind + "-ca.crt", ca)).isEqualTo("200 application/pkix-cert");
            assertThat(run("openssl", "x509", "-inform", "DER", "-in", ca.toString(), "-noout", "-subject")).contains(subject);
        }
        assertThat(curl("/crl/user-ca.crt", work.resolve("z"))).startsWith("404 ");
        assertThat(curl("/ca/user.crt", work.resolve("w"))).startsWith("404 ");
    }

    @Test
    void unknownNamesAreNotFoundAndAnUnreadableRequestGetsMalformedRequest() throws Exception {
        assertThat(curl("/crl/root-ca.crl", work.resolve("x"))).startsWith("404 ");
        assertThat(curl("/ca/../pki/root.key", work.resolve("y"))).startsWith("404 ");
        try (RawHttps http = new RawHttps(live.clientContext(null), live.address("https"))) {
            RawHttps.Response r = http.exchange("POST /ocsp HTTP/1.1\r\nHost: localhost\r\n"
                    + "Content-Type: application/ocsp-request\r\nContent-Length: 5\r\n\r\nhello");
            // RFC 6960 §2.3/§4.2.1: OCSPResponse ::= SEQUENCE { responseStatus malformedRequest (1) }.
            assertThat(r.status()).isEqualTo(200);
            assertThat(r.header("Content-Type")).isEqualTo("application/ocsp-response");
            assertThat(r.body()).containsExactly(0x30, 0x03, 0x0a, 0x01, 0x01);
        }
    }

    /** The serial numbers {@code openssl crl -text} lists as revoked. */
    static List<BigInteger> revokedSerials(String crlText) {
        Matcher serials = Pattern.compile("Serial Number: ([0-9A-Fa-f]+)").matcher(crlText);
        List<BigInteger> revoked = new ArrayList<>();
        while (serials.find()) revoked.add(new BigInteger(serials.group(1), 16));
        return revoked;
    }

    /** {@code openssl ocsp} for {@code certificate} against the listener's responder, with the response's text. */
    private String ocsp(Path certificate) throws Exception {
        Path pki = live.cli.data.resolve("pki");
        return run("openssl", "ocsp", "-issuer", pki.resolve("device-ca.crt").toString(), "-cert", certificate.toString(),
                "-url", base() + "/ocsp", "-CAfile", live.rootCertificate().toString(), "-resp_text");
    }

    /** curl's status and content type for {@code path}, the body written to {@code out}. */
    private String curl(String path, Path out) throws Exception {
        return run("curl", "-sS", "--path-as-is", "--cacert", live.rootCertificate().toString(), "-o", out.toString(),
                "-w", "%{http_code} %{content_type}", base() + path);
    }

    private Path pem(Path p12) throws Exception {
        return pem(p12, work);
    }

    /** The leaf certificate of a PKCS#12 file, as PEM in {@code dir}. */
    static Path pem(Path p12, Path dir) throws Exception {
        KeyStore store = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(p12)) {
            store.load(in, LiveServer.P12_PASSPHRASE.toCharArray());
        }
        List<String> aliases = Collections.list(store.aliases());
        Certificate leaf = store.getCertificate(aliases.getFirst());
        return write(dir.resolve(p12.getFileName() + ".pem"), leaf.getEncoded());
    }

    private Path pemOf(Path der) throws Exception {
        return write(work.resolve(der.getFileName() + ".pem"), Files.readAllBytes(der));
    }

    private static Path write(Path file, byte[] der) throws Exception {
        return Files.writeString(file, "-----BEGIN CERTIFICATE-----\n"
                + Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(der) + "\n-----END CERTIFICATE-----\n");
    }

    static String run(String... command) throws Exception {
        Process p = new ProcessBuilder(new ArrayList<>(List.of(command))).redirectErrorStream(true).start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(String.join(" ", command) + "\n" + out).isZero();
        return out;
    }
}
