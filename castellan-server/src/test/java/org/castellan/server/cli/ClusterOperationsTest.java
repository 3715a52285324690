package org.castellan.server.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.castellan.protocol.mail.EmailAddress;
import org.castellan.security.pki.CertificateAuthority;
import org.castellan.security.pki.NodeIdentity;
import org.castellan.server.Castellan;
import org.castellan.server.cli.EdgeRelayTest.Line;
import org.castellan.server.config.CastellanConfig;
import org.castellan.server.transport.Connection;
import org.castellan.store.MailStore;
import org.castellan.testkit.Postgres;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * docs/roles.md §4 on one edge and two mailbox nodes sharing one PostgreSQL: {@code castellan
 * sessions} and {@code sessions kick} run against one node reach every node, naming the one that
 * does not answer; {@code castellan user move} ends an IDLE session on the old node with a BYE
 * (RFC 9051 §7.1.5), and the client's next login through the edge lands on the new node, where its
 * mail is and new mail reaches its IDLE; a login while the move holds its lock is refused for now
 * (RFC 5530 UNAVAILABLE, RFC 3206 SYS/TEMP).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ClusterOperationsTest {

    private static final String ALICE = "alice@example.org"; // no placement: the edge's default node, mailbox-1
    private static final String BOB = "bob@example.org"; // placed on mailbox-2
    private static final String CAROL = "carol@example.org"; // moved from mailbox-1 to mailbox-2
    private static final String DAVE = "dave@example.org"; // held by a move's lock
    private static final String ERIN = "erin@example.org"; // a POP3 client, moved from mailbox-1 to mailbox-2
    private static final String PASSWORD = "correct horse battery";

    Path tmp;
    Postgres postgres;
    SharedBase shared;
    Path base;
    CertificateAuthority ca;
    final Castellan[] mailbox = new Castellan[2];
    final Path[] mailboxConfig = new Path[2];
    Path edgeConfig;
    Castellan edge;

    @BeforeAll
    void start(@TempDir Path dir) throws Exception {
        tmp = dir;
        postgres = Postgres.start();
        shared = SharedBase.init(tmp, postgres, "castellan_cluster", PASSWORD, ALICE, BOB, CAROL, DAVE, ERIN);
        base = shared.base();
        ca = CertificateAuthority.load(base.resolve("pki"));
        for (int i = 0; i < 2; i++) {
            String name = "mailbox-" + (i + 1);
            mailboxConfig[i] = config(name, "mailbox", new NodeIdentity(NodeIdentity.Role.MAILBOX, name), "",
                    "[[listener]]\nname = \"link\"\nprotocol = \"link\"\naddress = \"127.0.0." + (i + 2) + "\"\nport = 0\n"
                            + "tls = \"implicit\"\nclient-cert = \"require\"\nedges = [\"127.0.0.0/8\"]\n");
            mailbox[i] = Castellan.start(CastellanConfig.load(mailboxConfig[i]));
            // Restarted on the same port, as an operator's configuration would have it.
            Files.writeString(mailboxConfig[i], Files.readString(mailboxConfig[i]).replace("port = 0",
                    "port = " + mailbox[i].addresses().get("link").getPort()));
        }
        assertThat(Cli.raw(null, "user", "place", BOB, "mailbox-2", "--data", base.toString()).code()).isZero();
        edgeConfig = config("edge-1", "edge", new NodeIdentity(NodeIdentity.Role.EDGE, "edge-1"),
                "[edge]\nnodes = [\"mailbox-1=127.0.0.2:" + mailbox[0].addresses().get("link").getPort()
                        + "\", \"mailbox-2=127.0.0.3:" + mailbox[1].addresses().get("link").getPort()
                        + "\"]\ndefault-node = \"mailbox-1\"\n",
                "[[listener]]\nname = \"imaps\"\nprotocol = \"imap\"\naddress = \"127.0.0.1\"\nport = 0\ntls = \"implicit\"\n"
                        + "[[listener]]\nname = \"pop3s\"\nprotocol = \"pop3\"\naddress = \"127.0.0.1\"\nport = 0\ntls = \"implicit\"\n");
        edge = Castellan.start(CastellanConfig.load(edgeConfig));
    }

    @AfterAll
    void stop() {
        if (edge != null) edge.close();
        for (Castellan m : mailbox) if (m != null) m.close();
        if (postgres != null) postgres.close();
    }

    /** A node's configuration: its own data directory and node certificate; the store, CA and server certificate shared. */
    private Path config(String name, String role, NodeIdentity identity, String tables, String listeners) throws IOException {
        Path certificate = tmp.resolve("certs").resolve(name);
        ca.issueNode(identity, List.of("localhost"), Duration.ofDays(90)).writeTo(certificate);
        return shared.nodeConfig(tmp, name, role, certificate, tables, listeners);
    }

    /** A message delivered into the account's INBOX through node {@code node}'s store, as its delivery would. */
    private void deliver(int node, String account, String subject) {
        MailStore store = mailbox[node].store();
        long id = store.getAccount(EmailAddress.of(account)).orElseThrow().id();
        long inbox = store.getMailbox(id, "INBOX").orElseThrow().id();
        store.append(inbox, ("From: erin@example.net\r\nTo: " + account + "\r\nSubject: " + subject + "\r\n\r\nhello\r\n")
                .getBytes(StandardCharsets.US_ASCII), Set.of(), Instant.now());
    }

    private Optional<Connection> linked(int node, String account) {
        return mailbox[node] == null ? Optional.empty() : mailbox[node].sessions().list().stream()
                .filter(c -> c.listener().name().equals("link") && c.account().equals(Optional.of(account))).findFirst();
    }

    private static Cli.Run cli(Path config, String... args) {
        String[] all = java.util.Arrays.copyOf(args, args.length + 2);
        all[args.length] = "--config";
        all[args.length + 1] = config.toString();
        return Cli.raw(null, all);
    }

    /** Reads lines up to one starting with {@code prefix}. */
    private static String readUntil(Line client, String prefix) throws IOException {
        while (true) {
            String line = client.in.readLine();
            if (line == null) return "(closed)";
            if (line.startsWith(prefix)) return line;
        }
    }

    /**
     * The issue's case: a client idles through the edge on mailbox-1; {@code user move} to
     * mailbox-2 ends its session with a BYE; it logs in again through the edge, lands on
     * mailbox-2, sees all its mail, and a new delivery reaches its IDLE there.
     */
    @Test
    void userMoveUnderAnOpenIdleSession() throws Exception {
        for (int i = 1; i <= 3; i++) deliver(0, CAROL, "before the move " + i);
        try (Line idling = Line.imap(edge)) {
            assertThat(idling.command("a LOGIN " + CAROL + " \"" + PASSWORD + "\"")).startsWith("a OK");
            assertThat(idling.command("b SELECT INBOX")).startsWith("b OK [READ-WRITE]");
            idling.out.write("c IDLE\r\n".getBytes(StandardCharsets.US_ASCII));
            idling.out.flush();
            assertThat(idling.in.readLine()).startsWith("+ ");
            assertThat(linked(0, CAROL)).as("carol's session runs on mailbox-1").isPresent();

            Cli.Run move = cli(edgeConfig, "user", "move", CAROL, "--to", "mailbox-2");
            assertThat(move.code()).as(move.out() + move.err()).isZero();
            assertThat(move.out()).contains("mailbox-1: 1 session(s) of " + CAROL + " asked to leave", CAROL + " placed on node mailbox-2",
                    "verified through node mailbox-2: 6 mailbox(es), 3 message(s)");

            // RFC 9051 §7.1.5: the server says BYE, then closes.
            assertThat(readUntil(idling, "* BYE")).isEqualTo("* BYE " + org.castellan.server.admin.ClusterRequests.MOVED);
            assertThat(idling.untilClosed()).isTrue();
        }
        try (Line again = Line.imap(edge)) {
            assertThat(again.command("a LOGIN " + CAROL + " \"" + PASSWORD + "\"")).startsWith("a OK");
            await().atMost(Duration.ofSeconds(10)).until(() -> linked(1, CAROL).isPresent());
            assertThat(linked(0, CAROL)).as("nothing of carol is left on mailbox-1").isEmpty();
            Cli.Run sessions = cli(mailboxConfig[0], "sessions");
            assertThat(sessions.out()).containsPattern("(?m)^mailbox-2 +mailbox +mailbox-2:\\w+ +link +127\\.0\\.0\\.1:\\d+ +edge/edge-1 .*"
                    + CAROL).containsPattern("(?m)^edge-1 +edge +edge-1:\\w+ +imaps .* mailbox/mailbox-2 .*" + CAROL);

            again.out.write("b SELECT INBOX\r\n".getBytes(StandardCharsets.US_ASCII));
            again.out.flush();
            assertThat(readUntil(again, "* ")).isEqualTo("* 3 EXISTS");
            readUntil(again, "b OK");
            again.out.write("c IDLE\r\n".getBytes(StandardCharsets.US_ASCII));
            again.out.flush();
            assertThat(again.in.readLine()).startsWith("+ ");
            deliver(1, CAROL, "after the move");
            assertThat(readUntil(again, "* ")).isEqualTo("* 4 EXISTS"); // RFC 2177
            again.out.write("DONE\r\n".getBytes(StandardCharsets.US_ASCII));
            again.out.flush();
            assertThat(readUntil(again, "c ")).startsWith("c OK");
        }
    }

    /**
     * While a move holds the account's lock, the edge refuses its logins for now (RFC 5530
     * UNAVAILABLE, RFC 3206 SYS/TEMP) and a second move is refused; once it is lifted they work.
     */
    @Test
    void aLoginDuringTheMoveLockIsRefusedForNow() throws Exception {
        MailStore store = mailbox[0].store();
        long id = store.getAccount(EmailAddress.of(DAVE)).orElseThrow().id();
        // The lock user move takes, held here: the test decides when it ends.
        assertThat(store.lockForMove(id, Instant.now().plus(Duration.ofMinutes(5)))).isTrue();
        try {
            try (Line imap = Line.imap(edge)) {
                assertThat(imap.command("a LOGIN " + DAVE + " \"" + PASSWORD + "\"")).startsWith("a NO [UNAVAILABLE]");
            }
            try (Line pop = Line.pop3(edge)) {
                assertThat(pop.command("USER " + DAVE)).startsWith("+OK");
                assertThat(pop.command("PASS " + PASSWORD)).startsWith("-ERR [SYS/TEMP]");
            }
            Cli.Run second = cli(edgeConfig, "user", "move", DAVE, "--to", "mailbox-2");
            assertThat(second.code()).isEqualTo(Main.BAD_INPUT);
            assertThat(second.err()).contains("is being moved by another command");
        } finally {
            store.finishMove(id, Optional.empty());
        }
        try (Line imap = Line.imap(edge)) {
            assertThat(imap.command("a LOGIN " + DAVE + " \"" + PASSWORD + "\"")).startsWith("a OK");
        }
    }

    /**
     * A POP3 session of a moved account has no BYE: it gets RFC 3206's SYS/TEMP, the temporary
     * failure its client retries, and its next login lands on the new node with the maildrop.
     */
    @Test
    void aPop3SessionOfAMovedAccountIsToldToComeBack() throws Exception {
        deliver(0, ERIN, "before the move");
        try (Line pop = Line.pop3(edge)) {
            assertThat(pop.command("USER " + ERIN)).startsWith("+OK");
            assertThat(pop.command("PASS " + PASSWORD)).startsWith("+OK");
            await().atMost(Duration.ofSeconds(10)).until(() -> linked(0, ERIN).isPresent());

            Cli.Run move = cli(mailboxConfig[1], "user", "move", ERIN, "--to", "mailbox-2");
            assertThat(move.code()).as(move.out() + move.err()).isZero();

            assertThat(pop.in.readLine()).isEqualTo("-ERR [SYS/TEMP] " + org.castellan.server.admin.ClusterRequests.MOVED);
            assertThat(pop.untilClosed()).isTrue();
        }
        try (Line pop = Line.pop3(edge)) {
            assertThat(pop.command("USER " + ERIN)).startsWith("+OK");
            assertThat(pop.command("PASS " + PASSWORD)).startsWith("+OK Maildrop has 1 messages");
            assertThat(linked(1, ERIN)).isPresent();
        }
    }

    /** A move to a node that is not a mailbox node of the cluster changes nothing. */
    @Test
    void aMoveToAnEdgeOrAnUnknownNodeIsRefused() {
        for (String to : List.of("edge-1", "mailbox-9")) {
            Cli.Run move = cli(edgeConfig, "user", "move", ALICE, "--to", to);
            assertThat(move.code()).isEqualTo(Main.BAD_INPUT);
            assertThat(move.err()).contains(to + " is not a mailbox node of this cluster");
        }
        assertThat(mailbox[0].store().placement(mailbox[0].store().getAccount(EmailAddress.of(ALICE)).orElseThrow().id()))
                .isEmpty();
    }

    /**
     * {@code castellan sessions} against mailbox-1 lists the sessions of the edge and both mailbox
     * nodes; a kick of a session on mailbox-2 closes it; with mailbox-2 down, it is named as not
     * answering and the others' sessions are still listed.
     */
    @Test
    void sessionsAndKickReachEveryNode() throws Exception {
        try (Line alice = Line.imap(edge); Line bob = Line.imap(edge)) {
            assertThat(alice.command("a LOGIN " + ALICE + " \"" + PASSWORD + "\"")).startsWith("a OK");
            assertThat(bob.command("a LOGIN " + BOB + " \"" + PASSWORD + "\"")).startsWith("a OK");
            await().atMost(Duration.ofSeconds(10)).until(() -> linked(1, BOB).isPresent() && linked(0, ALICE).isPresent());

            Cli.Run sessions = cli(mailboxConfig[0], "sessions");
            assertThat(sessions.code()).as(sessions.err()).isZero();
            assertThat(sessions.err()).doesNotContain("did not answer");
            assertThat(sessions.out())
                    .containsPattern("(?m)^mailbox-1 +mailbox +mailbox-1:\\w+ +link .* edge/edge-1 .*" + ALICE)
                    .containsPattern("(?m)^mailbox-2 +mailbox +mailbox-2:\\w+ +link .* edge/edge-1 .*" + BOB)
                    .containsPattern("(?m)^edge-1 +edge +edge-1:\\w+ +imaps .* mailbox/mailbox-1 .*" + ALICE)
                    .containsPattern("(?m)^edge-1 +edge +edge-1:\\w+ +imaps .* mailbox/mailbox-2 .*" + BOB);

            String bobsSession = "mailbox-2:" + linked(1, BOB).orElseThrow().logId();
            Cli.Run kick = cli(mailboxConfig[0], "sessions", "kick", bobsSession);
            assertThat(kick.code()).as(kick.err()).isZero();
            assertThat(kick.out()).contains("closed 1 session(s)");
            assertThat(bob.untilClosed()).as("bob's session, kicked on mailbox-2, ends at the edge too").isTrue();
            assertThat(alice.command("b NOOP")).startsWith("b OK");

            mailbox[1].close();
            mailbox[1] = null;
            Cli.Run partial = cli(mailboxConfig[0], "sessions");
            assertThat(partial.code()).isZero();
            assertThat(partial.err()).contains("node mailbox-2 (mailbox) did not answer");
            assertThat(partial.out()).containsPattern("(?m)^mailbox-1 +mailbox .*" + ALICE);
        } finally {
            if (mailbox[1] == null) mailbox[1] = Castellan.start(CastellanConfig.load(mailboxConfig[1]));
        }
    }
}
