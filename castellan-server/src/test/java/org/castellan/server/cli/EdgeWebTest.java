package org.castellan.server.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.unboundid.asn1.ASN1StreamReader;
import com.unboundid.ldap.protocol.LDAPMessage;
import com.unboundid.ldap.sdk.ExtendedResult;
import com.unboundid.ldap.sdk.ResultCode;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import org.castellan.security.pki.NodeIdentity;
import org.castellan.server.Castellan;
import org.castellan.server.config.CastellanConfig;
import org.castellan.server.config.LogFormat;
import org.castellan.server.testing.ExternalClient;
import org.castellan.server.testing.LogCapture;
import org.castellan.testkit.TestPki;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * HTTPS and LDAPS through an edge (docs/roles.md §3), with one edge and two mailbox nodes on one
 * PostgreSQL as in {@link EdgeRelayTest}: curl fetches the CA's certificates and CRL, enrols a
 * device over EST with a password and renews it with the certificate, and ldapsearch finds a
 * user's certificate, all at the edge and served by the default node over the link; the node logs
 * the client as the edge asserted it; with the node down the client hears 503 or LDAP's
 * {@code unavailable}, and an edge whose certificate is foreign gets no link.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class EdgeWebTest {

    private static final String ALICE = EdgeCluster.ALICE;
    private static final String PASSWORD = EdgeCluster.PASSWORD;
    private static final String EST = "/.well-known/est/";
    private static final String LISTENERS = "[[listener]]\nname = \"https\"\nprotocol = \"https\"\naddress = \"127.0.0.1\"\n"
            + "port = 0\ntls = \"implicit\"\nclient-cert = \"request\"\n"
            + "[[listener]]\nname = \"ldaps\"\nprotocol = \"ldaps\"\naddress = \"127.0.0.1\"\nport = 0\ntls = \"implicit\"\n";

    Path tmp;
    EdgeCluster cluster;
    Castellan edge;

    @BeforeAll
    void start(@TempDir Path dir) throws Exception {
        tmp = dir;
        ExternalClient.require("curl", "curl");
        ExternalClient.require("openssl", "openssl");
        ExternalClient.require("ldapsearch", "ldap-utils");
        cluster = EdgeCluster.start(tmp, "castellan_edge_web");
        edge = startEdge("edge-1", cluster.nodeCertificate(new NodeIdentity(NodeIdentity.Role.EDGE, "edge-1"), Duration.ofDays(90)));
    }

    @AfterAll
    void stop() {
        if (edge != null) edge.close();
        if (cluster != null) cluster.close();
    }

    private Castellan startEdge(String name, Path nodeCertificate) throws Exception {
        return Castellan.start(CastellanConfig.load(cluster.config(name, "edge", nodeCertificate, cluster.edgeTable(), LISTENERS)));
    }

    private String root() {
        return cluster.base.resolve("pki/root.crt").toString();
    }

    /** curl at {@code server}'s HTTPS listener from 127.0.0.9, so that the node's log can tell the client from the edge. */
    private ExternalClient.Result curl(Castellan server, String path, String... options) throws Exception {
        int port = server.addresses().get("https").getPort();
        List<String> command = new ArrayList<>(List.of("curl", "-sS", "--max-time", "60", "--interface", "127.0.0.9",
                "--cacert", root(), "--resolve", "localhost:" + port + ":127.0.0.1"));
        command.addAll(List.of(options));
        command.add("https://localhost:" + port + path);
        return ExternalClient.run(command, Map.of());
    }

    /** docs/roles.md §3: the CA's public objects, from the default node, over the link. */
    @Test
    void curlFetchesTheCaCertificatesAndCrlThroughTheEdge() throws Exception {
        try (LogCapture log = new LogCapture(LogFormat.TEXT)) {
            Path cacerts = tmp.resolve("cacerts.p7.b64");
            ExternalClient.Result fetched = curl(edge, EST + "cacerts", "--fail-with-body", "-o", cacerts.toString());
            assertThat(fetched.exitCode()).as(fetched.output()).isZero();
            // RFC 7030 §4.1.3: a certs-only PKCS#7, base64.
            Path der = Files.write(tmp.resolve("cacerts.p7"), Base64.getMimeDecoder().decode(Files.readAllBytes(cacerts)));
            ExternalClient.Result printed = ExternalClient.runOk(List.of("openssl", "pkcs7", "-inform", "DER", "-in",
                    der.toString(), "-print_certs", "-noout"), Map.of());
            assertThat(printed.output()).contains("subject=");

            Path crl = tmp.resolve("user-ca.crl");
            ExternalClient.Result crlFetched = curl(edge, "/crl/user-ca.crl", "--fail-with-body", "-o", crl.toString());
            assertThat(crlFetched.exitCode()).as(crlFetched.output()).isZero();
            ExternalClient.runOk(List.of("openssl", "crl", "-inform", "DER", "-in", crl.toString(), "-noout"), Map.of());

            // docs/roles.md §2: the node names the client as asserted, the edge as the peer.
            assertThat(log.text()).containsPattern("link session https for +from client 127\\.0\\.0\\.9:\\d+ via edge edge-1 "
                    + "\\(127\\.0\\.0\\.1\\)");
        }
    }

    /**
     * RFC 7030 §4.2.1 and §4.2.2 through the edge: a device enrolled with the account's password,
     * which the node checks, then renewed with the certificate as the TLS client certificate, which
     * the node has only as the edge asserted it.
     */
    @Test
    void curlEnrolsADeviceAndRenewsItWithItsCertificateThroughTheEdge() throws Exception {
        Path work = Files.createDirectories(tmp.resolve("enrol"));
        ExternalClient.runOk(List.of("openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                "-nodes", "-keyout", work.resolve("key.pem").toString(), "-subj", "/CN=laptop", "-outform", "DER",
                "-out", work.resolve("csr.der").toString()), Map.of());
        Files.write(work.resolve("csr.b64"), Base64.getMimeEncoder().encode(Files.readAllBytes(work.resolve("csr.der"))));
        ExternalClient.Result enrolled = curl(edge, EST + "simpleenroll", "--fail-with-body", "-u", ALICE + ":" + PASSWORD,
                "-H", "Content-Type: application/pkcs10", "--data-binary", "@" + work.resolve("csr.b64"),
                "-o", work.resolve("cert.p7.b64").toString());
        assertThat(enrolled.exitCode()).as(enrolled.output()).isZero();
        Path cert = certificateFrom(work.resolve("cert.p7.b64"), work.resolve("cert.pem"));
        assertThat(Files.readString(cert)).contains("BEGIN CERTIFICATE");

        ExternalClient.Result anonymous = curl(edge, EST + "simplereenroll", "-o", "/dev/null", "-w", "%{http_code}",
                "-H", "Content-Type: application/pkcs10", "--data-binary", "@" + work.resolve("csr.b64"));
        assertThat(anonymous.output()).as("no certificate, no renewal").contains("401");

        ExternalClient.runOk(List.of("openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                "-nodes", "-keyout", work.resolve("key2.pem").toString(), "-subj", "/CN=laptop", "-outform", "DER",
                "-out", work.resolve("csr2.der").toString()), Map.of());
        Files.write(work.resolve("csr2.b64"), Base64.getMimeEncoder().encode(Files.readAllBytes(work.resolve("csr2.der"))));
        ExternalClient.Result renewed = curl(edge, EST + "simplereenroll", "--fail-with-body", "--cert", cert.toString(),
                "--key", work.resolve("key.pem").toString(), "-H", "Content-Type: application/pkcs10",
                "--data-binary", "@" + work.resolve("csr2.b64"), "-o", work.resolve("renewed.p7.b64").toString());
        assertThat(renewed.exitCode()).as(renewed.output()).isZero();
        assertThat(Files.readString(certificateFrom(work.resolve("renewed.p7.b64"), work.resolve("renewed.pem"))))
                .contains("BEGIN CERTIFICATE");
    }

    /** The certificate of an EST answer (base64 certs-only PKCS#7) as PEM in {@code pem}. */
    private static Path certificateFrom(Path base64, Path pem) throws Exception {
        Path der = Files.write(Path.of(base64 + ".der"), Base64.getMimeDecoder().decode(Files.readAllBytes(base64)));
        ExternalClient.runOk(List.of("openssl", "pkcs7", "-inform", "DER", "-in", der.toString(), "-print_certs",
                "-out", pem.toString()), Map.of());
        return pem;
    }

    /** docs/ldap.md through the edge: ldapsearch finds alice's certificate by her address on the default node. */
    @Test
    void ldapsearchFindsAUsersCertificateThroughTheEdge() throws Exception {
        Cli.Run issued = Cli.raw(LiveServer.P12_PASSPHRASE + "\n", "cert", "issue", "user", ALICE, "--passphrase-stdin",
                "--out", tmp.resolve("alice-user").toString(), "--data", cluster.base.toString());
        assertThat(issued.code()).as(issued.err()).isZero();
        Matcher serial = Pattern.compile("certificate ([0-9a-f]+)").matcher(issued.out());
        assertThat(serial.find()).isTrue();

        ExternalClient.Result found = ExternalClient.run(List.of("ldapsearch", "-LLL", "-x", "-H",
                "ldaps://127.0.0.1:" + edge.addresses().get("ldaps").getPort(), "-b", "dc=localhost", "(mail=" + ALICE + ")",
                "userCertificate;binary"), Map.of("LDAPTLS_CACERT", root(), "LDAPTLS_REQCERT", "demand"));
        assertThat(found.exitCode()).as(found.output()).isZero();
        assertThat(found.output()).contains("dn: mail=" + ALICE + ",ou=people,dc=localhost");
        Matcher value = Pattern.compile("userCertificate;binary:: ((?:[A-Za-z0-9+/=]+\n ?)+)").matcher(found.output());
        assertThat(value.find()).as(found.output()).isTrue();
        var certificate = (java.security.cert.X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(
                new java.io.ByteArrayInputStream(Base64.getMimeDecoder().decode(value.group(1).replace("\n ", ""))));
        assertThat(certificate.getSerialNumber().toString(16)).isEqualTo(serial.group(1).replaceFirst("^0+", ""));
    }

    /**
     * The default node down: HTTPS clients get 503 with Retry-After (RFC 9110 §15.6.4), LDAPS
     * clients the Notice of Disconnection with unavailable (RFC 4511 §4.4.1, §4.1.9); served again
     * once the node is back, with nothing done at the edge.
     */
    @Test
    void aNodeDownIs503AndLdapUnavailableUntilItIsBack() throws Exception {
        cluster.mailbox[0].close();
        cluster.mailbox[0] = null;
        try {
            ExternalClient.Result down = curl(edge, EST + "cacerts", "-D", "-", "-o", "/dev/null");
            assertThat(down.output()).as(down.output()).contains("HTTP/1.1 503").containsIgnoringCase("retry-after: ");
            ExtendedResult notice = ldapNotice(edge);
            assertThat(notice.getResultCode()).isEqualTo(ResultCode.UNAVAILABLE);
            assertThat(notice.getOID()).isEqualTo("1.3.6.1.4.1.1466.20036");
        } finally {
            cluster.mailbox[0] = Castellan.start(CastellanConfig.load(cluster.mailboxConfig[0]));
        }
        ExternalClient.Result back = curl(edge, EST + "cacerts", "--fail-with-body", "-o", "/dev/null");
        assertThat(back.exitCode()).as(back.output()).isZero();
    }

    /** docs/roles.md §2: an edge whose certificate no node CA issued gets no link, so its HTTPS clients get 503. */
    @Test
    void anEdgeWithAForeignCertificateIsRefusedAndAnswers503() throws Exception {
        var foreign = TestPki.create(Files.createDirectories(tmp.resolve("foreign"))).client();
        Path certificate = Files.createDirectories(tmp.resolve("certs/foreign"));
        Files.copy(foreign.chainFile(), certificate.resolve(org.castellan.security.pki.IssuedCertificate.CHAIN_FILE));
        Files.copy(foreign.keyFile(), certificate.resolve(org.castellan.security.pki.IssuedCertificate.KEY_FILE));
        try (Castellan withForeign = startEdge("edge-foreign", certificate)) {
            ExternalClient.Result refused = curl(withForeign, EST + "cacerts", "-D", "-", "-o", "/dev/null");
            assertThat(refused.output()).as(refused.output()).contains("HTTP/1.1 503");
            assertThat(ldapNotice(withForeign).getResultCode()).isEqualTo(ResultCode.UNAVAILABLE);
        }
        ExternalClient.Result real = curl(edge, EST + "cacerts", "--fail-with-body", "-o", "/dev/null");
        assertThat(real.exitCode()).as("the real edge is unaffected: " + real.output()).isZero();
    }

    /** The first LDAP message {@code server}'s LDAPS listener sends unasked: a Notice of Disconnection, when it is one. */
    private ExtendedResult ldapNotice(Castellan server) throws Exception {
        KeyStore trust = KeyStore.getInstance("PKCS12");
        trust.load(null, null);
        try (InputStream in = Files.newInputStream(Path.of(root()))) {
            trust.setCertificateEntry("root", CertificateFactory.getInstance("X.509").generateCertificate(in));
        }
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trust);
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(null, tmf.getTrustManagers(), null);
        try (SSLSocket socket = (SSLSocket) context.getSocketFactory().createSocket("127.0.0.1",
                server.addresses().get("ldaps").getPort())) {
            socket.setSoTimeout(LiveServer.READ_TIMEOUT_MILLIS);
            socket.startHandshake();
            var response = LDAPMessage.readLDAPResponseFrom(new ASN1StreamReader(socket.getInputStream()), true);
            assertThat(response).isInstanceOf(ExtendedResult.class);
            assertThat(response.getMessageID()).as("unsolicited").isZero();
            return (ExtendedResult) response;
        }
    }
}
