package org.castellan.server.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.security.cert.X509Certificate;
import java.time.Instant;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import org.castellan.protocol.mail.EmailAddress;
import org.castellan.security.pki.NodeIdentity;
import org.castellan.server.Castellan;
import org.castellan.server.config.CastellanConfig;
import org.castellan.protocol.link.LinkOpening;
import org.castellan.security.pki.IssuedCertificate;
import org.castellan.security.pki.Pem;
import org.castellan.server.link.LinkService;
import org.castellan.server.link.RelayQueue;
import org.castellan.server.testing.ExternalClient;
import org.castellan.server.transport.Connection;
import org.castellan.store.MailStore;
import org.castellan.store.UidRange;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * Submission and MX through an edge (docs/roles.md §3), with one edge and two mailbox nodes on one
 * PostgreSQL as in {@link EdgeRelayTest}: swaks submits with AUTH at the edge and the session goes
 * on at the user's node; the edge's MX checks recipients against the directory, keeps what it
 * accepted in its relay queue on its own disk while a node is down, and delivers it when the node
 * is back, across a restart of the edge.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class EdgeSmtpTest {

    private static final String ALICE = EdgeCluster.ALICE; // no placement: the edge's default node, mailbox-1
    private static final String BOB = EdgeCluster.BOB; // placed on mailbox-2
    private static final String PASSWORD = EdgeCluster.PASSWORD;
    private static final String DAVE = "dave@example.org"; // a 1 KiB quota: his node refuses anything larger

    Path tmp;
    EdgeCluster cluster;
    Castellan[] mailbox;
    Path edgeConfig;
    Castellan edge;

    @BeforeAll
    void start(@TempDir Path dir) throws Exception {
        tmp = dir;
        ExternalClient.require("swaks", "swaks");
        ExternalClient.require("python3", "python3");
        cluster = EdgeCluster.start(tmp, "castellan_edge_smtp");
        mailbox = cluster.mailbox;
        cluster.addUser(DAVE, "--quota", "1K");
        edgeConfig = cluster.config("edge-1", "edge", cluster.nodeCertificate(new NodeIdentity(NodeIdentity.Role.EDGE, "edge-1"),
                Duration.ofDays(90)), cluster.edgeTable(),
                "[[listener]]\nname = \"imaps\"\nprotocol = \"imap\"\naddress = \"127.0.0.1\"\nport = 0\ntls = \"implicit\"\n"
                        + "[[listener]]\nname = \"submissions\"\nprotocol = \"submission\"\naddress = \"127.0.0.1\"\nport = 0\n"
                        + "tls = \"implicit\"\n"
                        + "[[listener]]\nname = \"submission\"\nprotocol = \"submission\"\naddress = \"127.0.0.1\"\nport = 0\n"
                        + "tls = \"starttls\"\n"
                        + "[[listener]]\nname = \"mx\"\nprotocol = \"smtp\"\naddress = \"127.0.0.1\"\nport = 0\n"
                        + "tls = \"starttls\"\n");
        edge = Castellan.start(CastellanConfig.load(edgeConfig));
        // Restarted on the same ports.
        String written = Files.readString(edgeConfig);
        for (String listener : List.of("imaps", "submissions", "submission", "mx")) {
            written = written.replace("name = \"" + listener + "\"\nprotocol", "name = \"" + listener + "\"\nport = "
                    + edge.addresses().get(listener).getPort() + "\nprotocol");
        }
        Files.writeString(edgeConfig, written.replace("\nport = 0\n", "\n"));
    }

    @AfterAll
    void stop() {
        if (edge != null) edge.close();
        if (cluster != null) cluster.close();
    }

    private int linkPort(int node) {
        return cluster.linkPort(node);
    }

    private String port(String listener) {
        return Integer.toString(edge.addresses().get(listener).getPort());
    }

    /** A message with a unique marker in its subject and body. */
    private Path message(String from, String to, String marker) throws IOException {
        Path data = tmp.resolve(marker + ".eml");
        // swaks ends the data with its own CRLF before the dot.
        Files.writeString(data, "From: " + from + "\r\nTo: " + to + "\r\nSubject: " + marker + "\r\n\r\nbody " + marker);
        return data;
    }

    /** Whether the account's INBOX holds a message with {@code marker} (one shared store: any node's handle reads it). */
    private boolean inInbox(String account, String marker) {
        MailStore store = (mailbox[0] != null ? mailbox[0] : mailbox[1]).store();
        long id = store.getAccount(EmailAddress.of(account)).orElseThrow().id();
        long inbox = store.getMailbox(id, "INBOX").orElseThrow().id();
        return store.listMessages(inbox, UidRange.all()).stream().anyMatch(m -> {
            try (var content = store.openMessage(inbox, m.uid())) {
                return new String(content.readAllBytes(), StandardCharsets.UTF_8).contains(marker);
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
    }

    private ExternalClient.Result swaks(String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of("swaks", "--server", "127.0.0.1"));
        command.addAll(List.of(args));
        return ExternalClient.run(command, Map.of());
    }

    /**
     * docs/roles.md §3: AUTH at the edge (RFC 4954, over implicit TLS per RFC 8314 and STARTTLS per
     * RFC 3207), then the session — sender checks, recipients, the message — at the user's node.
     */
    @Test
    void swaksSubmitsThroughTheEdgeForUsersOnBothNodes() throws Exception {
        String forAlice = "submitted-alice-" + UUID.randomUUID();
        String forBob = "submitted-bob-" + UUID.randomUUID();
        var alice = swaks("--port", port("submissions"), "--tls-on-connect", "--tls-verify", "--tls-ca-path",
                cluster.base.resolve("pki/root.crt").toString(), "--tls-sni", "localhost", "--auth", "PLAIN", "--auth-user", ALICE,
                "--auth-password", PASSWORD, "--from", ALICE, "--to", ALICE, "--data", message(ALICE, ALICE, forAlice).toString());
        var bob = swaks("--port", port("submission"), "--tls", "--pipeline", "--tls-ca-path",
                cluster.base.resolve("pki/root.crt").toString(), "--auth", "PLAIN", "--auth-user", BOB, "--auth-password", PASSWORD,
                "--from", BOB, "--to", BOB, "--data", message(BOB, BOB, forBob).toString());
        assertThat(alice.exitCode()).as(alice.output()).isZero();
        assertThat(bob.exitCode()).as(bob.output()).isZero();
        assertThat(alice.output()).contains("235 2.7.0", "250 2.0.0 Ok: delivered");
        assertThat(bob.output()).contains("235 2.7.0", "250-PIPELINING", "250 2.0.0 Ok: delivered");
        assertThat(inInbox(ALICE, forAlice)).isTrue();
        assertThat(inInbox(BOB, forBob)).isTrue();
    }

    /** The node runs the session after MAIL: the account's node, as the edge asserted it, applies the sender check. */
    @Test
    void theSubmissionGoesOnAtTheUsersNodeWithItsSenderChecks() throws Exception {
        try (SmtpLine client = SmtpLine.implicit(edge, "submissions")) {
            client.command("EHLO laptop.example");
            assertThat(client.command("AUTH PLAIN " + plain(BOB))).startsWith("235 2.7.0");
            // RFC 6409 §8.1: another account's address is not the sender's own; the node refuses it.
            assertThat(client.command("MAIL FROM:<" + ALICE + ">")).startsWith("550 5.7.1");
            assertThat(linked(1, BOB)).isPresent();
            assertThat(linked(0, BOB)).isEmpty();
            assertThat(linked(1, BOB).get().remote().getPort()).isEqualTo(client.socket.getLocalPort());
            assertThat(client.command("MAIL FROM:<" + BOB + ">")).startsWith("250 2.1.0");
            assertThat(client.command("RCPT TO:<" + ALICE + ">")).startsWith("250 2.1.5");
            assertThat(client.command("QUIT")).startsWith("221");
        }
    }

    /**
     * A user whose node is down gets 451 4.4.1 (RFC 5321 §4.3.2, RFC 3463 X.4.1) to MAIL and may
     * try again; a user on the other node submits meanwhile, and once the node is back, so does she.
     */
    @Test
    void aStoppedNodeFailsItsOwnUsersSubmissionsOnlyAndTemporarily() throws Exception {
        mailbox[0].close();
        mailbox[0] = null;
        try {
            try (SmtpLine alice = SmtpLine.implicit(edge, "submissions")) {
                alice.command("EHLO laptop.example");
                assertThat(alice.command("AUTH PLAIN " + plain(ALICE))).startsWith("235 2.7.0");
                assertThat(alice.command("MAIL FROM:<" + ALICE + ">")).startsWith("451 4.4.1");
            }
            String marker = "while-mailbox-1-is-down-" + UUID.randomUUID();
            var bob = swaks("--port", port("submissions"), "--tls-on-connect", "--auth", "PLAIN", "--auth-user", BOB,
                    "--auth-password", PASSWORD, "--from", BOB, "--to", BOB, "--data", message(BOB, BOB, marker).toString());
            assertThat(bob.exitCode()).as(bob.output()).isZero();
            assertThat(inInbox(BOB, marker)).isTrue();
        } finally {
            mailbox[0] = Castellan.start(CastellanConfig.load(cluster.mailboxConfig[0]));
        }
        try (SmtpLine alice = SmtpLine.implicit(edge, "submissions")) {
            alice.command("EHLO laptop.example");
            assertThat(alice.command("AUTH PLAIN " + plain(ALICE))).startsWith("235 2.7.0");
            assertThat(alice.command("MAIL FROM:<" + ALICE + ">")).startsWith("250 2.1.0");
        }
    }

    /** castellan audit on the edge names its relay queue, the one mail it holds at rest (docs/roles.md §5). */
    @Test
    void theAuditNamesTheRelayQueue() {
        Cli.Run audit = Cli.raw(null, "audit", "--config", edgeConfig.toString());
        assertThat(audit.out().replaceAll(" +", " ")).as(audit.err())
                .contains("MX relay queue: " + edgeConfig.getParent().resolve(RelayQueue.DIRECTORY) + " (this edge's disk)");
    }

    /**
     * The edge as MX (docs/roles.md §3): an existing user's mail is taken (250) and reaches her
     * INBOX, read back through the edge with imaplib; an unknown user is refused at RCPT with 550
     * 5.1.1 (RFC 3463), never accepted and bounced.
     */
    @Test
    void mxMailReachesTheInboxAndUnknownUsersAreRefusedAtRcpt() throws Exception {
        String marker = "mx-alice-" + UUID.randomUUID();
        var sent = swaks("--port", port("mx"), "--ehlo", "mail.example.net", "--from", "carol@example.net", "--to", ALICE,
                "--data", message("carol@example.net", ALICE, marker).toString());
        assertThat(sent.exitCode()).as(sent.output()).isZero();
        assertThat(sent.output()).contains("250 2.0.0 Ok: queued as");
        await().atMost(Duration.ofSeconds(30)).until(() -> inInbox(ALICE, marker));
        String read = ExternalClient.runOk(List.of("python3", "-c", String.join("\n",
                "import imaplib, ssl, sys",
                "a = imaplib.IMAP4_SSL('localhost', int(sys.argv[1]), ssl_context=ssl.create_default_context(cafile=sys.argv[2]))",
                "a.login(sys.argv[3], sys.argv[4]); a.select('INBOX')",
                "typ, found = a.search(None, 'SUBJECT', sys.argv[5])",
                "typ, data = a.fetch(found[0].split()[-1], '(BODY.PEEK[])')",
                "print('found', sys.argv[5] in data[0][1].decode(), 'received-by-edge', 'by localhost' in data[0][1].decode())",
                "a.logout()"), port("imaps"), cluster.base.resolve("pki/root.crt").toString(), ALICE, PASSWORD, marker), Map.of()).output();
        assertThat(read).contains("found True received-by-edge True");

        var unknown = swaks("--port", port("mx"), "--from", "carol@example.net", "--to", "nobody@example.org",
                "--data", message("carol@example.net", "nobody@example.org", "unknown").toString());
        assertThat(unknown.exitCode()).isNotZero();
        assertThat(unknown.output()).contains("<** 550 5.1.1");
        var relaying = swaks("--port", port("mx"), "--from", "carol@example.net", "--to", "dave@example.com",
                "--data", message("carol@example.net", "dave@example.com", "relaying").toString());
        assertThat(relaying.output()).contains("<** 550 5.7.1");
    }

    /**
     * docs/roles.md §3 and §5: while bob's node is down the edge's MX still answers 250, the
     * message waiting on the edge's disk; the edge restarts meanwhile; once the node is back the
     * message is in bob's INBOX, nothing done by an operator.
     */
    @Test
    void mxMailWaitsAtTheEdgeWhileTheNodeIsDownAndAcrossARestart() throws Exception {
        String marker = "mx-bob-queued-" + UUID.randomUUID();
        mailbox[1].close();
        mailbox[1] = null;
        try {
            var sent = swaks("--port", port("mx"), "--ehlo", "mail.example.net", "--from", "carol@example.net", "--to", BOB,
                    "--data", message("carol@example.net", BOB, marker).toString());
            assertThat(sent.exitCode()).as(sent.output()).isZero();
            assertThat(sent.output()).contains("250 2.0.0 Ok: queued as");
            Path queue = edge.config().server().dataDir().resolve(RelayQueue.DIRECTORY);
            assertThat(queue).isDirectory();

            edge.close();
            edge = null;
            assertThat(inInbox(BOB, marker)).isFalse();
            edge = Castellan.start(CastellanConfig.load(edgeConfig));
        } finally {
            if (edge == null) edge = Castellan.start(CastellanConfig.load(edgeConfig));
            mailbox[1] = Castellan.start(CastellanConfig.load(cluster.mailboxConfig[1]));
        }
        await().atMost(Duration.ofSeconds(90)).until(() -> inInbox(BOB, marker));
    }

    /**
     * The edge checks no quota (docs/roles.md §6): dave's node refuses the message at its end with
     * 552 5.2.2 (RFC 3463), a permanent failure; the edge's queue makes the bounce (RFC 3464) as
     * the outbound queue does, and delivers it to the sender's node: alice finds it in her INBOX.
     */
    @Test
    void aPermanentRefusalByTheNodeBouncesToTheSender() throws Exception {
        String marker = "too-big-for-dave-" + UUID.randomUUID();
        Path data = tmp.resolve(marker + ".eml");
        Files.writeString(data, "From: " + ALICE + "\r\nTo: " + DAVE + "\r\nSubject: " + marker + "\r\n\r\n"
                + ("0123456789abcdef".repeat(4) + "\r\n").repeat(64) + marker);
        var sent = swaks("--port", port("mx"), "--ehlo", "mail.example.org", "--from", ALICE, "--to", DAVE,
                "--data", data.toString());
        assertThat(sent.exitCode()).as(sent.output()).isZero();
        assertThat(sent.output()).contains("250 2.0.0 Ok: queued as");
        await().atMost(Duration.ofSeconds(60)).until(() -> inInbox(ALICE, "Status: 5.2.2"));
        assertThat(inInbox(ALICE, "Final-Recipient: rfc822;" + DAVE)).isTrue();
        assertThat(inInbox(DAVE, marker)).isFalse();
    }

    /**
     * docs/roles.md §2: a submission and an MX delivery cross the link in TLS only. tcpdump on the
     * links of both nodes: TLS records, and neither the message's marker nor the account.
     */
    @Test
    void theLinkCarriesNoCleartextOfSubmittedOrRelayedMail() throws Exception {
        String submitted = "cleartext-submitted-" + UUID.randomUUID();
        String relayed = "cleartext-relayed-" + UUID.randomUUID();
        byte[] packets;
        try (LinkCapture capture = LinkCapture.start(tmp.resolve("smtp-link.pcap"), linkPort(0), linkPort(1))) {
            var sub = swaks("--port", port("submissions"), "--tls-on-connect", "--auth", "PLAIN", "--auth-user", BOB,
                    "--auth-password", PASSWORD, "--from", BOB, "--to", BOB, "--data", message(BOB, BOB, submitted).toString());
            assertThat(sub.exitCode()).as(sub.output()).isZero();
            var mx = swaks("--port", port("mx"), "--from", "carol@example.net", "--to", ALICE,
                    "--data", message("carol@example.net", ALICE, relayed).toString());
            assertThat(mx.exitCode()).as(mx.output()).isZero();
            await().atMost(Duration.ofSeconds(30)).until(() -> inInbox(ALICE, relayed));
            packets = capture.packets();
        }
        assertThat(inInbox(BOB, submitted)).isTrue();
        // RFC 8446 §5.1: application data records (23) of TLS 1.2's version on the wire.
        assertThat(LinkCapture.indexOf(packets, new byte[] {23, 3, 3})).as("TLS application data").isNotNegative();
        for (String cleartext : List.of(submitted, relayed, BOB, ALICE)) {
            assertThat(LinkCapture.indexOf(packets, cleartext.getBytes(StandardCharsets.US_ASCII))).as(cleartext).isNegative();
        }
    }

    /**
     * An MX delivery on the link asserts no account, and may take longer than the link's opening
     * deadline (a large message, the node's DNS checks): the node keeps the session once the
     * opening was made in time. As an edge would, with an edge certificate, straight to mailbox-1.
     */
    @Test
    void anMxDeliveryOnTheLinkOutlastsTheOpeningDeadline() throws Exception {
        Path certificate = cluster.nodeCertificate(new NodeIdentity(NodeIdentity.Role.EDGE, "edge-raw"), Duration.ofDays(1));
        KeyStore keys = KeyStore.getInstance("PKCS12");
        keys.load(null, null);
        char[] secret = "x".toCharArray();
        keys.setKeyEntry("edge", Pem.readPrivateKey(certificate.resolve(IssuedCertificate.KEY_FILE)), secret,
                Pem.readCertificates(certificate.resolve(IssuedCertificate.CHAIN_FILE)).toArray(new X509Certificate[0]));
        KeyManagerFactory kmf = KeyManagerFactory.getInstance("PKIX");
        kmf.init(keys, secret);
        KeyStore trust = KeyStore.getInstance("PKCS12");
        trust.load(null, null);
        trust.setCertificateEntry("root", cluster.ca.rootCertificate());
        TrustManagerFactory tmf = TrustManagerFactory.getInstance("PKIX");
        tmf.init(trust);
        SSLContext context = SSLContext.getInstance("TLSv1.3");
        context.init(kmf.getKeyManagers(), tmf.getTrustManagers(), null);
        String marker = "slow-mx-" + UUID.randomUUID();
        byte[] content = ("From: carol@example.net\r\nTo: " + ALICE + "\r\nSubject: " + marker + "\r\n\r\n" + marker + "\r\n")
                .getBytes(StandardCharsets.US_ASCII);
        Instant accepted = Instant.now();
        try (SmtpLine link = new SmtpLine(context.getSocketFactory().createSocket("127.0.0.2", linkPort(0)))) {
            link.out.write(new LinkOpening(LinkOpening.MX, "", "", "198.51.100.4", 25, Optional.empty(), Optional.empty(),
                    Optional.empty(), "t1", List.of(), Optional.of("mail.example.net")).format().getBytes(StandardCharsets.UTF_8));
            link.framed();
            assertThat(link.in.readLine()).isEqualTo("READY mx");
            assertThat(link.command("MAIL FROM:<carol@example.net>")).startsWith("250");
            assertThat(link.command("RCPT TO:<" + ALICE + ">")).startsWith("250");
            Instant past = accepted.plus(LinkService.OPENING_DEADLINE).plusSeconds(1);
            await().atMost(LinkService.OPENING_DEADLINE.multipliedBy(2)).until(() -> Instant.now().isAfter(past));
            link.out.write(("BDAT " + content.length + " LAST\r\n").getBytes(StandardCharsets.US_ASCII));
            assertThat(link.command(new String(content, StandardCharsets.US_ASCII).stripTrailing())).startsWith("250 2.0.0");
        }
        assertThat(inInbox(ALICE, marker)).isTrue();
    }

    private static String plain(String account) {
        return Base64.getEncoder().encodeToString(("\0" + account + "\0" + PASSWORD).getBytes(StandardCharsets.UTF_8));
    }

    private Optional<Connection> linked(int node, String account) {
        return mailbox[node].sessions().list().stream()
                .filter(c -> c.listener().name().equals("link") && c.account().equals(Optional.of(account))).findFirst();
    }

    /** An SMTP client over implicit TLS: a command, then its reply's last line. */
    static final class SmtpLine implements AutoCloseable {
        final Socket socket;
        BufferedReader in;
        OutputStream out;

        /** After the greeting: an SMTP server's 220, or a mailbox node's link greeting. */
        private SmtpLine(Socket socket) throws IOException {
            this.socket = socket;
            socket.setSoTimeout(20_000);
            this.in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
            this.out = socket.getOutputStream();
            reply(); // the greeting
        }

        static SmtpLine implicit(Castellan edge, String listener) throws Exception {
            KeyStore trust = KeyStore.getInstance("PKCS12");
            trust.load(null, null);
            try (var stream = Files.newInputStream(edge.config().tls().pkiDirectory().resolve("root.crt"))) {
                trust.setCertificateEntry("root", CertificateFactory.getInstance("X.509").generateCertificate(stream));
            }
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(trust);
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(null, tmf.getTrustManagers(), null);
            SSLSocket socket = (SSLSocket) context.getSocketFactory().createSocket("127.0.0.1",
                    edge.addresses().get(listener).getPort());
            return new SmtpLine(socket);
        }

        /** On a link, after the opening line: the session's octets travel in frames (docs/roles.md §2). */
        void framed() throws IOException {
            in = new BufferedReader(new InputStreamReader(LinkFraming.unframed(socket.getInputStream()), StandardCharsets.UTF_8));
            out = LinkFraming.framed(socket.getOutputStream());
        }

        String command(String line) throws IOException {
            out.write((line + "\r\n").getBytes(StandardCharsets.UTF_8));
            out.flush();
            return reply();
        }

        private String reply() throws IOException {
            while (true) {
                String line = in.readLine();
                if (line == null) return "(closed)";
                if (line.length() < 4 || line.charAt(3) != '-') return line;
            }
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }
}
