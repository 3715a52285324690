package org.castellan.server.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import org.castellan.protocol.mail.EmailAddress;
import org.castellan.security.pki.CertificateAuthority;
import org.castellan.security.pki.IssuedCertificate;
import org.castellan.security.pki.NodeIdentity;
import org.castellan.security.pki.RevocationReason;
import org.castellan.server.Castellan;
import org.castellan.server.config.CastellanConfig;
import org.castellan.server.testing.ExternalClient;
import org.castellan.server.transport.Connection;
import org.castellan.store.MailStore;
import org.castellan.testkit.Postgres;
import org.castellan.testkit.TestPki;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * One edge and two mailbox nodes on one PostgreSQL (docs/roles.md): clients log in at the edge,
 * and their sessions go on at the node the directory places them on, over the link. Real clients
 * (Python's imaplib and poplib) read mail delivered into the node's store; a node that stops
 * takes only its own users' sessions with it, and they log in again once it is back, without
 * anything done at the edge; the link refuses edge certificates that are foreign, expired or revoked.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class EdgeRelayTest {

    private static final String ALICE = "alice@example.org"; // no placement: the edge's default node, mailbox-1
    private static final String BOB = "bob@example.org"; // placed on mailbox-2
    private static final String PASSWORD = "correct horse battery";

    Path tmp;
    Postgres postgres;
    SharedBase shared;
    Path base;
    CertificateAuthority ca;
    final Castellan[] mailbox = new Castellan[2];
    final Path[] mailboxConfig = new Path[2];
    Castellan edge;

    @BeforeAll
    void start(@TempDir Path dir) throws Exception {
        tmp = dir;
        ExternalClient.require("python3", "python3");
        postgres = Postgres.start();
        // One castellan init: its CA (with the node CA) and server certificate serve every node here.
        shared = SharedBase.init(tmp, postgres, "castellan_edge", PASSWORD, ALICE, BOB);
        base = shared.base();
        ca = CertificateAuthority.load(base.resolve("pki"));

        for (int i = 0; i < 2; i++) {
            String name = "mailbox-" + (i + 1);
            Path node = nodeCertificate(new NodeIdentity(NodeIdentity.Role.MAILBOX, name), Duration.ofDays(90));
            mailboxConfig[i] = config(name, "mailbox", node, "",
                    "[[listener]]\nname = \"link\"\nprotocol = \"link\"\naddress = \"127.0.0." + (i + 2) + "\"\nport = 0\n"
                            + "tls = \"implicit\"\nclient-cert = \"require\"\nedges = [\"127.0.0.0/8\"]\n");
            mailbox[i] = Castellan.start(CastellanConfig.load(mailboxConfig[i]));
            // Restarted on the same port, as an operator's configuration would have it.
            String written = Files.readString(mailboxConfig[i]);
            Files.writeString(mailboxConfig[i], written.replace("port = 0", "port = " + linkPort(i)));
        }
        Cli.Run place = Cli.raw(null, "user", "place", BOB, "mailbox-2", "--data", base.toString());
        assertThat(place.code()).as(place.err()).isZero();
        edge = startEdge("edge-1", nodeCertificate(new NodeIdentity(NodeIdentity.Role.EDGE, "edge-1"), Duration.ofDays(90)));
    }

    @AfterAll
    void stop() {
        if (edge != null) edge.close();
        for (Castellan m : mailbox) if (m != null) m.close();
        if (postgres != null) postgres.close();
    }

    /** A node certificate from the node CA, written where a [node] table names it; returns its directory. */
    private Path nodeCertificate(NodeIdentity node, Duration validity) {
        IssuedCertificate issued = ca.issueNode(node, List.of("localhost"), validity);
        Path out = tmp.resolve("certs").resolve(node.role().name().toLowerCase() + "-" + node.name() + "-" + validity.toSeconds());
        issued.writeTo(out);
        return out;
    }

    /** A node's configuration: its own data directory; the store, CA and server certificate shared. */
    private Path config(String name, String role, Path nodeCertificate, String tables, String listeners) throws IOException {
        return shared.nodeConfig(tmp, name, role, nodeCertificate, tables, listeners);
    }

    private Castellan startEdge(String name, Path nodeCertificate) throws Exception {
        return startEdge(name, nodeCertificate.resolve(IssuedCertificate.CHAIN_FILE), nodeCertificate.resolve(IssuedCertificate.KEY_FILE));
    }

    private Castellan startEdge(String name, Path chain, Path key) throws Exception {
        Path file = config(name, "edge", chain.getParent(), "[edge]\nnodes = [\"mailbox-1=127.0.0.2:" + linkPort(0)
                + "\", \"mailbox-2=127.0.0.3:" + linkPort(1) + "\"]\ndefault-node = \"mailbox-1\"\n",
                "[[listener]]\nname = \"imaps\"\nprotocol = \"imap\"\naddress = \"127.0.0.1\"\nport = 0\ntls = \"implicit\"\n"
                        + "[[listener]]\nname = \"pop3s\"\nprotocol = \"pop3\"\naddress = \"127.0.0.1\"\nport = 0\ntls = \"implicit\"\n");
        String text = Files.readString(file);
        Files.writeString(file, text.replace(chain.getParent().resolve(IssuedCertificate.CHAIN_FILE).toString(), chain.toString())
                .replace(chain.getParent().resolve(IssuedCertificate.KEY_FILE).toString(), key.toString()));
        return Castellan.start(CastellanConfig.load(file));
    }

    private int linkPort(int node) {
        return mailbox[node] != null ? mailbox[node].addresses().get("link").getPort()
                : Integer.parseInt(Files.exists(mailboxConfig[node]) ? portIn(mailboxConfig[node]) : "0");
    }

    private static String portIn(Path config) {
        try {
            return Files.readString(config).replaceAll("(?s).*\nport = (\\d+)\n.*", "$1");
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** A message with {@code marker} in its body, delivered into the account's INBOX through node {@code node}'s store. */
    private void deliver(int node, String account, String subject, String marker) {
        MailStore store = mailbox[node].store();
        long id = store.getAccount(EmailAddress.of(account)).orElseThrow().id();
        long inbox = store.getMailbox(id, "INBOX").orElseThrow().id();
        store.append(inbox, ("From: carol@example.net\r\nTo: " + account + "\r\nSubject: " + subject + "\r\n\r\n" + marker
                + "\r\n").getBytes(StandardCharsets.US_ASCII), Set.of(), Instant.now());
    }

    private String python(String script, Castellan through, String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of("python3", "-c", script,
                Integer.toString(through.addresses().get("imaps").getPort()),
                Integer.toString(through.addresses().get("pop3s").getPort()),
                base.resolve("pki/root.crt").toString(), PASSWORD));
        command.addAll(List.of(args));
        return ExternalClient.runOk(command, Map.of()).output();
    }

    private static final String IMAP_SCRIPT = String.join("\n",
            "import imaplib, ssl, sys",
            "imaps, pop3s, ca, pw, user, marker = sys.argv[1:7]",
            "ctx = ssl.create_default_context(cafile=ca)",
            "a = imaplib.IMAP4_SSL('localhost', int(imaps), ssl_context=ctx, timeout=20)",
            "b = imaplib.IMAP4_SSL('localhost', int(imaps), ssl_context=ctx, timeout=20)",
            "print('greeting', ' '.join(sorted(c for c in a.capabilities)))",
            "print('login', a.login(user, pw)[0], b.login(user, pw)[0])",
            "print('logincaps', a.response('CAPABILITY')[1][0].decode())",
            "print('caps', a.capability()[1][0].decode())",
            "print('select', a.select('INBOX')[1][0].decode())",
            "typ, found = a.search(None, 'BODY', marker)",
            "n = found[0].split()[-1].decode()",
            "typ, data = a.fetch(n, '(BODY.PEEK[])')",
            "print('fetch', typ, marker in data[0][1].decode())",
            "print('store', a.store(n, '+FLAGS', '(\\\\Flagged)')[1][0].decode())",
            // RFC 2177: an idling session hears of a message another session appends, through the link.
            "b.select('INBOX')",
            "tag = b._new_tag().decode()",
            "b.send(('%s IDLE\\r\\n' % tag).encode())",
            "print('idle', b.readline().decode().strip())",
            "a.append('INBOX', None, None, b'Subject: while idling\\r\\n\\r\\nhello\\r\\n')",
            "print('heard', b.readline().decode().strip())",
            "b.send(b'DONE\\r\\n')",
            "print('done', b.readline().decode().strip())",
            "print('logout', a.logout()[0], b.logout()[0])");

    /** docs/roles.md §3: IMAP after LOGIN goes on at the node the directory places the account on. */
    @Test
    void imapSessionsGoOnAtEachUsersMailboxNode() throws Exception {
        deliver(0, ALICE, "for alice", "marker-alice-on-mailbox-1");
        deliver(1, BOB, "for bob", "marker-bob-on-mailbox-2");

        String alice = python(IMAP_SCRIPT, edge, ALICE, "marker-alice-on-mailbox-1");
        String bob = python(IMAP_SCRIPT, edge, BOB, "marker-bob-on-mailbox-2");

        for (String out : List.of(alice, bob)) {
            assertThat(out).contains("login OK OK", "fetch OK True", "idle + idling", "done ", "logout BYE BYE")
                    .containsPattern("store \\d+ \\(FLAGS \\(.*\\\\Flagged.*\\)")
                    .containsPattern("heard \\* \\d+ EXISTS");
            // RFC 9051 §6.2.3: the OK of LOGIN carries the capabilities after login — the node's.
            String loginCaps = line(out, "logincaps ");
            assertThat(line(out, "caps ")).isEqualTo(loginCaps);
            assertThat(loginCaps).doesNotContain(" AUTH=", "LOGINDISABLED").contains("IDLE");
            assertThat(line(out, "greeting ")).contains("AUTH=");
        }
        // Each user's messages are where the node's store has them: the flag set through the edge is there.
        assertThat(flagged(0, ALICE)).isTrue();
        assertThat(flagged(1, BOB)).isTrue();
    }

    /**
     * Issue "Edge and mailbox roles", failure: a mailbox node killed with SIGKILL (a process of its
     * own) during sessions. Its user's session idling through the edge ends; the user's next login
     * is told to come back later (RFC 5530 UNAVAILABLE) while the other node's user goes on; once
     * the node runs again its user is served, with no operator action at the edge.
     */
    @Test
    void aKilledNodeEndsItsUsersSessionsOnlyAndServesThemWhenItIsBack() throws Exception {
        mailbox[0].close();
        mailbox[0] = null;
        String javaCommand = ProcessHandle.current().info().command().orElseThrow();
        Path err = tmp.resolve("mailbox-1-child.err");
        Process child = new ProcessBuilder(javaCommand, "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                NodeChild.class.getName(), mailboxConfig[0].toString()).redirectError(err.toFile()).start();
        try (Line alice = Line.imap(edge); Line bob = Line.imap(edge)) {
            String ready = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8)).readLine();
            assertThat(ready).as("the child said %s; stderr: %s", ready, read(err)).isEqualTo("READY");
            assertThat(alice.command("a LOGIN " + ALICE + " \"" + PASSWORD + "\"")).startsWith("a OK [CAPABILITY");
            assertThat(alice.command("b SELECT INBOX")).startsWith("b OK");
            alice.out.write("c IDLE\r\n".getBytes(StandardCharsets.US_ASCII));
            alice.out.flush();
            assertThat(alice.in.readLine()).startsWith("+ ");
            assertThat(bob.command("a LOGIN " + BOB + " \"" + PASSWORD + "\"")).startsWith("a OK");

            child.destroyForcibly(); // SIGKILL: no shutdown hooks, no goodbye on the link
            assertThat(child.waitFor(30, java.util.concurrent.TimeUnit.SECONDS)).isTrue();

            assertThat(alice.untilClosed()).as("alice's idling session ends with her node").isTrue();
            assertThat(bob.command("b SELECT INBOX")).startsWith("b OK");
            try (Line again = Line.imap(edge)) {
                assertThat(again.command("a LOGIN " + ALICE + " \"" + PASSWORD + "\"")).startsWith("a NO [UNAVAILABLE]");
            }

            aliceIsServedOnceHerNodeRunsAgain(bob);
        } finally {
            child.destroyForcibly();
            if (mailbox[0] == null) mailbox[0] = Castellan.start(CastellanConfig.load(mailboxConfig[0]));
        }
    }

    /** Starts mailbox-1 again: alice logs in through the edge and is served there, and bob's session went on. */
    private void aliceIsServedOnceHerNodeRunsAgain(Line bob) throws Exception {
        mailbox[0] = Castellan.start(CastellanConfig.load(mailboxConfig[0]));
        try (Line again = Line.imap(edge)) {
            assertThat(again.command("a LOGIN " + ALICE + " \"" + PASSWORD + "\"")).startsWith("a OK [CAPABILITY");
            assertThat(again.command("b SELECT INBOX")).startsWith("b OK");
        }
        assertThat(bob.command("c NOOP")).startsWith("c OK");
    }

    /**
     * docs/roles.md §2: a session's octets cross the link in frames of at most 64 KiB, with reads
     * paused on either side while the other has not taken what came. A message of about 7 MB (a
     * 5 MiB attachment, base64) is appended through the edge and fetched back whole, and the link
     * then carries the next session.
     */
    @Test
    void aMultiMegabyteMessageCrossesTheEdgeBothWays() throws Exception {
        String out = python(String.join("\n",
                "import imaplib, ssl, sys, hashlib, base64, os",
                "imaps, pop3s, ca, pw, user = sys.argv[1:6]",
                "ctx = ssl.create_default_context(cafile=ca)",
                "body = base64.encodebytes(os.urandom(5 * 1024 * 1024)).replace(b'\\n', b'\\r\\n')",
                "msg = (b'From: ' + user.encode() + b'\\r\\nTo: ' + user.encode() + b'\\r\\nSubject: attachment\\r\\n'",
                "       b'MIME-Version: 1.0\\r\\nContent-Type: application/octet-stream\\r\\n'",
                "       b'Content-Transfer-Encoding: base64\\r\\n\\r\\n' + body)",
                "a = imaplib.IMAP4_SSL('localhost', int(imaps), ssl_context=ctx, timeout=60)",
                "a.login(user, pw)",
                "typ, data = a.append('INBOX', None, None, msg)",
                "print('append', typ)",
                "uid = data[0].decode().split('APPENDUID ')[1].split()[1].rstrip(']')",
                "a.select('INBOX')",
                "typ, got = a.uid('FETCH', uid, '(BODY.PEEK[])')",
                "print('size', len(msg), 'same', hashlib.sha256(got[0][1]).digest() == hashlib.sha256(msg).digest())",
                "a.logout()",
                "b = imaplib.IMAP4_SSL('localhost', int(imaps), ssl_context=ctx, timeout=60)",
                "b.login(user, pw)",
                "print('next', b.select('INBOX')[0])",
                "b.logout()"), edge, ALICE);
        assertThat(out).contains("append OK").contains("same True").contains("next OK");
    }

    /**
     * docs/roles.md §2: while the node's session runs a command it reads no more, and the frames
     * that arrive meanwhile wait for it, in order and unchanged. Two hundred APPENDs with
     * non-synchronising literals (RFC 7888) written at once through the edge are each answered
     * OK, and every message reads back as it was sent.
     */
    @Test
    void pipelinedAppendsArriveWholeAndInOrder() throws Exception {
        int count = 200;
        String subject = "pipelined";
        try (Line client = Line.imap(edge)) {
            assertThat(client.command("a LOGIN " + BOB + " \"" + PASSWORD + "\"")).startsWith("a OK");
            StringBuilder burst = new StringBuilder();
            for (int i = 0; i < count; i++) {
                String message = "Subject: " + subject + "\r\n\r\nmessage " + i + " " + "x".repeat(i * 7) + "\r\n";
                burst.append("p").append(i).append(" APPEND INBOX {").append(message.length()).append("+}\r\n")
                        .append(message).append("\r\n");
            }
            client.out.write(burst.toString().getBytes(StandardCharsets.US_ASCII));
            client.out.flush();
            String[] uids = new String[count];
            for (int i = 0; i < count; i++) {
                // RFC 4315 §3: the OK names the message's UID.
                String ok = client.until("p" + i + " ");
                assertThat(ok).startsWith("p" + i + " OK [APPENDUID ");
                uids[i] = ok.split(" ")[4].replace("]", "");
            }
            assertThat(client.command("s SELECT INBOX")).startsWith("s OK");
            for (int i = 0; i < count; i++) {
                String expected = "message " + i + " " + "x".repeat(i * 7);
                client.out.write(("g" + i + " UID FETCH " + uids[i] + " BODY.PEEK[TEXT]\r\n").getBytes(StandardCharsets.US_ASCII));
                client.out.flush();
                String line;
                StringBuilder text = new StringBuilder();
                while (!(line = client.in.readLine()).startsWith("g" + i + " ")) text.append(line).append('\n');
                assertThat(line).startsWith("g" + i + " OK");
                assertThat(text.toString()).as("message " + i).contains(expected);
            }
        }
    }

    /**
     * docs/roles.md §2: a client that stops reading holds back its own session and no one else's.
     * Alice's client asks for 32 MiB (eight messages of 4 MiB, more than the sockets between it
     * and the node hold) and reads nothing: her connection at the edge fills to its high-water mark,
     * the edge stops reading her link, the link at the node fills, her session there stops being
     * writable and its FETCH waits. Meanwhile another client of the same node through the same
     * edge is served; no connection of hers, on either node, ever queued more than a few windows;
     * and when she reads again every message arrives whole, in order.
     */
    @Test
    void aClientThatStopsReadingHoldsBackItsOwnSessionOnly() throws Exception {
        int count = 8;
        int size = 4 * 1024 * 1024;
        String subject = "held back " + System.nanoTime();
        List<String> messages = new ArrayList<>();
        MailStore store = mailbox[0].store();
        long inbox = store.getMailbox(store.getAccount(EmailAddress.of(ALICE)).orElseThrow().id(), "INBOX").orElseThrow().id();
        java.util.Random random = new java.util.Random(7);
        for (int i = 0; i < count; i++) {
            StringBuilder message = new StringBuilder("From: carol@example.net\r\nTo: " + ALICE + "\r\nSubject: " + subject
                    + "\r\n\r\n");
            while (message.length() < size - 80) {
                for (int j = 0; j < 76; j++) message.append((char) ('a' + random.nextInt(26)));
                message.append("\r\n");
            }
            messages.add(message.toString());
            store.append(inbox, message.toString().getBytes(StandardCharsets.US_ASCII), Set.of(), Instant.now());
        }
        try (Line slow = Line.imap(edge); Line other = Line.imap(edge)) {
            assertThat(slow.command("a LOGIN " + ALICE + " \"" + PASSWORD + "\"")).startsWith("a OK");
            slow.out.write(("s EXAMINE INBOX\r\nu UID SEARCH SUBJECT \"" + subject + "\"\r\n").getBytes(StandardCharsets.US_ASCII));
            slow.out.flush();
            String uids = slow.until("* SEARCH ").substring("* SEARCH ".length()).trim().replace(' ', ',');
            assertThat(slow.until("u ")).startsWith("u OK");
            assertThat(uids.split(",")).hasSize(count);
            slow.out.write(("f UID FETCH " + uids + " BODY.PEEK[]\r\n").getBytes(StandardCharsets.US_ASCII));
            slow.out.flush();

            // Backpressure has reached the node: her session there takes no more output.
            Connection atNode = await().atMost(Duration.ofSeconds(30)).until(() -> heldBack(ALICE), Optional::isPresent)
                    .orElseThrow();

            assertThat(other.command("b LOGIN " + ALICE + " \"" + PASSWORD + "\"")).startsWith("b OK");
            assertThat(other.command("c SELECT INBOX")).startsWith("c OK");
            assertThat(other.command("d UID FETCH " + uids.split(",")[0] + " (UID RFC822.SIZE)")).startsWith("d OK");
            assertThat(atNode.bytesOut()).as("what the slow session has produced meanwhile").isLessThan((long) count * size);

            // Each of her connections: the edge's to her client, the node's session and the link carrying it.
            long bound = 1024 * 1024;
            assertThat(atNode.peakQueuedOutput()).as("the node's session").isLessThan(bound);
            assertThat(atNode.carrier().orElseThrow().peakQueuedOutput()).as("the link at the node").isLessThan(bound);
            assertThat(edge.sessions().list()).filteredOn(c -> c.account().equals(Optional.of(ALICE)))
                    .allSatisfy(c -> assertThat(c.peakQueuedOutput()).as("the edge's connection to a client").isLessThan(bound));

            char[] octets = new char[size];
            for (int i = 0; i < count; i++) {
                String head = slow.in.readLine();
                int length = Integer.parseInt(head.substring(head.lastIndexOf('{') + 1, head.length() - 1));
                assertThat(length).isEqualTo(messages.get(i).length());
                for (int read = 0, n; read < length; read += n) {
                    n = slow.in.read(octets, read, length - read);
                    if (n < 0) throw new AssertionError("closed after " + read + " of message " + i);
                }
                assertThat(new String(octets, 0, length)).as("message " + i).isEqualTo(messages.get(i));
                assertThat(slow.in.readLine()).isEqualTo(")");
            }
            assertThat(slow.in.readLine()).startsWith("f OK");
        }
    }

    /**
     * docs/roles.md §2: the link is TLS from its first byte. tcpdump on the loopback interface,
     * filtered to mailbox-1's link port, records a session fetching a message with a unique marker:
     * the capture holds TLS records and not the marker. The edge is a new one, so that its link is
     * opened, handshake and all, while the capture runs.
     */
    @Test
    void theLinkCarriesNoCleartext() throws Exception {
        ExternalClient.require("tcpdump", "tcpdump");
        try (Castellan fresh = startEdge("edge-capture", nodeCertificate(new NodeIdentity(NodeIdentity.Role.EDGE,
                "edge-capture"), Duration.ofDays(90)))) {
            captureOfASessionThrough(fresh);
        }
    }

    private void captureOfASessionThrough(Castellan edge) throws Exception {
        String marker = "cleartext-marker-" + java.util.UUID.randomUUID();
        deliver(0, ALICE, "on the wire", marker);
        Path capture = tmp.resolve("link.pcap");
        Path log = tmp.resolve("tcpdump.log");
        // Immediate mode: packets are not held in the kernel's buffer, so none is lost when tcpdump is stopped.
        Process tcpdump = new ProcessBuilder("tcpdump", "-i", "lo", "--immediate-mode", "-U", "-n", "-w", capture.toString(),
                "tcp port " + linkPort(0)).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        String out;
        try {
            await().atMost(Duration.ofSeconds(20)).until(() -> !tcpdump.isAlive()
                    || Files.readString(log).contains("listening on"));
            org.junit.jupiter.api.Assumptions.assumeTrue(tcpdump.isAlive(),
                    () -> "tcpdump cannot capture on lo here (it needs CAP_NET_RAW): " + read(log));
            out = python(String.join("\n",
                    "import imaplib, ssl, sys",
                    "imaps, pop3s, ca, pw, user, marker = sys.argv[1:7]",
                    "a = imaplib.IMAP4_SSL('localhost', int(imaps), ssl_context=ssl.create_default_context(cafile=ca), timeout=20)",
                    "a.login(user, pw); a.select('INBOX')",
                    "typ, found = a.search(None, 'BODY', marker)",
                    "typ, data = a.fetch(found[0].split()[-1], '(BODY[])')",
                    "print('fetched', marker in data[0][1].decode())",
                    "a.logout()"), edge, ALICE, marker);
            // The session's last packets (logout, the link's close) reach the file: it stops growing.
            long[] size = {-1};
            await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(300)).until(() -> {
                long now = Files.size(capture);
                boolean stable = now == size[0] && now > 24;
                size[0] = now;
                return stable;
            });
        } finally {
            tcpdump.destroy(); // SIGTERM: tcpdump writes what it holds and exits
            tcpdump.waitFor(20, java.util.concurrent.TimeUnit.SECONDS);
        }
        assertThat(out).contains("fetched True");
        byte[] packets = Files.readAllBytes(capture);
        // RFC 8446 §5.1: a handshake record (22) and application data records (23) of TLS 1.2's version on the wire.
        assertThat(indexOf(packets, new byte[] {22, 3, 1}) >= 0 || indexOf(packets, new byte[] {22, 3, 3}) >= 0)
                .as("a TLS handshake record in the capture").isTrue();
        assertThat(indexOf(packets, new byte[] {23, 3, 3})).as("TLS application data in the capture").isNotNegative();
        assertThat(indexOf(packets, marker.getBytes(StandardCharsets.US_ASCII))).as("the marker in the capture").isNegative();
        assertThat(indexOf(packets, ALICE.getBytes(StandardCharsets.US_ASCII))).as("the account in the capture").isNegative();
    }

    private static String read(Path file) {
        try {
            return Files.readString(file);
        } catch (IOException e) {
            return e.toString();
        }
    }

    private static int indexOf(byte[] haystack, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= haystack.length; i++) {
            for (int j = 0; j < needle.length; j++) if (haystack[i + j] != needle[j]) continue outer;
            return i;
        }
        return -1;
    }

    /**
     * mbsync (isync, Cyrus SASL) with its defaults logs in at the edge with SCRAM-SHA-256
     * (RFC 7677, through AUTHENTICATE) and pulls the INBOX of its node.
     */
    @Test
    void mbsyncWithItsDefaultsSyncsThroughTheEdge() throws Exception {
        ExternalClient.require("mbsync", "isync");
        deliver(1, BOB, "for mbsync", "marker-mbsync-bob");
        Path home = Files.createDirectories(tmp.resolve("mbsync-home"));
        Path maildir = Files.createDirectories(home.resolve("Mail"));
        Path rc = home.resolve("mbsyncrc");
        Files.writeString(rc, String.join("\n",
                "IMAPAccount castellan", "Host localhost", "Port " + edge.addresses().get("imaps").getPort(),
                "User " + BOB, "Pass \"" + PASSWORD + "\"", "SSLType IMAPS",
                "CertificateFile " + base.resolve("pki/root.crt"), "",
                "IMAPStore server", "Account castellan", "",
                "MaildirStore laptop", "Path " + maildir + "/", "Inbox " + maildir.resolve("INBOX"), "",
                "Channel inbox", "Far :server:", "Near :laptop:", "Patterns INBOX", "Create Both", "Sync Pull", ""));
        var run = ExternalClient.run(List.of("mbsync", "-V", "-c", rc.toString(), "inbox"), Map.of("HOME", home.toString()));
        assertThat(run.exitCode()).as(run.output()).isZero();
        assertThat(run.output()).contains("Authenticating with SASL mechanism SCRAM-SHA-256");
        StringBuilder pulled = new StringBuilder();
        for (String sub : List.of("cur", "new")) {
            try (var files = Files.list(maildir.resolve("INBOX").resolve(sub))) {
                for (Path f : files.toList()) pulled.append(Files.readString(f));
            }
        }
        assertThat(pulled.toString()).contains("marker-mbsync-bob");
    }

    /**
     * curl with its defaults (libcurl's IMAP, RFC 5092 URLs) lists the INBOX and fetches a message
     * by UID through the edge, and uploads one with APPEND; what it appends is in the node's store.
     */
    @Test
    void curlReadsAndAppendsThroughTheEdge() throws Exception {
        ExternalClient.require("curl", "curl");
        deliver(1, BOB, "for curl", "marker-curl-bob");
        String url = "imaps://localhost:" + edge.addresses().get("imaps").getPort() + "/INBOX";
        List<String> common = List.of("curl", "-sS", "--max-time", "60", "--cacert", base.resolve("pki/root.crt").toString(),
                "--user", BOB + ":" + PASSWORD);
        var search = ExternalClient.run(concat(common, List.of("--request", "UID SEARCH BODY marker-curl-bob", url)), Map.of());
        assertThat(search.exitCode()).as(search.output()).isZero();
        String uid = search.output().replaceAll("(?s).*\\* SEARCH ([0-9]+).*", "$1").trim();
        assertThat(uid).as(search.output()).matches("[0-9]+");
        var fetch = ExternalClient.run(concat(common, List.of(url + ";UID=" + uid)), Map.of());
        assertThat(fetch.exitCode()).as(fetch.output()).isZero();
        assertThat(fetch.output()).contains("marker-curl-bob");

        Path upload = tmp.resolve("curl-upload.eml");
        Files.writeString(upload, "From: " + BOB + "\r\nTo: " + BOB + "\r\nSubject: from curl\r\n\r\nmarker-curl-append\r\n");
        var append = ExternalClient.run(concat(common, List.of("-T", upload.toString(), url)), Map.of());
        assertThat(append.exitCode()).as(append.output()).isZero();
        MailStore store = mailbox[1].store();
        long inbox = store.getMailbox(store.getAccount(EmailAddress.of(BOB)).orElseThrow().id(), "INBOX").orElseThrow().id();
        assertThat(store.listMessages(inbox, org.castellan.store.UidRange.all())).anySatisfy(m -> {
            try (var in = store.openMessage(inbox, m.uid())) {
                assertThat(new String(in.readAllBytes(), StandardCharsets.UTF_8)).contains("marker-curl-append");
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
    }

    private static List<String> concat(List<String> a, List<String> b) {
        List<String> all = new java.util.ArrayList<>(a);
        all.addAll(b);
        return all;
    }

    /**
     * docs/roles.md §5: an edge's store access is the directory. It runs no delivery engine and no
     * delivery reports on the shared store's outbound queue; the mailbox nodes do.
     */
    @Test
    void anEdgeDeliversNothingFromTheSharedQueue() {
        assertThat(edge.outbound()).isEmpty();
        assertThat(edge.notifier()).isEmpty();
        assertThat(mailbox[0].outbound()).isPresent();
        assertThat(mailbox[1].notifier()).isPresent();
    }

    /** The node's session names the client as the edge asserted it, not the edge. */
    @Test
    void theNodeSeesTheAccountAndTheClientsAddress() throws Exception {
        try (Line client = Line.imap(edge)) {
            // docs/roles.md §3: a command pipelined behind the login is held and answered by the node.
            client.out.write(("a LOGIN " + BOB + " \"" + PASSWORD + "\"\r\np SELECT INBOX\r\n").getBytes(StandardCharsets.UTF_8));
            client.out.flush();
            assertThat(client.until("a ")).startsWith("a OK [CAPABILITY ");
            assertThat(client.until("p ")).startsWith("p OK [READ-WRITE]");
            await().atMost(Duration.ofSeconds(10)).until(() -> linked(1, BOB).isPresent());
            Connection link = linked(1, BOB).orElseThrow();
            assertThat(link.remote().getPort()).isEqualTo(client.socket.getLocalPort());
            assertThat(link.mechanism()).hasValue("LOGIN");
            assertThat(linked(0, BOB)).isEmpty();
        }
    }

    /** docs/roles.md §3: POP3 after USER/PASS; RFC 1939 UIDL and RETR answered by the node. */
    @Test
    void pop3SessionsGoOnAtEachUsersMailboxNode() throws Exception {
        deliver(1, BOB, "pop for bob", "marker-pop-bob");
        String script = String.join("\n",
                "import poplib, ssl, sys",
                "imaps, pop3s, ca, pw, user, marker = sys.argv[1:7]",
                "p = poplib.POP3_SSL('localhost', int(pop3s), context=ssl.create_default_context(cafile=ca), timeout=20)",
                "print('user', p.user(user).decode())",
                "print('pass', p.pass_(pw).decode())",
                "resp, listings, _ = p.uidl()",
                "print('uidl', resp.decode(), len(listings))",
                "found = [n for n in range(1, len(listings) + 1) if marker.encode() in b'\\n'.join(p.retr(n)[1])]",
                "print('retr', len(found))",
                "print('quit', p.quit().decode())");
        String out = python(script, edge, BOB, "marker-pop-bob");
        assertThat(out).contains("user +OK", "retr 1", "quit +OK").containsPattern("pass \\+OK Maildrop has \\d+ messages")
                .containsPattern("uidl \\+OK.* [1-9]");
    }

    /**
     * A node that stops takes its users' sessions with it (RFC 5530 UNAVAILABLE at their next
     * login, RFC 3206 SYS/TEMP for POP3); the other node's users go on; once it is back its users
     * log in again, and nothing was done at the edge.
     */
    @Test
    void aStoppedNodeIsUnavailableToItsUsersOnlyAndBackWhenItIs() throws Exception {
        try (Line alice = Line.imap(edge); Line bob = Line.imap(edge)) {
            assertThat(alice.command("a LOGIN " + ALICE + " \"" + PASSWORD + "\"")).startsWith("a OK");
            assertThat(bob.command("a LOGIN " + BOB + " \"" + PASSWORD + "\"")).startsWith("a OK");

            mailbox[0].close();
            mailbox[0] = null;

            assertThat(alice.untilClosed()).as("alice's live session closes with her node").isTrue();
            assertThat(bob.command("b NOOP")).startsWith("b OK");
            try (Line again = Line.imap(edge)) {
                assertThat(again.command("a LOGIN " + ALICE + " \"" + PASSWORD + "\"")).startsWith("a NO [UNAVAILABLE]");
                assertThat(again.command("b LOGIN " + BOB + " \"" + PASSWORD + "\"")).startsWith("b OK");
            }
            try (Line pop = Line.pop3(edge)) {
                assertThat(pop.command("USER " + ALICE)).startsWith("+OK");
                assertThat(pop.command("PASS " + PASSWORD)).startsWith("-ERR [SYS/TEMP]");
            }

            aliceIsServedOnceHerNodeRunsAgain(bob);
        } finally {
            if (mailbox[0] == null) mailbox[0] = Castellan.start(CastellanConfig.load(mailboxConfig[0]));
        }
    }

    /** docs/roles.md §2: the node's link takes only an edge certificate from the node CA, unexpired and unrevoked. */
    @Test
    void theNodeRefusesAnEdgeWhoseCertificateIsForeignExpiredOrRevoked() throws Exception {
        var foreign = TestPki.create(Files.createDirectories(tmp.resolve("foreign"))).client();
        IssuedCertificate shortLived = ca.issueNode(new NodeIdentity(NodeIdentity.Role.EDGE, "edge-expired"), List.of(),
                Duration.ofSeconds(1));
        Path expired = tmp.resolve("certs/expired");
        shortLived.writeTo(expired);
        Path revoked = nodeCertificate(new NodeIdentity(NodeIdentity.Role.EDGE, "edge-revoked"), Duration.ofDays(90));
        X509Certificate revokedLeaf = (X509Certificate) CertificateFactory.getInstance("X.509")
                .generateCertificates(Files.newInputStream(revoked.resolve(IssuedCertificate.CHAIN_FILE))).iterator().next();

        try (Castellan withRevoked = startEdge("edge-revoked", revoked)) {
            assertThat(login(withRevoked, ALICE)).as("before the revocation").startsWith("a OK");
            ca.revoke(revokedLeaf.getSerialNumber(), RevocationReason.KEY_COMPROMISE);
            await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
                    assertThat(login(withRevoked, ALICE)).startsWith("a NO [UNAVAILABLE]"));
        }
        Instant end = shortLived.certificate().getNotAfter().toInstant();
        await().atMost(Duration.ofSeconds(10)).until(() -> Instant.now().isAfter(end.plusMillis(500)));
        try (Castellan withExpired = startEdge("edge-expired", expired)) {
            assertThat(login(withExpired, ALICE)).startsWith("a NO [UNAVAILABLE]");
        }
        try (Castellan withForeign = startEdge("edge-foreign", foreign.chainFile(), foreign.keyFile())) {
            assertThat(login(withForeign, ALICE)).startsWith("a NO [UNAVAILABLE]");
        }
        assertThat(login(edge, ALICE)).as("the real edge is unaffected").startsWith("a OK");
    }

    /**
     * RFC 8446 §2.2, docs/roles.md §2: an edge's next link to a node resumes the last one's TLS
     * session by ticket. Once the edge's certificate is revoked no link is accepted, and none
     * resumes: the node verifies a resumed certificate again and replaces its ticket keys.
     */
    @Test
    void linksResumeByTicketUntilTheEdgesCertificateIsRevoked() throws Exception {
        Path certificate = nodeCertificate(new NodeIdentity(NodeIdentity.Role.EDGE, "edge-resuming"), Duration.ofDays(90));
        X509Certificate leaf = (X509Certificate) CertificateFactory.getInstance("X.509")
                .generateCertificates(Files.newInputStream(certificate.resolve(IssuedCertificate.CHAIN_FILE))).iterator().next();
        try (Castellan resuming = startEdge("edge-resuming", certificate)) {
            var relay = resuming.edgeRelay().orElseThrow();
            assertThat(login(resuming, ALICE)).startsWith("a OK");
            assertThat(relay.resumedLinks()).as("the first link makes a full handshake").isZero();
            // docs/roles.md §2: sessions one after another travel on links kept open, one pool per event
            // loop; a session takes a link of its own loop, so there are at most as many links as loops.
            int loops = 2 * io.netty.util.NettyRuntime.availableProcessors();
            for (int i = 0; i < loops + 4; i++) {
                await().atMost(Duration.ofSeconds(10)).until(() -> relay.idleLinks() == relay.liveLinks().size());
                assertThat(login(resuming, ALICE)).startsWith("a OK");
            }
            await().atMost(Duration.ofSeconds(10)).until(() -> relay.idleLinks() == relay.liveLinks().size());
            int links = relay.liveLinks().size();
            assertThat(links).as("links kept open carried " + (loops + 5) + " sessions").isLessThanOrEqualTo(loops);
            assertThat(relay.resumedLinks()).as("every link after the first resumes").isEqualTo(links - 1);
            // The node closes the links: the next session opens a new one, which resumes too.
            mailbox[0].sessions().list().stream().filter(c -> c.listener().name().equals("link") && c.carrier().isEmpty())
                    .forEach(Connection::close);
            await().atMost(Duration.ofSeconds(10)).until(() -> relay.liveLinks().isEmpty());
            assertThat(login(resuming, ALICE)).startsWith("a OK");
            assertThat(relay.resumedLinks()).as("a link replacing one the node closed resumes").isEqualTo(links);

            ca.revoke(leaf.getSerialNumber(), RevocationReason.KEY_COMPROMISE);
            await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
                    assertThat(login(resuming, ALICE)).startsWith("a NO [UNAVAILABLE]"));
            long resumedBefore = relay.resumedLinks();
            assertThat(login(resuming, ALICE)).startsWith("a NO [UNAVAILABLE]");
            assertThat(relay.resumedLinks()).as("no ticket from before the revocation resumes").isEqualTo(resumedBefore);
        }
    }

    /** The edge uses a node only if its certificate names that node: mailbox-2 is not taken for mailbox-1. */
    @Test
    void theEdgeRefusesANodeWhoseCertificateNamesAnotherNode() throws Exception {
        Path file = config("edge-crossed", "edge", nodeCertificate(new NodeIdentity(NodeIdentity.Role.EDGE, "edge-crossed"),
                Duration.ofDays(90)), "[edge]\nnodes = [\"mailbox-1=127.0.0.3:" + linkPort(1) + "\"]\ndefault-node = \"mailbox-1\"\n",
                "[[listener]]\nname = \"imaps\"\nprotocol = \"imap\"\naddress = \"127.0.0.1\"\nport = 0\ntls = \"implicit\"\n");
        try (Castellan crossed = Castellan.start(CastellanConfig.load(file))) {
            assertThat(login(crossed, ALICE)).startsWith("a NO [UNAVAILABLE]");
        }
    }

    private String login(Castellan through, String account) throws Exception {
        try (Line client = Line.imap(through)) {
            return client.command("a LOGIN " + account + " \"" + PASSWORD + "\"");
        }
    }

    private Optional<Connection> linked(int node, String account) {
        return mailbox[node].sessions().list().stream()
                .filter(c -> c.listener().name().equals("link") && c.account().equals(Optional.of(account))).findFirst();
    }

    /** The account's session carried at mailbox-1 that takes no more output now, if one is held back. */
    private Optional<Connection> heldBack(String account) {
        return mailbox[0].sessions().list().stream().filter(c -> c.carrier().isPresent()
                && c.account().equals(Optional.of(account)) && !c.channel().isWritable()).findFirst();
    }

    private boolean flagged(int node, String account) {
        MailStore store = mailbox[node].store();
        long id = store.getAccount(EmailAddress.of(account)).orElseThrow().id();
        long inbox = store.getMailbox(id, "INBOX").orElseThrow().id();
        return store.listMessages(inbox, org.castellan.store.UidRange.all()).stream().anyMatch(m -> m.flags().contains("\\Flagged"));
    }

    private static String line(String output, String prefix) {
        return output.lines().filter(l -> l.startsWith(prefix)).findFirst().orElseThrow(() -> new AssertionError(
                "no line starting " + prefix + " in:\n" + output)).substring(prefix.length());
    }

    /** A TLS line client of the edge's listeners: a command, then the lines up to its tagged (or POP3) answer. */
    static final class Line implements AutoCloseable {
        final SSLSocket socket;
        final BufferedReader in;
        final OutputStream out;
        final boolean imap;

        private Line(SSLSocket socket, boolean imap) throws IOException {
            this.socket = socket;
            this.imap = imap;
            socket.setSoTimeout(20_000);
            this.in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
            this.out = socket.getOutputStream();
            in.readLine(); // the greeting
        }

        static Line imap(Castellan edge) throws Exception {
            return new Line(connect(edge, "imaps"), true);
        }

        static Line pop3(Castellan edge) throws Exception {
            return new Line(connect(edge, "pop3s"), false);
        }

        /** A client whose source address is {@code local} (any 127.0.0.0/8 address on the loopback interface). */
        static Line from(Castellan edge, String listener, java.net.InetAddress local) throws Exception {
            return new Line(connect(edge, listener, local), listener.startsWith("imap"));
        }

        private static SSLSocket connect(Castellan edge, String listener) throws Exception {
            return connect(edge, listener, null);
        }

        private static SSLSocket connect(Castellan edge, String listener, java.net.InetAddress local) throws Exception {
            KeyStore trust = KeyStore.getInstance("PKCS12");
            trust.load(null, null);
            Path root = edge.config().tls().pkiDirectory().resolve("root.crt");
            try (var stream = Files.newInputStream(root)) {
                trust.setCertificateEntry("root", CertificateFactory.getInstance("X.509").generateCertificate(stream));
            }
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(trust);
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(null, tmf.getTrustManagers(), null);
            int port = edge.addresses().get(listener).getPort();
            return (SSLSocket) (local == null ? context.getSocketFactory().createSocket("127.0.0.1", port)
                    : context.getSocketFactory().createSocket(java.net.InetAddress.getByName("127.0.0.1"), port, local, 0));
        }

        String command(String line) throws IOException {
            out.write((line + "\r\n").getBytes(StandardCharsets.UTF_8));
            out.flush();
            String tag = imap ? line.substring(0, line.indexOf(' ') + 1) : "";
            while (true) {
                String reply = in.readLine();
                if (reply == null) return "(closed)";
                if (!imap || reply.startsWith(tag)) return reply;
            }
        }

        /** Reads up to the line starting with {@code tag}. */
        String until(String tag) throws IOException {
            while (true) {
                String reply = in.readLine();
                if (reply == null) return "(closed)";
                if (reply.startsWith(tag)) return reply;
            }
        }

        /** Whether the server closes the connection (after any last lines) within the read timeout. */
        boolean untilClosed() throws IOException {
            try {
                while (in.readLine() != null) { }
                return true;
            } catch (java.net.SocketTimeoutException e) {
                return false;
            } catch (javax.net.ssl.SSLException e) {
                return true;
            }
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }
}
