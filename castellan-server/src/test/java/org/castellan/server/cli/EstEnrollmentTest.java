package org.castellan.server.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.ExtensionsGenerator;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x9.X9ObjectIdentifiers;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.est.CACertsResponse;
import org.bouncycastle.est.ESTService;
import org.bouncycastle.est.EnrollmentResponse;
import org.bouncycastle.est.HttpAuth;
import org.bouncycastle.est.jcajce.JsseDefaultHostnameAuthorizer;
import org.bouncycastle.est.jcajce.JsseESTServiceBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder;
import org.castellan.server.testing.ExternalClient;
import org.castellan.server.testing.RawHttps;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Enrollment over Secure Transport (RFC 7030) on the HTTPS listener against the built-in CA:
 * curl and openssl, and Bouncy Castle's EST client, enroll a device whose certificate then
 * passes the device gate (an IMAPS listener with client-cert "require"); renewal with the
 * current certificate; a user cannot have a certificate naming someone else's address; bad
 * requests and bad credentials are refused with the status RFC 7030 §4.2.3 and RFC 9110 give.
 */
class EstEnrollmentTest {

    private static final String PASSWORD = Cli.Pop3Password.VALUE;
    private static final String BASE = "/.well-known/est/";
    /** An IMAPS listener that lets in only a client with a certificate of the built-in CA: the device gate. */
    static final String GATED_IMAP = String.join("\n", "[[listener]]", "name = \"gated-imap\"", "protocol = \"imap\"",
            "address = \"127.0.0.1\"", "port = 0", "tls = \"implicit\"", "client-cert = \"require\"", "");

    @TempDir Path tmp;
    LiveServer live;

    @BeforeEach
    void start() throws Exception {
        live = LiveServer.start(tmp.resolve("data"), GATED_IMAP);
    }

    @AfterEach
    void stop() {
        if (live != null) live.close();
    }

    private int port(String listener) {
        return live.address(listener).getPort();
    }

    @Test
    void curlAndOpensslEnrollADeviceWhoseCertificateOpensTheDeviceGate() throws Exception {
        ExternalClient.require("curl", "curl");
        ExternalClient.require("openssl", "openssl");
        Path work = Files.createDirectories(tmp.resolve("curl"));
        String root = live.rootCertificate().toString();
        String resolve = "localhost:" + port("https") + ":127.0.0.1";
        ExternalClient.runOk(List.of("openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                "-nodes", "-keyout", work.resolve("key.pem").toString(), "-subj", "/CN=laptop", "-outform", "DER",
                "-out", work.resolve("csr.der").toString()), Map.of());
        Files.write(work.resolve("csr.b64"), Base64.getMimeEncoder().encode(Files.readAllBytes(work.resolve("csr.der"))));

        ExternalClient.Result enrolled = ExternalClient.run(List.of("curl", "-sS", "--fail-with-body", "--cacert", root,
                "--resolve", resolve, "-u", LiveServer.ACCOUNT + ":" + PASSWORD, "-H", "Content-Type: application/pkcs10",
                "--data-binary", "@" + work.resolve("csr.b64"), "-o", work.resolve("cert.p7.b64").toString(),
                "https://localhost:" + port("https") + BASE + "simpleenroll"), Map.of());
        assertThat(enrolled.exitCode()).as(enrolled.output()).isZero();
        ExternalClient.runOk(List.of("openssl", "base64", "-d", "-in", work.resolve("cert.p7.b64").toString(),
                "-out", work.resolve("cert.p7").toString()), Map.of());
        ExternalClient.Result printed = ExternalClient.runOk(List.of("openssl", "pkcs7", "-inform", "DER", "-in",
                work.resolve("cert.p7").toString(), "-print_certs", "-out", work.resolve("cert.pem").toString()), Map.of());
        assertThat(Files.readString(work.resolve("cert.pem"))).contains("CN = laptop").contains("BEGIN CERTIFICATE");

        String imaps = "imaps://localhost:" + port("gated-imap") + "/";
        String imapResolve = "localhost:" + port("gated-imap") + ":127.0.0.1";
        ExternalClient.Result listed = ExternalClient.run(List.of("curl", "-sS", "--cacert", root, "--resolve", imapResolve,
                "--cert", work.resolve("cert.pem").toString(), "--key", work.resolve("key.pem").toString(),
                "-u", LiveServer.ACCOUNT + ":" + PASSWORD, imaps), Map.of());
        assertThat(listed.exitCode()).as(listed.output()).isZero();
        assertThat(listed.output()).contains("INBOX");
        ExternalClient.Result refused = ExternalClient.run(List.of("curl", "-sS", "--cacert", root, "--resolve", imapResolve,
                "-u", LiveServer.ACCOUNT + ":" + PASSWORD, imaps), Map.of());
        assertThat(refused.exitCode()).as("without the certificate the gate stays shut").isNotZero();
        assertThat(printed.exitCode()).isZero();
    }

    @Test
    void bouncyCastlesEstClientEnrollsAndReenrolls() throws Exception {
        X509Certificate rootCert = certificate(live.rootCertificate());
        ESTService anonymous = est(null);
        CACertsResponse ca = anonymous.getCACerts();
        assertThat(ESTService.storeToArray(ca.getCertificateStore())).extracting(h -> h.getSubject().toString())
                .anySatisfy(s -> assertThat(s).contains("Device CA"));

        // RFC 7030 §4.5.2: the CA's preference, ECDSA with SHA-256, as an OID.
        assertThat(anonymous.getCSRAttributes().getAttributesResponse().getRequirements())
                .contains(X9ObjectIdentifiers.ecdsa_with_SHA256);

        KeyPair keys = ecKeys();
        PKCS10CertificationRequest csr = csr("CN=phone", keys, null);
        EnrollmentResponse first = anonymous.simpleEnroll(false, csr, new HttpAuth(LiveServer.ACCOUNT, PASSWORD.toCharArray()));
        X509Certificate issued = only(first);
        assertThat(issued.getSubjectX500Principal().getName()).contains("CN=phone");
        issued.verify(certificate(live.cli.data.resolve("pki/device-ca.crt")).getPublicKey());

        // The device renews with the certificate it has: no password, the TLS client certificate alone.
        EnrollmentResponse renewed = est(keyManagers(keys, issued)).simpleEnroll(true, csr("CN=phone", keys, null), null);
        X509Certificate second = only(renewed);
        assertThat(second.getSerialNumber()).isNotEqualTo(issued.getSerialNumber());
        assertThat(second.getSubjectX500Principal()).isEqualTo(issued.getSubjectX500Principal());

        try (var imap = new RawImaps(sslContext(keyManagers(keys, second), rootCert), live.address("gated-imap"))) {
            assertThat(imap.greeting()).startsWith("* OK");
        }

        // Server-side key generation (RFC 7030 §4.4): the key comes back with its certificate.
        EnrollmentResponse generated = anonymous.simpleEnrollWithServersideCreation(csr("CN=watch", ecKeys(), null),
                new HttpAuth(LiveServer.ACCOUNT, PASSWORD.toCharArray()));
        assertThat(generated.getPrivateKeyInfo()).isNotNull();
        assertThat(only(generated).getSubjectX500Principal().getName()).contains("CN=watch");
    }

    @Test
    void renewalNeedsTheCurrentCertificate() throws Exception {
        try (RawHttps http = new RawHttps(live.clientContext(null), live.address("https"))) {
            RawHttps.Response r = http.exchange(post(BASE + "simplereenroll", base64(csr("CN=phone", ecKeys(), null).getEncoded()),
                    basic(LiveServer.ACCOUNT, PASSWORD)));
            assertThat(r.status()).isEqualTo(401);
        }
        // A revoked certificate is no peer on a listener that only requests one.
        LiveServer.Issued laptop = live.issueDevice("laptop");
        assertThat(live.cli.admin("cert", "revoke", laptop.serial()).code()).isZero();
        // The running server learns of the revocation from the CRL within a second; a handshake just
        // before that would be closed by the revocation watch instead of answered.
        KeyStore p12 = KeyStore.getInstance("PKCS12");
        try (var in = java.nio.file.Files.newInputStream(laptop.p12())) {
            p12.load(in, LiveServer.P12_PASSPHRASE.toCharArray());
        }
        X509Certificate revoked = (X509Certificate) p12.getCertificate(p12.aliases().nextElement());
        await().atMost(Duration.ofSeconds(10)).until(() -> live.server.tls().revoked(revoked));
        try (RawHttps http = new RawHttps(live.clientContext(laptop.p12()), live.address("https"))) {
            RawHttps.Response r = http.exchange(post(BASE + "simplereenroll", base64(csr("CN=laptop", ecKeys(), null).getEncoded()), null));
            assertThat(r.status()).isIn(401, 403);
        }
    }

    @Test
    void aUserCannotHaveACertificateForSomeoneElsesAddress() throws Exception {
        KeyPair keys = ecKeys();
        try (RawHttps http = new RawHttps(live.clientContext(null), live.address("https"))) {
            RawHttps.Response own = http.exchange(post(BASE + "user/simpleenroll",
                    base64(csr("CN=" + LiveServer.ACCOUNT, keys, LiveServer.ACCOUNT).getEncoded()), basic(LiveServer.ACCOUNT, PASSWORD)));
            assertThat(own.status()).as(own.text()).isEqualTo(200);

            RawHttps.Response san = http.exchange(post(BASE + "user/simpleenroll",
                    base64(csr("CN=" + LiveServer.ACCOUNT, keys, "bob@example.org").getEncoded()), basic(LiveServer.ACCOUNT, PASSWORD)));
            assertThat(san.status()).isEqualTo(403);
            assertThat(san.text()).contains("only your own address");

            RawHttps.Response cn = http.exchange(post(BASE + "user/simpleenroll",
                    base64(csr("CN=bob@example.org", keys, null).getEncoded()), basic(LiveServer.ACCOUNT, PASSWORD)));
            assertThat(cn.status()).isEqualTo(403);

            RawHttps.Response device = http.exchange(post(BASE + "device/simpleenroll",
                    base64(csr("CN=laptop", keys, "bob@example.org").getEncoded()), basic(LiveServer.ACCOUNT, PASSWORD)));
            assertThat(device.status()).isEqualTo(403);
        }
    }

    @Test
    void badRequestsAreRefusedWithTheReason() throws Exception {
        try (RawHttps http = new RawHttps(live.clientContext(null), live.address("https"))) {
            String auth = basic(LiveServer.ACCOUNT, PASSWORD);
            RawHttps.Response notBase64 = http.exchange(post(BASE + "simpleenroll", "not base64 at all!", auth));
            assertThat(notBase64.status()).isEqualTo(400);
            RawHttps.Response notDer = http.exchange(post(BASE + "simpleenroll", base64("garbage".getBytes(StandardCharsets.US_ASCII)), auth));
            assertThat(notDer.status()).isEqualTo(400);
            assertThat(notDer.text()).contains("PKCS#10");

            KeyPairGenerator rsa = KeyPairGenerator.getInstance("RSA");
            rsa.initialize(1024);
            RawHttps.Response shortRsa = http.exchange(post(BASE + "simpleenroll",
                    base64(csr("CN=old", rsa.generateKeyPair(), null, "SHA256withRSA").getEncoded()), auth));
            assertThat(shortRsa.status()).isEqualTo(400);
            assertThat(shortRsa.text()).contains("1024 bits is too short");

            KeyPairGenerator dsa = KeyPairGenerator.getInstance("DSA");
            dsa.initialize(2048);
            RawHttps.Response dsaKey = http.exchange(post(BASE + "simpleenroll",
                    base64(csr("CN=old", dsa.generateKeyPair(), null, "SHA256withDSA").getEncoded()), auth));
            assertThat(dsaKey.status()).isEqualTo(400);
            assertThat(dsaKey.text()).contains("not accepted");

            KeyPairGenerator p521 = KeyPairGenerator.getInstance("EC");
            p521.initialize(new ECGenParameterSpec("secp521r1"));
            assertThat(http.exchange(post(BASE + "simpleenroll",
                    base64(csr("CN=odd", p521.generateKeyPair(), null, "SHA512withECDSA").getEncoded()), auth)).status()).isEqualTo(400);

            // Proof of possession: a request signed by another key than the one it names.
            byte[] der = csr("CN=laptop", ecKeys(), null).getEncoded();
            der[der.length - 5] ^= 0x01;
            RawHttps.Response forged = http.exchange(post(BASE + "simpleenroll", base64(der), auth));
            assertThat(forged.status()).isEqualTo(400);

            KeyPair ed = KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
            RawHttps.Response ed25519 = http.exchange(post(BASE + "simpleenroll", base64(csr("CN=tablet", ed, null, "Ed25519").getEncoded()), auth));
            assertThat(ed25519.status()).as(ed25519.text()).isEqualTo(200);
            assertThat(ed25519.header("Content-Type")).isEqualTo("application/pkcs7-mime; smime-type=certs-only");
            // castellan sessions shows whom the connection enrolls for, and how it authenticated.
            await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(live.server.sessions().list())
                    .filteredOn(c -> c.listener().name().equals("https"))
                    .anySatisfy(c -> {
                        assertThat(c.account()).contains(LiveServer.ACCOUNT);
                        assertThat(c.mechanism()).contains("BASIC");
                    }));
        }
    }

    @Test
    void credentialsAreRequiredAndChecked() throws Exception {
        String body = base64(csr("CN=laptop", ecKeys(), null).getEncoded());
        try (RawHttps http = new RawHttps(live.clientContext(null), live.address("https"))) {
            RawHttps.Response none = http.exchange(post(BASE + "simpleenroll", body, null));
            assertThat(none.status()).isEqualTo(401);
            assertThat(none.header("WWW-Authenticate")).startsWith("Basic realm="); // RFC 7617 §2
            RawHttps.Response wrong = http.exchange(post(BASE + "simpleenroll", body, basic(LiveServer.ACCOUNT, "wrong")));
            assertThat(wrong.status()).isEqualTo(401);
            RawHttps.Response garbled = http.exchange(post(BASE + "simpleenroll", body, "Basic %%%"));
            assertThat(garbled.status()).isEqualTo(401);
        }
        Cli.Run log = live.cli.admin("auth-log");
        assertThat(log.out()).contains("enroll");
    }

    @Test
    void serverkeygenAnswersAKeyMadeHereAndItsCertificate() throws Exception {
        // RFC 7030 §4.4.1: the request's own key is ignored, however weak; only its names count.
        KeyPairGenerator rsa = KeyPairGenerator.getInstance("RSA");
        rsa.initialize(1024);
        String auth = basic(LiveServer.ACCOUNT, PASSWORD);
        try (RawHttps http = new RawHttps(live.clientContext(null), live.address("https"))) {
            RawHttps.Response r = http.exchange(post(BASE + "serverkeygen",
                    base64(csr("CN=tv", rsa.generateKeyPair(), null, "SHA256withRSA").getEncoded()), auth));
            assertThat(r.status()).as(r.text()).isEqualTo(200);
            assertThat(r.header("Content-Type")).startsWith("multipart/mixed; boundary=");
            assertThat(r.header("Cache-Control")).isEqualTo("no-store");
            String boundary = r.header("Content-Type").substring(r.header("Content-Type").indexOf('=') + 1);
            String[] parts = r.text().split("--" + boundary);
            assertThat(parts[1]).contains("Content-Type: application/pkcs8");
            assertThat(parts[2]).contains("Content-Type: application/pkcs7-mime; smime-type=certs-only");
            java.security.PrivateKey key = java.security.KeyFactory.getInstance("EC").generatePrivate(
                    new java.security.spec.PKCS8EncodedKeySpec(Base64.getMimeDecoder().decode(partBody(parts[1]))));
            X509Certificate certificate = (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificates(
                    new java.io.ByteArrayInputStream(Base64.getMimeDecoder().decode(partBody(parts[2])))).iterator().next();
            assertThat(certificate.getSubjectX500Principal().getName()).contains("CN=tv");
            var signature = java.security.Signature.getInstance("SHA256withECDSA");
            signature.initSign(key);
            signature.update(new byte[] {1, 2, 3});
            byte[] signed = signature.sign();
            signature.initVerify(certificate.getPublicKey());
            signature.update(new byte[] {1, 2, 3});
            assertThat(signature.verify(signed)).as("the key is the certificate's").isTrue();

            RawHttps.Response elsewhere = http.exchange(post(BASE + "user/serverkeygen",
                    base64(csr("CN=bob@example.org", ecKeys(), null).getEncoded()), auth));
            assertThat(elsewhere.status()).isEqualTo(403);
        }
    }

    private static String partBody(String part) {
        return part.substring(part.indexOf("\r\n\r\n") + 4).strip();
    }

    // --- helpers ---

    static String post(String path, String body, String authorization) {
        return "POST " + path + " HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/pkcs10\r\n"
                + (authorization == null ? "" : "Authorization: " + authorization + "\r\n")
                + "Content-Length: " + body.getBytes(StandardCharsets.ISO_8859_1).length + "\r\n\r\n" + body;
    }

    static String basic(String user, String password) {
        return "Basic " + Base64.getEncoder().encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
    }

    static String base64(byte[] der) {
        return Base64.getMimeEncoder().encodeToString(der);
    }

    static KeyPair ecKeys() throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
        g.initialize(new ECGenParameterSpec("secp256r1"));
        return g.generateKeyPair();
    }

    static PKCS10CertificationRequest csr(String subject, KeyPair keys, String rfc822) throws Exception {
        return csr(subject, keys, rfc822, "SHA256withECDSA");
    }

    static PKCS10CertificationRequest csr(String subject, KeyPair keys, String rfc822, String algorithm) throws Exception {
        var builder = new JcaPKCS10CertificationRequestBuilder(new X500Name(subject), keys.getPublic());
        if (rfc822 != null) {
            ExtensionsGenerator extensions = new ExtensionsGenerator();
            extensions.addExtension(Extension.subjectAlternativeName, false,
                    new GeneralNames(new GeneralName(GeneralName.rfc822Name, rfc822)));
            builder.addAttribute(PKCSObjectIdentifiers.pkcs_9_at_extensionRequest, extensions.generate());
        }
        return builder.build(new JcaContentSignerBuilder(algorithm).build(keys.getPrivate()));
    }

    private ESTService est(KeyManagerFactory keys) throws Exception {
        return est(live, keys);
    }

    /** Bouncy Castle's EST client for {@code live}'s HTTPS listener, presenting {@code keys} (or nothing when null). */
    static ESTService est(LiveServer live, KeyManagerFactory keys) throws Exception {
        X509Certificate root = certificate(live.rootCertificate());
        // The JDK's PKIX trust manager: JcaJceUtils' would need the "BC" provider registered in the
        // whole test JVM, which changes how other tests' keys are encoded.
        KeyStore anchors = KeyStore.getInstance("PKCS12");
        anchors.load(null, null);
        anchors.setCertificateEntry("root", root);
        TrustManagerFactory tmf = TrustManagerFactory.getInstance("PKIX");
        tmf.init(anchors);
        var builder = new JsseESTServiceBuilder("localhost:" + live.address("https").getPort(), (javax.net.ssl.X509TrustManager) tmf.getTrustManagers()[0])
                .withHostNameAuthorizer(new JsseDefaultHostnameAuthorizer(null))
                .withTimeout(LiveServer.READ_TIMEOUT_MILLIS);
        if (keys != null) builder.withKeyManagers(keys.getKeyManagers());
        return builder.build();
    }

    private static X509Certificate only(EnrollmentResponse response) throws Exception {
        X509CertificateHolder[] certificates = ESTService.storeToArray(response.getStore());
        assertThat(certificates).hasSize(1);
        return new JcaX509CertificateConverter().getCertificate(certificates[0]);
    }

    static X509Certificate certificate(Path pem) throws Exception {
        try (InputStream in = Files.newInputStream(pem)) {
            return (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
        }
    }

    static KeyManagerFactory keyManagers(KeyPair keys, X509Certificate certificate) throws Exception {
        KeyStore store = KeyStore.getInstance("PKCS12");
        store.load(null, null);
        store.setKeyEntry("device", keys.getPrivate(), "k".toCharArray(), new X509Certificate[] {certificate});
        KeyManagerFactory kmf = KeyManagerFactory.getInstance("PKIX");
        kmf.init(store, "k".toCharArray());
        return kmf;
    }

    static SSLContext sslContext(KeyManagerFactory keys, X509Certificate root) throws Exception {
        KeyStore trust = KeyStore.getInstance("PKCS12");
        trust.load(null, null);
        trust.setCertificateEntry("root", root);
        TrustManagerFactory tmf = TrustManagerFactory.getInstance("PKIX");
        tmf.init(trust);
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(keys == null ? null : keys.getKeyManagers(), tmf.getTrustManagers(), null);
        return context;
    }

    /** Just enough IMAP over implicit TLS to see the greeting the device gate lets through. */
    static final class RawImaps implements AutoCloseable {
        private final javax.net.ssl.SSLSocket socket;

        RawImaps(SSLContext context, java.net.InetSocketAddress at) throws IOException {
            java.net.Socket raw = new java.net.Socket();
            raw.connect(at, LiveServer.READ_TIMEOUT_MILLIS);
            raw.setSoTimeout(LiveServer.READ_TIMEOUT_MILLIS);
            socket = (javax.net.ssl.SSLSocket) context.getSocketFactory().createSocket(raw, "localhost", at.getPort(), true);
            socket.startHandshake();
        }

        String greeting() throws IOException {
            return new java.io.BufferedReader(new java.io.InputStreamReader(socket.getInputStream(), StandardCharsets.US_ASCII))
                    .readLine();
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }
}
