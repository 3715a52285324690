package org.castellan.server.outbound;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;
import org.castellan.server.dns.MailRouting.TlsaRecord;
import org.castellan.testkit.TestCertificate;
import org.castellan.testkit.TestPki;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * RFC 7672 §3 DANE authentication against TestPki certificates, with the TLSA association data
 * computed by {@code openssl} from the PEM files (never by the code under test), and one real TLS
 * handshake on loopback.
 */
class DaneVerifierTest {

    private static final String MX = "mx.example.test";

    @TempDir
    static Path dir;

    private static TestPki pki;
    private static TestCertificate mx;
    private static TestCertificate expiredMx;
    private static TestCertificate otherName;

    @BeforeAll
    static void pki() {
        pki = TestPki.create(dir);
        mx = pki.serverFor(MX);
        expiredMx = pki.expiredServerFor(MX);
        otherName = pki.serverFor("elsewhere.example.test");
    }

    /** Runs a shell pipeline over a PEM file and returns its binary output. */
    private static byte[] openssl(String pipeline, Path pem) throws IOException, InterruptedException {
        Process p = new ProcessBuilder("sh", "-c", pipeline.replace("IN", "'" + pem + "'")).redirectErrorStream(false).start();
        byte[] out = p.getInputStream().readAllBytes();
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(pipeline).isZero();
        return out;
    }

    private static final String SPKI = "openssl x509 -in IN -pubkey -noout | openssl pkey -pubin -outform DER";
    private static final String CERT = "openssl x509 -in IN -outform DER";

    private static TlsaRecord tlsa(int usage, int selector, int matching, Path pem) throws Exception {
        String select = selector == 0 ? CERT : SPKI;
        String pipeline = switch (matching) {
            case 0 -> select;
            case 1 -> select + " | openssl dgst -sha256 -binary";
            default -> select + " | openssl dgst -sha512 -binary";
        };
        return new TlsaRecord(usage, selector, matching, openssl(pipeline, pem));
    }

    private static X509Certificate[] chain(TestCertificate c) {
        return c.chain().toArray(new X509Certificate[0]);
    }

    private static DaneVerifier.Decision verify(List<TlsaRecord> records, TestCertificate c) {
        return DaneVerifier.verify(records, chain(c), MX, Instant.now());
    }

    @Test
    void daneEeSpkiSha256MatchesTheLeaf() throws Exception {
        TlsaRecord r = tlsa(3, 1, 1, mx.certificateFile());
        assertThat(verify(List.of(r), mx)).isEqualTo(new DaneVerifier.Authenticated(r, 0));
    }

    @Test
    void daneEeOfAnotherKeyFails() throws Exception {
        TlsaRecord r = tlsa(3, 1, 1, otherName.certificateFile());
        assertThat(verify(List.of(r), mx)).isInstanceOf(DaneVerifier.Failed.class);
    }

    @Test
    void daneEeFullCertificateAndSha512() throws Exception {
        TlsaRecord full = tlsa(3, 0, 0, mx.certificateFile());
        TlsaRecord sha512 = tlsa(3, 1, 2, mx.certificateFile());
        assertThat(sha512.data()).hasSize(64);
        assertThat(verify(List.of(full), mx)).isEqualTo(new DaneVerifier.Authenticated(full, 0));
        assertThat(verify(List.of(sha512), mx)).isEqualTo(new DaneVerifier.Authenticated(sha512, 0));
    }

    @Test
    void daneEeIgnoresNamesAndExpiry() throws Exception {
        // RFC 7672 §3.1.1: with DANE-EE the key is what counts, not the dates or the names.
        TlsaRecord expired = tlsa(3, 1, 1, expiredMx.certificateFile());
        assertThat(verify(List.of(expired), expiredMx)).isEqualTo(new DaneVerifier.Authenticated(expired, 0));
        TlsaRecord named = tlsa(3, 1, 1, otherName.certificateFile());
        assertThat(verify(List.of(named), otherName)).isEqualTo(new DaneVerifier.Authenticated(named, 0));
    }

    @Test
    void daneTaMatchesTheIssuerInTheChainAndChecksTheName() throws Exception {
        TlsaRecord ca = tlsa(2, 0, 1, pki.issuingCa().certificateFile());
        assertThat(verify(List.of(ca), mx)).isEqualTo(new DaneVerifier.Authenticated(ca, 1));
        // RFC 7672 §3.2.3: under DANE-TA the leaf must name the MX host.
        assertThat(verify(List.of(ca), otherName))
                .isInstanceOfSatisfying(DaneVerifier.Failed.class, f -> assertThat(f.reason()).contains("does not name " + MX));
    }

    @Test
    void daneTaChecksTheDatesOfTheChain() throws Exception {
        TlsaRecord ca = tlsa(2, 1, 1, pki.issuingCa().certificateFile());
        assertThat(verify(List.of(ca), expiredMx))
                .isInstanceOfSatisfying(DaneVerifier.Failed.class, f -> assertThat(f.reason()).contains("does not validate"));
    }

    @Test
    void daneTaFullKeyOfAnAnchorOutsideTheChain() throws Exception {
        // The server sends leaf + issuing CA; the record carries the root's whole key (2 1 0).
        TlsaRecord root = tlsa(2, 1, 0, pki.root().certificateFile());
        assertThat(verify(List.of(root), mx)).isEqualTo(new DaneVerifier.Authenticated(root, -1));
        assertThat(verify(List.of(root), otherName)).isInstanceOf(DaneVerifier.Failed.class);
    }

    @Test
    void daneTaDigestOfAnAnchorOutsideTheChainDoesNotMatch() throws Exception {
        // RFC 7672 §3.1.2: only a full key lets the server omit the anchor.
        TlsaRecord root = tlsa(2, 1, 1, pki.root().certificateFile());
        assertThat(verify(List.of(root), mx)).isInstanceOf(DaneVerifier.Failed.class);
    }

    @Test
    void pkixUsagesAndUnknownParametersAreIgnored() throws Exception {
        Path leaf = mx.certificateFile();
        byte[] sha256 = tlsa(3, 1, 1, leaf).data();
        List<TlsaRecord> unusable = List.of(
                tlsa(0, 1, 1, pki.root().certificateFile()), // RFC 7672 §3.1.3: PKIX-TA
                tlsa(1, 1, 1, leaf), // PKIX-EE, even though it matches
                new TlsaRecord(4, 1, 1, sha256), // unknown usage
                new TlsaRecord(3, 2, 1, sha256), // unknown selector
                new TlsaRecord(3, 1, 3, sha256), // unknown matching type
                new TlsaRecord(3, 1, 2, sha256)); // SHA-512 of SHA-256's length
        assertThat(DaneVerifier.usable(unusable)).isEmpty();
        assertThat(verify(unusable, mx)).isEqualTo(new DaneVerifier.NoUsableRecords());
        TlsaRecord wrong = tlsa(3, 1, 1, otherName.certificateFile());
        List<TlsaRecord> mixed = new java.util.ArrayList<>(unusable);
        mixed.add(wrong);
        assertThat(verify(mixed, mx)).isInstanceOf(DaneVerifier.Failed.class);
    }

    @Test
    void anyMatchingRecordOfTheSetAuthenticates() throws Exception {
        TlsaRecord wrong = tlsa(3, 1, 1, otherName.certificateFile());
        TlsaRecord right = tlsa(2, 0, 2, pki.issuingCa().certificateFile());
        assertThat(verify(List.of(wrong, right), mx)).isEqualTo(new DaneVerifier.Authenticated(right, 1));
    }

    @Test
    void wildcardStandsForOneLeftmostLabel() {
        TestCertificate wildcard = pki.serverFor("*.example.test");
        assertThat(DaneVerifier.namesHost(wildcard.certificate(), "mx.example.test")).isTrue();
        assertThat(DaneVerifier.namesHost(wildcard.certificate(), "MX.Example.Test.")).isTrue();
        assertThat(DaneVerifier.namesHost(wildcard.certificate(), "a.mx.example.test")).isFalse();
        assertThat(DaneVerifier.namesHost(wildcard.certificate(), "example.test")).isFalse();
    }

    @Test
    void handshakeSucceedsOnlyWhenTheTlsaRecordMatches() throws Exception {
        TlsaRecord right = tlsa(3, 1, 1, mx.certificateFile());
        TlsaRecord wrong = tlsa(3, 1, 1, otherName.certificateFile());

        DaneTrustManager ok = new DaneTrustManager(List.of(right), MX, Clock.systemUTC());
        handshake(ok.sslContext());
        assertThat(ok.decision()).contains(new DaneVerifier.Authenticated(right, 0));

        DaneTrustManager refused = new DaneTrustManager(List.of(wrong), MX, Clock.systemUTC());
        assertThatThrownBy(() -> handshake(refused.sslContext())).isInstanceOf(SSLHandshakeException.class);
        assertThat(refused.decision()).containsInstanceOf(DaneVerifier.Failed.class);
    }

    private static void handshake(SSLContext client) throws Exception {
        handshake(mx, client, MX, false);
    }

    /**
     * A JDK TLS server on loopback presenting {@code server}; the client connects as to
     * {@code host} (SNI, and with {@code verifyName} the JDK's RFC 6125 name check), handshakes and
     * reads one byte.
     */
    static void handshake(TestCertificate server, SSLContext client, String host, boolean verifyName) throws Exception {
        SSLContext serverContext = SSLContext.getInstance("TLS");
        serverContext.init(server.keyManagerFactory().getKeyManagers(), null, null);
        try (SSLServerSocket listener = (SSLServerSocket) serverContext.getServerSocketFactory()
                .createServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            CompletableFuture<Void> served = CompletableFuture.runAsync(() -> {
                try (SSLSocket s = (SSLSocket) listener.accept(); OutputStream out = s.getOutputStream()) {
                    s.startHandshake();
                    out.write('!');
                    out.flush();
                } catch (IOException e) {
                    // the client refused the certificate: the server sees the alert
                }
            });
            Socket plain = new Socket(InetAddress.getLoopbackAddress(), listener.getLocalPort());
            try (SSLSocket s = (SSLSocket) client.getSocketFactory().createSocket(plain, host, listener.getLocalPort(), true);
                    InputStream in = s.getInputStream()) {
                SSLParameters p = s.getSSLParameters();
                p.setServerNames(List.of(new SNIHostName(host)));
                if (verifyName) p.setEndpointIdentificationAlgorithm("HTTPS");
                s.setSSLParameters(p);
                s.startHandshake();
                assertThat(in.read()).isEqualTo('!');
            } finally {
                served.get(30, TimeUnit.SECONDS);
            }
        }
    }
}
