package org.castellan.server.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import org.castellan.security.pki.CertificateAuthority;
import org.castellan.security.pki.IssuedCertificate;
import org.castellan.security.pki.NodeIdentity;
import org.castellan.security.pki.RevocationReason;
import org.castellan.server.Castellan;
import org.castellan.server.config.CastellanConfig;
import org.castellan.testkit.TestPki;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A mailbox node's link listener (docs/roles.md §2) with a real TLS client: only a node
 * certificate of an edge, from the node CA, over TLS 1.3, opens it; the greeting names the edge;
 * a revocation closes a live link within the invariant's second (docs/design.md §5).
 */
class LinkListenerTest {

    private static final char[] PASSWORD = "link".toCharArray();
    private static final NodeIdentity EDGE = new NodeIdentity(NodeIdentity.Role.EDGE, "edge-1");

    @TempDir Path tmp;
    Castellan server;
    CertificateAuthority ca;
    Path data;

    @BeforeEach
    void start() throws Exception {
        data = tmp.resolve("data");
        Cli.init(data, LiveServer.ACCOUNT);
        Path config = data.resolve("mailbox.toml");
        Files.writeString(config, String.join("\n",
                "[server]", "hostname = \"localhost\"", "data-dir = \"" + data + "\"", "role = \"mailbox\"", "",
                "[[listener]]", "name = \"link\"", "protocol = \"link\"", "address = \"127.0.0.1\"", "port = 0",
                "tls = \"implicit\"", "client-cert = \"require\"", "edges = [\"127.0.0.1/32\"]", "",
                "[[listener]]", "name = \"far\"", "protocol = \"link\"", "address = \"127.0.0.1\"", "port = 0",
                "tls = \"implicit\"", "client-cert = \"require\"", "edges = [\"192.0.2.10/32\"]", "",
                // An operator's rule letting everyone in cannot open a link from an address not in its edges.
                "[[rule]]", "cidr = \"0.0.0.0/0\"", "listeners = [\"*\"]", "action = \"allow\"", ""));
        server = Castellan.start(CastellanConfig.load(config));
        // Another instance, as castellan node add and revoke are another process.
        ca = CertificateAuthority.load(data.resolve("pki"));
    }

    @AfterEach
    void stop() {
        if (server != null) server.close();
    }

    @Test
    void anEdgeNodeCertificateOpensTheLinkAndIsNamedInTheGreeting() throws Exception {
        IssuedCertificate edge = ca.issueNode(EDGE, List.of("edge-1.example.org"), Duration.ofDays(90));
        try (SSLSocket socket = connect(context(edge.privateKey(), edge.chain()), "TLSv1.3")) {
            assertThat(firstLine(socket)).contains("castellan-link castellan-node:edge/edge-1");
            assertThat(socket.getSession().getProtocol()).isEqualTo("TLSv1.3");
        }
    }

    @Test
    void anEdgeCertificateFromAnAddressNotListedAsAnEdgeIsRefused() throws Exception {
        IssuedCertificate edge = ca.issueNode(EDGE, List.of(), Duration.ofDays(90));
        SSLContext context = context(edge.privateKey(), edge.chain());
        assertThat(outcome(context, "TLSv1.3", "link")).isInstanceOf(Greeted.class);
        assertThat(outcome(context, "TLSv1.3", "far")).as("closed at accept, before TLS").isInstanceOf(ClosedAtAccept.class);
    }

    @Test
    void aDeviceCertificateFromTheBuiltInCaNeverOpensTheLink() throws Exception {
        IssuedCertificate device = ca.issueDevice("laptop", org.castellan.protocol.mail.EmailAddress.of(LiveServer.ACCOUNT),
                Duration.ofDays(90));
        assertThat(outcome(context(device.privateKey(), device.chain()), "TLSv1.3")).isInstanceOf(RefusedByTls.class);
    }

    @Test
    void aUserCertificateNeverOpensTheLink() throws Exception {
        IssuedCertificate user = ca.issueUser(org.castellan.protocol.mail.EmailAddress.of(LiveServer.ACCOUNT),
                Duration.ofDays(90));
        assertThat(outcome(context(user.privateKey(), user.chain()), "TLSv1.3")).isInstanceOf(RefusedByTls.class);
    }

    @Test
    void aCertificateFromAForeignCaIsRefused() throws Exception {
        var foreign = TestPki.create(Files.createDirectories(tmp.resolve("foreign"))).client();
        KeyManagerFactory kmf = foreign.keyManagerFactory();
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(kmf.getKeyManagers(), trustRoot(), null);
        assertThat(outcome(context, "TLSv1.3")).isInstanceOf(RefusedByTls.class);
    }

    @Test
    void noCertificateIsRefused() throws Exception {
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(null, trustRoot(), null);
        assertThat(outcome(context, "TLSv1.3")).isInstanceOf(RefusedByTls.class);
    }

    @Test
    void aMailboxNodesCertificateDoesNotOpenAnotherMailboxNodesLink() throws Exception {
        IssuedCertificate mailbox = ca.issueNode(new NodeIdentity(NodeIdentity.Role.MAILBOX, "mbox-2"), List.of(),
                Duration.ofDays(90));
        // Trusted by TLS (the node CA), refused by the link: a mailbox node takes links from edges only.
        assertThat(outcome(context(mailbox.privateKey(), mailbox.chain()), "TLSv1.3")).isInstanceOf(ClosedSilently.class);
    }

    @Test
    void anExpiredNodeCertificateIsRefused() throws Exception {
        IssuedCertificate shortLived = ca.issueNode(EDGE, List.of(), Duration.ofSeconds(1));
        Instant end = shortLived.certificate().getNotAfter().toInstant();
        await().atMost(Duration.ofSeconds(10)).until(() -> Instant.now().isAfter(end.plusMillis(500)));
        assertThat(outcome(context(shortLived.privateKey(), shortLived.chain()), "TLSv1.3")).isInstanceOf(RefusedByTls.class);
    }

    @Test
    void tls12IsRefusedEvenWithANodeCertificate() throws Exception {
        IssuedCertificate edge = ca.issueNode(EDGE, List.of(), Duration.ofDays(90));
        assertThat(outcome(context(edge.privateKey(), edge.chain()), "TLSv1.2")).isInstanceOf(RefusedByTls.class);
    }

    @Test
    void revokingTheNodeCertificateClosesTheLiveLinkAndRefusesTheNext() throws Exception {
        IssuedCertificate edge = ca.issueNode(EDGE, List.of(), Duration.ofDays(90));
        SSLContext context = context(edge.privateKey(), edge.chain());
        try (SSLSocket socket = connect(context, "TLSv1.3")) {
            assertThat(firstLine(socket)).isPresent();
            await().atMost(Duration.ofSeconds(10)).until(() -> linkSessions() == 1);

            ca.revoke(edge.certificate().getSerialNumber(), RevocationReason.KEY_COMPROMISE);

            await().atMost(RevocationTest.REVOCATION_BOUND).until(() -> linkSessions() == 0);
        }
        assertThat(outcome(context, "TLSv1.3")).isInstanceOf(RefusedByTls.class);
    }

    /**
     * docs/roles.md §2, the opening exchange: after the greeting, one line from the edge; the
     * node answers READY with the capabilities after login and serves the account's session, or
     * NO with a code for an account it does not have or a line that is not an opening.
     */
    @Test
    void theOpeningExchangeStartsTheAccountsSessionOrRefusesWithACode() throws Exception {
        IssuedCertificate edge = ca.issueNode(EDGE, List.of(), Duration.ofDays(90));
        SSLContext context = context(edge.privateKey(), edge.chain());
        try (SSLSocket socket = connect(context, "TLSv1.3")) {
            assertThat(greeting(socket)).startsWith("castellan-link ");
            socket.getOutputStream().write(opening("imap", LiveServer.ACCOUNT).getBytes(StandardCharsets.UTF_8));
            var in = sessionReader(socket);
            assertThat(in.readLine()).startsWith("READY IMAP4rev1 IMAP4rev2").contains("IDLE").doesNotContain(" AUTH=");
            var out = LinkFraming.framed(socket.getOutputStream());
            out.write("a SELECT INBOX\r\n".getBytes(StandardCharsets.UTF_8));
            assertThat(tagged(in, "a")).startsWith("a OK [READ-WRITE]");
            // The session is the account's, and names the client as the edge asserted it.
            var link = server.sessions().list().stream().filter(c -> c.carrier().isPresent()).findFirst().orElseThrow();
            assertThat(link.listener().name()).isEqualTo("link");
            assertThat(link.account()).hasValue(LiveServer.ACCOUNT);
            assertThat(link.remote().getAddress().getHostAddress()).isEqualTo("192.0.2.77");
            assertThat(link.remote().getPort()).isEqualTo(50123);
        }
        assertThat(exchange(context, opening("pop3", "nobody@example.org"))).startsWith("NO NONEXISTENT");
        assertThat(exchange(context, opening("imap", "nobody@example.org"))).startsWith("NO NONEXISTENT");
        assertThat(exchange(context, "a LOGIN alice secret\r\n")).startsWith("NO PROTOCOL");
        assertThat(exchange(context, opening("smtp", LiveServer.ACCOUNT))).startsWith("NO PROTOCOL");
        assertThat(exchange(context, "OPEN " + "x".repeat(org.castellan.protocol.link.LinkOpening.MAX_LINE) + "\r\n"))
                .startsWith("NO PROTOCOL");
    }

    /**
     * docs/roles.md §2, sessions one after another on a link kept open: after the opening, both
     * directions are frames, and a frame of length 0 ends the session in its sender's direction.
     * The first session ends at the node (LOGOUT), the second at the edge (its client went); each
     * is a session of its own at the node, and the link reads the next opening after both ends.
     */
    @Test
    void aLinkCarriesSessionsOneAfterAnother() throws Exception {
        IssuedCertificate edge = ca.issueNode(EDGE, List.of(), Duration.ofDays(90));
        SSLContext context = context(edge.privateKey(), edge.chain());
        try (SSLSocket socket = connect(context, "TLSv1.3")) {
            assertThat(greeting(socket)).startsWith("castellan-link ");
            var out = LinkFraming.framed(socket.getOutputStream());

            socket.getOutputStream().write(opening("imap", LiveServer.ACCOUNT).getBytes(StandardCharsets.UTF_8));
            var first = sessionReader(socket);
            assertThat(first.readLine()).startsWith("READY IMAP4rev1");
            long firstId = carried().orElseThrow().id();
            out.write("a LOGOUT\r\n".getBytes(StandardCharsets.UTF_8));
            assertThat(first.readLine()).startsWith("* BYE");
            assertThat(first.readLine()).startsWith("a OK");
            assertThat(first.readLine()).as("the node's end of the session").isNull();
            LinkFraming.end(socket.getOutputStream());

            socket.getOutputStream().write(opening("imap", LiveServer.ACCOUNT).getBytes(StandardCharsets.UTF_8));
            var second = sessionReader(socket);
            assertThat(second.readLine()).startsWith("READY IMAP4rev1");
            out.write("b SELECT INBOX\r\n".getBytes(StandardCharsets.UTF_8));
            assertThat(tagged(second, "b")).startsWith("b OK [READ-WRITE]");
            assertThat(carried().orElseThrow().id()).as("a session of its own").isNotEqualTo(firstId);
            LinkFraming.end(socket.getOutputStream());
            assertThat(second.readLine()).as("the node ends the session the edge ended").isNull();
            await().atMost(Duration.ofSeconds(10)).until(() -> carried().isEmpty());
            assertThat(linkSessions()).as("the link itself stays open").isEqualTo(1);
        }
    }

    /** The tagged answer of {@code tag}, after the untagged lines before it; null if the session ends first. */
    private static String tagged(BufferedReader in, String tag) throws IOException {
        String line;
        while ((line = in.readLine()) != null && !line.startsWith(tag + " ")) { }
        return line;
    }

    /** The session a link carries now, if any. */
    private Optional<org.castellan.server.transport.Connection> carried() {
        return server.sessions().list().stream().filter(c -> c.carrier().isPresent()).findFirst();
    }

    /**
     * docs/roles.md §2: a command that arrives with the opening line, in the same read, belongs to
     * the session the opening starts: it is answered after READY, in order.
     */
    @Test
    void aCommandInTheSameWriteAsTheOpeningIsTheSessionsFirst() throws Exception {
        IssuedCertificate edge = ca.issueNode(EDGE, List.of(), Duration.ofDays(90));
        SSLContext context = context(edge.privateKey(), edge.chain());
        try (SSLSocket socket = connect(context, "TLSv1.3")) {
            assertThat(greeting(socket)).startsWith("castellan-link ");
            byte[] command = "a SELECT INBOX\r\n".getBytes(StandardCharsets.UTF_8);
            var write = new java.io.ByteArrayOutputStream();
            write.write(opening("imap", LiveServer.ACCOUNT).getBytes(StandardCharsets.UTF_8));
            LinkFraming.framed(write).write(command);
            socket.getOutputStream().write(write.toByteArray());
            var in = sessionReader(socket);
            assertThat(in.readLine()).startsWith("READY IMAP4rev1");
            assertThat(tagged(in, "a")).startsWith("a OK [READ-WRITE]");
        }
    }

    /**
     * docs/roles.md §3: an HTTPS opening carries the client's certificate itself, which the node
     * believes only if it verifies against its own trust anchors: a certificate another CA issued,
     * asserted by an edge, is no certificate, and EST's renewal asks for one.
     */
    @Test
    void anHttpsOpeningsCertificateCountsOnlyIfItVerifiesAtTheNode() throws Exception {
        IssuedCertificate edge = ca.issueNode(EDGE, List.of(), Duration.ofDays(90));
        SSLContext context = context(edge.privateKey(), edge.chain());
        X509Certificate device = ca.issueDevice("laptop", org.castellan.protocol.mail.EmailAddress.of(LiveServer.ACCOUNT),
                Duration.ofDays(30)).certificate();
        X509Certificate foreign = TestPki.create(Files.createDirectories(tmp.resolve("foreign"))).client().certificate();

        assertThat(reenrollStatus(context, device)).as("the CA's own device certificate").doesNotContain("401");
        assertThat(reenrollStatus(context, foreign)).as("a foreign certificate asserted by the edge").contains("401");
    }

    /** The status line of an EST renewal with a placeholder body, over a link opened for {@code certificate}'s client. */
    private String reenrollStatus(SSLContext context, X509Certificate certificate) throws Exception {
        String opening = new org.castellan.protocol.link.LinkOpening("https", "", "", "192.0.2.77", 50124,
                Optional.of("TLSv1.3"), Optional.of("TLS_AES_128_GCM_SHA256"),
                Optional.of(certificate.getSerialNumber().toString(16)), "8", List.of())
                .withClientCertificate(certificate.getEncoded()).format();
        try (SSLSocket socket = connect(context, "TLSv1.3")) {
            assertThat(greeting(socket)).startsWith("castellan-link ");
            socket.getOutputStream().write(opening.getBytes(StandardCharsets.UTF_8));
            var in = sessionReader(socket);
            assertThat(in.readLine()).isEqualTo("READY HTTP/1.1");
            LinkFraming.framed(socket.getOutputStream()).write(("POST /.well-known/est/simplereenroll HTTP/1.1\r\nHost: localhost\r\n"
                    + "Content-Type: application/pkcs10\r\nContent-Length: 4\r\nConnection: close\r\n\r\nAAAA")
                    .getBytes(StandardCharsets.UTF_8));
            return in.readLine();
        }
    }

    private static String opening(String protocol, String account) {
        return new org.castellan.protocol.link.LinkOpening(protocol, account, "SCRAM-SHA-256", "192.0.2.77", 50123,
                Optional.of("TLSv1.3"), Optional.of("TLS_AES_128_GCM_SHA256"), Optional.empty(), "7", List.of()).format();
    }

    /** The node's answer to {@code line}, or "(closed)". */
    private String exchange(SSLContext context, String line) throws IOException {
        try (SSLSocket socket = connect(context, "TLSv1.3")) {
            greeting(socket);
            socket.getOutputStream().write(line.getBytes(StandardCharsets.UTF_8));
            String answer;
            try {
                answer = sessionReader(socket).readLine();
            } catch (java.io.EOFException e) {
                answer = null;
            }
            return answer == null ? "(closed)" : answer;
        }
    }

    /** The node's greeting line, read an octet at a time so that nothing after it is taken. */
    private static String greeting(SSLSocket socket) throws IOException {
        var line = new java.io.ByteArrayOutputStream();
        for (int c; (c = socket.getInputStream().read()) >= 0 && c != '\n'; ) line.write(c);
        return line.toString(StandardCharsets.US_ASCII).stripTrailing();
    }

    /** The session's lines from the node's frames, after the opening line. */
    private static BufferedReader sessionReader(SSLSocket socket) throws IOException {
        return new BufferedReader(new InputStreamReader(LinkFraming.unframed(socket.getInputStream()), StandardCharsets.UTF_8));
    }

    /** A renewed server certificate is what the next link handshake presents, without a restart. */
    @Test
    void aRenewedServerCertificateIsPresentedOnTheLinkWithoutARestart() throws Exception {
        IssuedCertificate edge = ca.issueNode(EDGE, List.of(), Duration.ofDays(90));
        SSLContext context = context(edge.privateKey(), edge.chain());
        java.math.BigInteger before = presented(context);

        IssuedCertificate renewed = ca.issueServer(List.of("localhost"), List.of(), Duration.ofDays(30));
        renewed.writeTo(data.resolve("tls"));

        await().atMost(Duration.ofSeconds(10)).until(() -> presented(context).equals(renewed.certificate().getSerialNumber()));
        assertThat(before).isNotEqualTo(renewed.certificate().getSerialNumber());
    }

    private java.math.BigInteger presented(SSLContext context) throws IOException {
        try (SSLSocket socket = connect(context, "TLSv1.3")) {
            return ((X509Certificate) socket.getSession().getPeerCertificates()[0]).getSerialNumber();
        }
    }

    private long linkSessions() {
        return server.sessions().list().stream().filter(c -> c.listener().name().equals("link")).count();
    }

    /** What became of a connection: a greeting, a TLS refusal (an alert), or a close after the handshake. */
    private sealed interface Outcome permits Greeted, RefusedByTls, ClosedSilently, ClosedAtAccept {}

    private record Greeted(String line) implements Outcome {}

    private record RefusedByTls(String alert) implements Outcome {}

    private record ClosedSilently() implements Outcome {}

    /** The connection was closed under the ClientHello: a connection rule's deny, before TLS. */
    private record ClosedAtAccept(String why) implements Outcome {}

    private Outcome outcome(SSLContext context, String protocol) throws IOException {
        return outcome(context, protocol, "link");
    }

    private Outcome outcome(SSLContext context, String protocol, String listener) throws IOException {
        try (SSLSocket socket = connect(context, protocol, listener)) {
            return firstLine(socket).<Outcome>map(Greeted::new).orElse(new ClosedSilently());
        } catch (javax.net.ssl.SSLException e) {
            // TLS 1.3: the client learns of a refused certificate from the server's alert, at its first read.
            // A close during the handshake without an alert is a close at accept.
            return e.getMessage() != null && e.getMessage().contains("Remote host terminated the handshake")
                    ? new ClosedAtAccept(e.getMessage()) : new RefusedByTls(e.getMessage());
        } catch (java.net.SocketException e) {
            return new ClosedAtAccept(e.getMessage());
        }
    }

    /** The first line, or empty if the server closed without one. */
    private static Optional<String> firstLine(SSLSocket socket) throws IOException {
        var reader = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.US_ASCII));
        return Optional.ofNullable(reader.readLine());
    }

    private SSLSocket connect(SSLContext context, String protocol) throws IOException {
        return connect(context, protocol, "link");
    }

    private SSLSocket connect(SSLContext context, String protocol, String listener) throws IOException {
        InetSocketAddress address = server.addresses().get(listener);
        SSLSocket socket = (SSLSocket) context.getSocketFactory().createSocket(address.getAddress(), address.getPort());
        socket.setSoTimeout(LiveServer.READ_TIMEOUT_MILLIS);
        socket.setEnabledProtocols(new String[] {protocol});
        socket.startHandshake();
        return socket;
    }

    private SSLContext context(java.security.PrivateKey key, List<X509Certificate> chain) throws Exception {
        KeyStore keys = KeyStore.getInstance("PKCS12");
        keys.load(null, null);
        keys.setKeyEntry("node", key, PASSWORD, chain.toArray(new X509Certificate[0]));
        KeyManagerFactory kmf = KeyManagerFactory.getInstance("PKIX");
        kmf.init(keys, PASSWORD);
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(kmf.getKeyManagers(), trustRoot(), null);
        return context;
    }

    private javax.net.ssl.TrustManager[] trustRoot() throws Exception {
        KeyStore trust = KeyStore.getInstance("PKCS12");
        trust.load(null, null);
        trust.setCertificateEntry("root", ca.rootCertificate());
        TrustManagerFactory tmf = TrustManagerFactory.getInstance("PKIX");
        tmf.init(trust);
        return tmf.getTrustManagers();
    }
}
