package org.castellan.server.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;
import org.castellan.security.pki.CertificateAuthority;
import org.castellan.security.pki.IssuedCertificate;
import org.castellan.security.pki.NodeIdentity;
import org.castellan.security.pki.Pem;
import org.castellan.server.Castellan;
import org.castellan.server.config.CastellanConfig;
import org.castellan.testkit.Postgres;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * Nodes that joined with a one-time token (docs/roles.md §4): `castellan node add` on the CA's
 * server makes the token, `castellan node join` on the new node makes the key and fetches the
 * certificate over EST (RFC 7030), and the nodes so joined serve links. Also: the mailbox node's
 * [[rule]]s hold for the client's address as the edge asserts it (docs/roles.md §2), and a
 * revoked node certificate closes live links on both sides (docs/roles.md §6).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class NodeJoinTest {

    private static final String ALICE = "alice@example.org"; // the default node, mailbox-1
    private static final String BOB = "bob@example.org"; // placed on mailbox-2
    private static final String PASSWORD = "correct horse battery";
    /** mailbox-1's [[rule]] refuses this client address; the edge sees it as the client's source. */
    private static final String DENIED_CLIENT = "127.0.0.9";
    private static final String OTHER_CLIENT = "127.0.0.10";

    Path tmp;
    Postgres postgres;
    SharedBase shared;
    Path base;
    Castellan caServer;
    final Castellan[] mailbox = new Castellan[2];
    Castellan edge;

    @BeforeAll
    void start(@TempDir Path dir) throws Exception {
        tmp = dir;
        postgres = Postgres.start();
        shared = SharedBase.init(tmp, postgres, "castellan_join", PASSWORD, ALICE, BOB);
        base = shared.base();
        assertThat(Cli.raw(null, "user", "place", BOB, "mailbox-2", "--data", base.toString()).code()).isZero();
        // The CA's server: its HTTPS listener serves EST.
        caServer = Castellan.start(CastellanConfig.load(base.resolve("castellan.toml")));

        String denyRule = "[[rule]]\ncidr = \"" + DENIED_CLIENT + "/32\"\naction = \"deny\"\n";
        for (int i = 0; i < 2; i++) {
            String name = "mailbox-" + (i + 1);
            Path joined = join(name, "mailbox");
            mailbox[i] = Castellan.start(CastellanConfig.load(config(name, "mailbox", joined, i == 0 ? denyRule : "",
                    "[[listener]]\nname = \"link\"\nprotocol = \"link\"\naddress = \"127.0.0." + (i + 2) + "\"\nport = 0\n"
                            + "tls = \"implicit\"\nclient-cert = \"require\"\nedges = [\"127.0.0.0/8\"]\n")));
        }
        edge = startEdge("edge-1", join("edge-1", "edge"));
    }

    @AfterAll
    void stop() {
        Stream.of(edge, mailbox[0], mailbox[1], caServer).filter(c -> c != null).forEach(Castellan::close);
        if (postgres != null) postgres.close();
    }

    /** What `node add` printed: the token, the fingerprint and the join command. */
    private record Added(String token, String fingerprint, String join) {}

    private Added add(String name, String role, String... more) {
        Cli.Run add = Cli.raw(null, Stream.concat(Stream.of("node", "add", name, "--role", role, "--dns", "localhost",
                "--data", base.toString()), Stream.of(more)).toArray(String[]::new));
        assertThat(add.code()).as(add.err()).isZero();
        assertThat(add.out() + add.err()).doesNotContain("PRIVATE KEY");
        return new Added(field(add.out(), "token: "), field(add.out(), "ca-fingerprint: "), field(add.out(), "join: "));
    }

    private Cli.Run joinWith(Added added, String name, String role, Path out) {
        return Cli.raw(null, "node", "join", estUrl(), added.token(), "--name", name, "--role", role, "--ca-fingerprint",
                added.fingerprint(), "--out", out.toString());
    }

    /** `node add` on the CA's data directory, then `node join` into the node's own directory; returns that directory. */
    private Path join(String name, String role) throws Exception {
        Added added = add(name, role);
        assertThat(added.join()).startsWith("castellan node join https://localhost:").contains(" --name " + name,
                " --role " + role, " --ca-fingerprint " + added.fingerprint());
        Path out = tmp.resolve("joined").resolve(name);
        Cli.Run join = joinWith(added, name, role, out);
        assertThat(join.code()).as(join.err()).isZero();
        assertThat(join.out()).contains("joined as castellan-node:" + role + "/" + name);
        X509Certificate leaf = Pem.readCertificates(out.resolve(IssuedCertificate.CHAIN_FILE)).get(0);
        assertThat(CertificateAuthority.nodeIdentity(leaf)).hasValue(new NodeIdentity(NodeIdentity.Role.fromLabel(role)
                .orElseThrow(), name));
        // The key was made where it is used: it is the certificate's, and 0600.
        assertThat(Pem.readPrivateKey(out.resolve(IssuedCertificate.KEY_FILE))).isNotNull();
        assertThat(Files.getPosixFilePermissions(out.resolve(IssuedCertificate.KEY_FILE)))
                .isEqualTo(PosixFilePermissions.fromString("rw-------"));
        return out;
    }

    private String estUrl() {
        return "https://localhost:" + caServer.addresses().get("https").getPort();
    }

    private Path config(String name, String role, Path joined, String tables, String listeners) throws Exception {
        return shared.nodeConfig(tmp, name, role, joined, tables, listeners);
    }

    private Castellan startEdge(String name, Path joined) throws Exception {
        return Castellan.start(CastellanConfig.load(config(name, "edge", joined, "[edge]\nnodes = [\"mailbox-1=127.0.0.2:"
                + mailbox[0].addresses().get("link").getPort() + "\", \"mailbox-2=127.0.0.3:"
                + mailbox[1].addresses().get("link").getPort() + "\"]\ndefault-node = \"mailbox-1\"\n",
                "[[listener]]\nname = \"imaps\"\nprotocol = \"imap\"\naddress = \"127.0.0.1\"\nport = 0\ntls = \"implicit\"\n"
                        + "[[listener]]\nname = \"pop3s\"\nprotocol = \"pop3\"\naddress = \"127.0.0.1\"\nport = 0\ntls = \"implicit\"\n")));
    }

    private static String field(String output, String prefix) {
        return output.lines().filter(l -> l.startsWith(prefix)).findFirst().map(l -> l.substring(prefix.length()))
                .orElseThrow(() -> new AssertionError("no line " + prefix + " in:\n" + output));
    }

    private static EdgeRelayTest.Line imap(Castellan through, String from) throws Exception {
        return EdgeRelayTest.Line.from(through, "imaps", InetAddress.getByName(from));
    }

    /** docs/roles.md §4: nodes whose keys never left them serve links, and a session goes on at the node. */
    @Test
    void nodesJoinedWithATokenServeLinks() throws Exception {
        try (var alice = imap(edge, OTHER_CLIENT); var bob = imap(edge, OTHER_CLIENT)) {
            assertThat(alice.command("a LOGIN " + ALICE + " \"" + PASSWORD + "\"")).startsWith("a OK [CAPABILITY");
            assertThat(alice.command("b SELECT INBOX")).startsWith("b OK [READ-WRITE]");
            assertThat(bob.command("a LOGIN " + BOB + " \"" + PASSWORD + "\"")).startsWith("a OK [CAPABILITY");
        }
        // No key in the CA's data directory: only certificates and the CA's own keys.
        try (var files = Files.walk(base)) {
            assertThat(files.filter(f -> f.getFileName().toString().equals(IssuedCertificate.KEY_FILE))
                    .map(f -> base.relativize(f).toString()).toList()).containsOnly("tls/key.pem");
        }
    }

    /** A token is good once, until it expires, and for the name and role it was made for. */
    @Test
    void aTokenUsedTwiceExpiredOrForAnotherNodeIsRefused() throws Exception {
        Added once = add("mailbox-7", "mailbox");
        assertThat(joinWith(once, "mailbox-7", "mailbox", tmp.resolve("j/once")).code()).isZero();
        Cli.Run twice = joinWith(once, "mailbox-7", "mailbox", tmp.resolve("j/twice"));
        assertThat(twice.code()).isNotZero();
        assertThat(twice.err()).contains("HTTP 401", "this join token has been used");
        assertThat(tmp.resolve("j/twice")).doesNotExist();

        Added forMailbox = add("mailbox-8", "mailbox");
        Cli.Run asEdge = joinWith(forMailbox, "mailbox-8", "edge", tmp.resolve("j/as-edge"));
        assertThat(asEdge.code()).isNotZero();
        assertThat(asEdge.err()).contains("HTTP 403", "this join token is for castellan-node:mailbox/mailbox-8, not"
                + " castellan-node:edge/mailbox-8");
        Cli.Run otherName = joinWith(forMailbox, "mailbox-9", "mailbox", tmp.resolve("j/other-name"));
        assertThat(otherName.err()).contains("HTTP 403", "the request's CN must be mailbox-8");
        // Refused requests spend nothing: the right request still joins.
        assertThat(joinWith(forMailbox, "mailbox-8", "mailbox", tmp.resolve("j/right")).code()).isZero();

        Added shortLived = add("mailbox-10", "mailbox", "--hours", "1");
        // An hour cannot pass in a test: the token's kept expiry is moved into the past, as time would.
        Path kept = base.resolve("pki/node-join").resolve(shortLived.token().substring(0, shortLived.token().indexOf('.')));
        Files.writeString(kept, Files.readString(kept).replaceAll("expires \\S+", "expires 2020-01-01T00:00:00Z"));
        Cli.Run expired = joinWith(shortLived, "mailbox-10", "mailbox", tmp.resolve("j/expired"));
        assertThat(expired.err()).contains("HTTP 401", "this join token expired at 2020-01-01T00:00:00Z");

        // A wrong fingerprint: the token is never sent.
        Added pinned = add("mailbox-11", "mailbox");
        Cli.Run wrongPin = Cli.raw(null, "node", "join", estUrl(), pinned.token(), "--name", "mailbox-11", "--role", "mailbox",
                "--ca-fingerprint", "sha256:" + "0".repeat(64), "--out", tmp.resolve("j/pin").toString());
        assertThat(wrongPin.err()).contains("do not include a root with fingerprint sha256:" + "0".repeat(64));
        // The same token, from standard input rather than the command line, with the right fingerprint.
        Cli.Run fromStdin = Cli.raw(pinned.token() + "\n", "node", "join", estUrl(), "-", "--name", "mailbox-11", "--role",
                "mailbox", "--ca-fingerprint", pinned.fingerprint(), "--out", tmp.resolve("j/pin-right").toString());
        assertThat(fromStdin.code()).as(fromStdin.err()).isZero();
    }

    /**
     * A node certificate names the node (its URI) and the DNS names `node add --dns` gave, nothing
     * else: a request with an IP address beside them is refused with the reason, and spends nothing.
     */
    @Test
    void aNodeRequestNamingAnythingButItsNodeAndDnsNamesIsRefused() throws Exception {
        Added added = add("mailbox-12", "mailbox");
        NodeIdentity node = new NodeIdentity(NodeIdentity.Role.MAILBOX, "mailbox-12");
        var generator = java.security.KeyPairGenerator.getInstance("EC");
        generator.initialize(new java.security.spec.ECGenParameterSpec("secp256r1"));
        var keys = generator.generateKeyPair();
        var extensions = new org.bouncycastle.asn1.x509.ExtensionsGenerator();
        extensions.addExtension(org.bouncycastle.asn1.x509.Extension.subjectAlternativeName, false,
                new org.bouncycastle.asn1.x509.GeneralNames(new org.bouncycastle.asn1.x509.GeneralName[] {
                        new org.bouncycastle.asn1.x509.GeneralName(org.bouncycastle.asn1.x509.GeneralName.uniformResourceIdentifier, node.uri()),
                        new org.bouncycastle.asn1.x509.GeneralName(org.bouncycastle.asn1.x509.GeneralName.iPAddress, "127.0.0.1")}));
        byte[] csr = new org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder(
                new org.bouncycastle.asn1.x500.X500Name("CN=mailbox-12"), keys.getPublic())
                .addAttribute(org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers.pkcs_9_at_extensionRequest, extensions.generate())
                .build(new org.bouncycastle.operator.jcajce.JcaContentSignerBuilder("SHA256withECDSA").build(keys.getPrivate()))
                .getEncoded();
        var trust = javax.net.ssl.TrustManagerFactory.getInstance("PKIX");
        var store = java.security.KeyStore.getInstance("PKCS12");
        store.load(null, null);
        store.setCertificateEntry("root", Pem.readCertificates(base.resolve("pki/root.crt")).get(0));
        trust.init(store);
        var tls = javax.net.ssl.SSLContext.getInstance("TLS");
        tls.init(null, trust.getTrustManagers(), null);
        try (var client = java.net.http.HttpClient.newBuilder().sslContext(tls).build()) {
            var response = client.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(estUrl()
                            + "/.well-known/est/node/simpleenroll"))
                    .header("Authorization", "Bearer " + added.token())
                    .header("Content-Type", "application/pkcs10")
                    .header("Content-Transfer-Encoding", "base64")
                    .POST(java.net.http.HttpRequest.BodyPublishers.ofByteArray(java.util.Base64.getMimeEncoder().encode(csr)))
                    .build(), java.net.http.HttpResponse.BodyHandlers.ofString());
            assertThat(response.statusCode()).as(response.body()).isEqualTo(403);
            assertThat(response.body()).contains("a node certificate names its node and DNS names only");
        }
        assertThat(joinWith(added, "mailbox-12", "mailbox", tmp.resolve("j/after-refusal")).code()).isZero();
    }

    /** A device token is no join token, and a join token opens no device enrollment. */
    @Test
    void deviceTokensAndJoinTokensDoNotMix() throws Exception {
        Cli.Run device = Cli.raw(null, "enroll", "token", "--owner", ALICE, "--device", "phone", "--data", base.toString());
        assertThat(device.code()).as(device.err()).isZero();
        String deviceToken = device.out().strip();
        Added added = add("mailbox-12", "mailbox");
        Cli.Run withDeviceToken = joinWith(new Added(deviceToken, added.fingerprint(), added.join()), "mailbox-12", "mailbox",
                tmp.resolve("j/device"));
        assertThat(withDeviceToken.err()).contains("HTTP 401");
        var http = java.net.http.HttpClient.newBuilder().sslContext(trustingRoot()).build();
        var asDevice = http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(estUrl()
                        + "/.well-known/est/device/simpleenroll")).header("Authorization", "Bearer " + added.token())
                .POST(java.net.http.HttpRequest.BodyPublishers.ofString("MIIB")).build(),
                java.net.http.HttpResponse.BodyHandlers.ofString());
        assertThat(asDevice.statusCode()).isEqualTo(401);
    }

    private javax.net.ssl.SSLContext trustingRoot() throws Exception {
        var trust = java.security.KeyStore.getInstance("PKCS12");
        trust.load(null, null);
        trust.setCertificateEntry("root", Pem.readCertificate(base.resolve("pki/root.crt")));
        var factory = javax.net.ssl.TrustManagerFactory.getInstance(javax.net.ssl.TrustManagerFactory.getDefaultAlgorithm());
        factory.init(trust);
        var context = javax.net.ssl.SSLContext.getInstance("TLS");
        context.init(null, factory.getTrustManagers(), null);
        return context;
    }

    /**
     * docs/roles.md §2: mailbox-1's [[rule]] denies 127.0.0.9; a client from there, asserted by
     * the edge, is refused (RFC 5530 CONTACTADMIN, RFC 3206 AUTH) while one from 127.0.0.10 is served.
     */
    @Test
    void theMailboxNodesRulesHoldForTheAssertedClient() throws Exception {
        try (var denied = imap(edge, DENIED_CLIENT); var other = imap(edge, OTHER_CLIENT)) {
            assertThat(denied.command("a LOGIN " + ALICE + " \"" + PASSWORD + "\"")).startsWith("a NO [CONTACTADMIN]");
            assertThat(other.command("a LOGIN " + ALICE + " \"" + PASSWORD + "\"")).startsWith("a OK [CAPABILITY");
            // mailbox-2 has no such rule: the same client reaches its account there.
            try (var bob = imap(edge, DENIED_CLIENT)) {
                assertThat(bob.command("a LOGIN " + BOB + " \"" + PASSWORD + "\"")).startsWith("a OK [CAPABILITY");
            }
        }
        try (var pop = EdgeRelayTest.Line.from(edge, "pop3s", InetAddress.getByName(DENIED_CLIENT))) {
            assertThat(pop.command("USER " + ALICE)).startsWith("+OK");
            assertThat(pop.command("PASS " + PASSWORD)).startsWith("-ERR [AUTH]");
        }
    }

    /**
     * docs/roles.md §4: `node list` shows each node's certificate (validity, status) and the join
     * tokens; on an edge, each mailbox node probed now; on a mailbox node, the live links per edge.
     */
    @Test
    void nodeListShowsCertificatesTokensAndLinks() throws Exception {
        String list = Cli.raw(null, "node", "list", "--data", base.toString()).out();
        assertThat(list.replaceAll(" +", " ")).containsPattern("(?m)^NAME ROLE SERIAL VALIDITY STATUS$")
                .containsPattern("(?m)^mailbox-1 mailbox [0-9a-f]{32} \\S+Z/\\S+Z valid$")
                .containsPattern("(?m)^edge-1 edge [0-9a-f]{32} \\S+Z/\\S+Z valid$")
                .containsPattern("(?m)^JOIN TOKEN FOR EXPIRES STATE$")
                .containsPattern("(?m)^nj-[0-9a-f]{16} castellan-node:mailbox/mailbox-1 \\S+ used$");

        Path edgeConfig = tmp.resolve("edge-1/castellan.toml");
        Path mailboxConfig = tmp.resolve("mailbox-1/castellan.toml");
        try (var alice = imap(edge, OTHER_CLIENT); var again = imap(edge, OTHER_CLIENT)) {
            assertThat(alice.command("a LOGIN " + ALICE + " \"" + PASSWORD + "\"")).startsWith("a OK");
            assertThat(again.command("a LOGIN " + ALICE + " \"" + PASSWORD + "\"")).startsWith("a OK");
            // Sessions of earlier tests close a moment after their clients: counted until then.
            await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
                String links = Cli.raw(null, "node", "list", "--config", edgeConfig.toString()).out().replaceAll(" +", " ");
                assertThat(links).containsPattern("(?m)^LINK TO ADDRESS HEALTH TIME LIVE IDLE TLS CIPHER NODE CERTIFICATE NOT BEFORE"
                        + " NOT AFTER / REASON$");
                for (int i = 0; i < 2; i++) {
                    String serial = Pem.readCertificates(tmp.resolve("joined/mailbox-" + (i + 1))
                            .resolve(IssuedCertificate.CHAIN_FILE)).get(0).getSerialNumber().toString(16);
                    assertThat(links).containsPattern("(?m)^mailbox-" + (i + 1) + " 127\\.0\\.0\\." + (i + 2) + ":"
                            + mailbox[i].addresses().get("link").getPort() + " ok \\d+ms " + (i == 0 ? 2 : 0)
                            + " \\d+ TLSv1\\.3 TLS_\\S+ " + serial + " \\S+Z \\S+Z$");
                }
            });
            // The probes above were links too, from the edge's address: counted until they close.
            await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(Cli.raw(null, "node", "list", "--config",
                    mailboxConfig.toString()).out().replaceAll(" +", " ")).containsPattern("(?m)^LINKS FROM EDGE LIVE SESSIONS$")
                    .containsPattern("(?m)^edge-1 2$"));
        }
    }

    /**
     * docs/roles.md §6: revoking a mailbox node's certificate closes the edge's live links to it;
     * revoking an edge's closes the node's links from it. Other links stay.
     */
    @Test
    @Order(Integer.MAX_VALUE) // it revokes mailbox-2, which the others use
    void revocationClosesLiveLinksOnBothSides() throws Exception {
        Castellan edge2 = startEdge("edge-2", join("edge-2", "edge"));
        try (edge2; var throughEdge2 = imap(edge2, OTHER_CLIENT); var alice = imap(edge, OTHER_CLIENT)) {
            assertThat(throughEdge2.command("a LOGIN " + ALICE + " \"" + PASSWORD + "\"")).startsWith("a OK [CAPABILITY");
            assertThat(alice.command("a LOGIN " + ALICE + " \"" + PASSWORD + "\"")).startsWith("a OK [CAPABILITY");
            assertThat(Cli.raw(null, "node", "revoke", "edge-2", "--data", base.toString()).code()).isZero();
            assertThat(throughEdge2.untilClosed()).as("edge-2's live session closes").isTrue();
            assertThat(alice.command("b NOOP")).startsWith("b OK");
        }

        // The rest needs a node no other test uses: mailbox-2 (bob's) goes.
        try (var bob = imap(edge, OTHER_CLIENT); var alice = imap(edge, OTHER_CLIENT)) {
            assertThat(bob.command("a LOGIN " + BOB + " \"" + PASSWORD + "\"")).startsWith("a OK [CAPABILITY");
            assertThat(alice.command("a LOGIN " + ALICE + " \"" + PASSWORD + "\"")).startsWith("a OK [CAPABILITY");
            Cli.Run revoke = Cli.raw(null, "node", "revoke", "mailbox-2", "--data", base.toString());
            assertThat(revoke.code()).as(revoke.err()).isZero();
            assertThat(bob.untilClosed()).as("bob's live session closes with his node's certificate").isTrue();
            assertThat(alice.command("b NOOP")).startsWith("b OK");
        }
        try (var again = imap(edge, OTHER_CLIENT)) {
            assertThat(again.command("a LOGIN " + BOB + " \"" + PASSWORD + "\"")).startsWith("a NO [UNAVAILABLE]");
        }
        assertThat(Cli.raw(null, "node", "list", "--data", base.toString()).out().lines()
                .filter(l -> l.startsWith("mailbox-2 "))).singleElement().asString().contains("revoked");
    }
}
