package org.castellan.server.smtp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.OptionalLong;
import org.castellan.protocol.mail.EmailAddress;
import org.castellan.server.testing.TestStores;
import org.castellan.store.MailStore;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Transcripts against a real server: the protocol, its states, and every refusal. */
class SmtpSessionTest {

    private static final String MESSAGE = "From: someone@elsewhere.example\r\nTo: alice@example.org\r\nSubject: hi\r\n\r\nHello Alice.\r\n";

    @TempDir Path dir;
    SmtpTestServer server;

    @BeforeEach
    void start() {
        server = new SmtpTestServer(dir, SmtpLimits.DEFAULTS);
    }

    @AfterEach
    void stop() {
        server.close();
    }

    @Test
    void mxAcceptsMailForALocalAccountAndStoresItByteForByteAfterTheReceivedField() {
        try (SmtpClient c = server.connect("mx")) {
            c.expect("220 mail\\.example\\.org ESMTP.*");
            c.send("EHLO client.example\r\n").expect("250-mail.example.org greets client.example\n250-PIPELINING\n"
                    + "250-SIZE 52428800\n250-8BITMIME\n250-SMTPUTF8\n250-ENHANCEDSTATUSCODES\n250-CHUNKING\n250-DSN\n250 STARTTLS");
            c.command("MAIL FROM:<someone@elsewhere.example>", "250 2\\.1\\.0 .*");
            c.command("RCPT TO:<alice@example.org>", "250 2\\.1\\.5 .*");
            c.command("DATA", "354 .*");
            c.send(MESSAGE + ".\r\n").expect("250 2\\.0\\.0 .*");
            c.command("QUIT", "221 2\\.0\\.0 .*");
        }
        assertThat(server.bodies(server.aliceInbox)).containsExactly(MESSAGE);
        String received = SmtpTestServer.received(server.messages(server.aliceInbox).get(0));
        assertThat(received).startsWith("Received: from client.example ([127.0.0.1])\r\n\tby mail.example.org (Castellan) with ESMTP id ")
                .contains("\tfor <alice@example.org>;");
    }

    /**
     * RFC 5321 §4.1.1.1 and §4.1.3: HELO instead of EHLO, and address literals for the client's
     * name. HELO's reply is the one line of the server's name and its mail is received "with SMTP"
     * (RFC 3848 §2: the ESMTP types only after EHLO); EHLO without a name is 501 and changes
     * nothing; an IPv6 literal after EHLO is greeted and kept as written, "with ESMTP".
     */
    @Test
    void heloAndAddressLiteralsAsTheClientsName() {
        try (SmtpClient c = server.connect("mx")) {
            c.expect("220 .*");
            c.command("HELO [192.0.2.7]", "250 mail\\.example\\.org");
            c.command("EHLO", "501 5\\.5\\.4 .*");
            c.command("MAIL FROM:<someone@elsewhere.example>", "250 2\\.1\\.0 .*");
            c.command("RCPT TO:<alice@example.org>", "250 2\\.1\\.5 .*");
            c.command("DATA", "354 .*");
            c.send(MESSAGE + ".\r\n").expect("250 2\\.0\\.0 .*");
            c.command("EHLO [IPv6:2001:db8::7]", "250-mail\\.example\\.org greets \\[IPv6:2001:db8::7\\]\n.*250 STARTTLS");
            c.command("MAIL FROM:<someone@elsewhere.example>", "250 2\\.1\\.0 .*");
            c.command("RCPT TO:<alice@example.org>", "250 2\\.1\\.5 .*");
            c.command("DATA", "354 .*");
            c.send(MESSAGE + ".\r\n").expect("250 2\\.0\\.0 .*");
        }
        List<String> received = server.messages(server.aliceInbox).stream().map(SmtpTestServer::received).toList();
        assertThat(received).hasSize(2);
        assertThat(received.get(0)).startsWith("Received: from [192.0.2.7] ([127.0.0.1])\r\n\tby mail.example.org"
                + " (Castellan) with SMTP id ");
        assertThat(received.get(1)).startsWith("Received: from [IPv6:2001:db8::7] ([127.0.0.1])\r\n\tby mail.example.org"
                + " (Castellan) with ESMTP id ");
    }

    @Test
    void pipelinedTransactionsGetTheirRepliesInOrder() {
        try (SmtpClient c = server.connect("mx")) {
            c.hello();
            c.send("MAIL FROM:<a@elsewhere.example>\r\nRCPT TO:<alice@example.org>\r\nRCPT TO:<nobody@example.org>\r\n"
                    + "RCPT TO:<bob@example.org>\r\nDATA\r\n");
            c.expect("250 2\\.1\\.0.*").expect("250 2\\.1\\.5.*").expect("550 5\\.1\\.1.*").expect("250 2\\.1\\.5.*").expect("354.*");
            c.send(MESSAGE + ".\r\nMAIL FROM:<>\r\nRCPT TO:<al@example.org>\r\nDATA\r\n" + MESSAGE + ".\r\nQUIT\r\n");
            c.expect("250 2\\.0\\.0.*").expect("250.*").expect("250.*").expect("354.*").expect("250 2\\.0\\.0.*").expect("221.*");
        }
        assertThat(server.bodies(server.aliceInbox)).containsExactly(MESSAGE, MESSAGE);
        assertThat(server.bodies(server.bobInbox)).containsExactly(MESSAGE);
        String received = SmtpTestServer.received(server.messages(server.aliceInbox).get(0));
        assertThat(received).doesNotContain("for <"); // two recipients: naming one would leak a Bcc
    }

    @Test
    void mxIsNeverAnOpenRelay() {
        try (SmtpClient c = server.connect("mx")) {
            c.hello();
            c.command("MAIL FROM:<a@elsewhere.example>", "250.*");
            c.command("RCPT TO:<victim@elsewhere.example>", "550 5\\.7\\.1 .*");
            c.command("RCPT TO:<alice@[127.0.0.1]>", "550 5\\.7\\.1 .*");
            c.command("RCPT TO:<alice@example.org>", "250.*");
            c.command("AUTH PLAIN " + plain(SmtpTestServer.ALICE, SmtpTestServer.PASSWORD), "503 5\\.5\\.1 .*");
        }
    }

    @Test
    void aliasesResolveAndDuplicatesAreDeliveredOnce() {
        try (SmtpClient c = server.connect("mx")) {
            c.hello();
            c.command("MAIL FROM:<a@elsewhere.example>", "250.*");
            c.command("RCPT TO:<alice@example.org>", "250.*");
            c.command("RCPT TO:<al@example.org>", "250.*");
            c.command("RCPT TO:<ALICE@Example.Org>", "250.*");
            c.command("DATA", "354.*");
            c.send(MESSAGE + ".\r\n").expect("250.*");
        }
        assertThat(server.bodies(server.aliceInbox)).containsExactly(MESSAGE);
    }

    /** The command line (or another node) writes to the store through its own handle; RCPT follows within moments. */
    @Test
    void aRecipientTheCommandLineDeletesIsRefusedOnceNoticed() {
        try (SmtpClient c = server.connect("mx")) {
            c.hello();
            c.command("MAIL FROM:<a@elsewhere.example>", "250.*");
            c.command("RCPT TO:<bob@example.org>", "250.*"); // bob's route is now known in memory
            c.command("RSET", "250.*");
        }
        try (MailStore commandLine = server.openAgain()) {
            commandLine.deleteAccount(server.bobId);
        }
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
            try (SmtpClient c = server.connect("mx")) {
                c.hello();
                c.command("MAIL FROM:<a@elsewhere.example>", "250.*");
                c.command("RCPT TO:<bob@example.org>", "550 5\\.1\\.1 .*");
            }
        });
    }

    @Test
    void unknownUsersBadAddressesAndUnknownCommands() {
        try (SmtpClient c = server.connect("mx")) {
            c.hello();
            c.command("FROB", "500 5\\.5\\.1 .*");
            c.command("MAIL FROM:<a@elsewhere.example> X-RET=FULL", "555 5\\.5\\.4 .*");
            c.command("MAIL FROM:<a@elsewhere.example>", "250.*");
            c.command("RCPT TO:<nobody@example.org>", "550 5\\.1\\.1 .*");
            c.command("RCPT TO:<a..b@example.org>", "501 5\\.1\\.3 .*");
            c.command("RCPT TO:alice@example.org", "501 5\\.1\\.3 .*");
            c.command("RCPT TO:<\"alice smith\"@example.org>", "550 5\\.1\\.1 .*");
            c.command("VRFY alice", "252 .*");
            c.command("NOOP", "250.*");
        }
    }

    /**
     * RFC 3461 §4: DSN is offered on every listener, and its parameters are taken at MAIL and RCPT
     * (§4.1 to §4.4); a malformed one is refused with 501 5.5.4 and the transaction goes on.
     */
    @Test
    void dsnIsOfferedAndItsParametersAccepted() {
        for (String listener : new String[] {"mx", "submissions"}) {
            try (SmtpClient c = server.connect(listener)) {
                c.expect("220 .*");
                c.send("EHLO client.example\r\n");
                assertThat(c.reply()).contains("250-DSN\n");
                if (listener.equals("submissions")) c.login(SmtpTestServer.ALICE, SmtpTestServer.PASSWORD);
                String from = listener.equals("mx") ? "someone@elsewhere.example" : SmtpTestServer.ALICE;
                String message = MESSAGE.replace("someone@elsewhere.example", from);
                c.command("MAIL FROM:<" + from + "> RET=FULL RET=HDRS", "501 5\\.5\\.4 .*");
                c.command("MAIL FROM:<" + from + "> RET=HDRS ENVID=QQ314159+2Bx", "250 2\\.1\\.0 .*");
                c.command("RCPT TO:<alice@example.org> NOTIFY=NEVER,DELAY", "501 5\\.5\\.4 .*");
                c.command("RCPT TO:<alice@example.org> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;Alice+2BDSN@example.org",
                        "250 2\\.1\\.5 .*");
                c.command("RCPT TO:<bob@example.org> NOTIFY=NEVER", "250 2\\.1\\.5 .*");
                c.command("DATA", "354 .*");
                c.send(message + ".\r\n").expect("250 2\\.0\\.0 .*");
            }
        }
        String submitted = MESSAGE.replace("someone@elsewhere.example", SmtpTestServer.ALICE);
        assertThat(server.bodies(server.aliceInbox)).containsExactly(MESSAGE, submitted);
        assertThat(server.bodies(server.bobInbox)).containsExactly(MESSAGE, submitted);
    }

    @Test
    void commandsOutOfOrderGet503() {
        try (SmtpClient c = server.connect("mx")) {
            c.expect("220.*");
            c.command("MAIL FROM:<a@b.example>", "503 5\\.5\\.1 .*");
            c.command("EHLO x.example", "250.*");
            c.command("RCPT TO:<alice@example.org>", "503 5\\.5\\.1 .*");
            c.command("DATA", "503 5\\.5\\.1 .*");
            c.command("MAIL FROM:<a@b.example>", "250.*");
            c.command("MAIL FROM:<a@b.example>", "503 5\\.5\\.1 .*");
            c.command("DATA", "554 5\\.5\\.1 .*");
            c.command("STARTTLS", "503 5\\.5\\.1 .*");
            c.command("RSET", "250.*");
            c.command("RCPT TO:<alice@example.org>", "503 5\\.5\\.1 .*");
        }
    }

    @Test
    void nulBytesControlCharactersAndNonAsciiWithoutSmtpUtf8AreRefused() {
        try (SmtpClient c = server.connect("mx")) {
            c.hello();
            c.send("MAIL FROM:<a\0@b.example>\r\n").expect("500 5\\.5\\.2 .*");
            c.send("MAIL FROM:<jörg@elsewhere.example>\r\n").expect("553 5\\.6\\.7 .*");
            c.send("MAIL FROM:<jörg@elsewhere.example> SMTPUTF8\r\n").expect("250.*");
            c.send(new byte[] {'R', 'C', 'P', 'T', ' ', 'T', 'O', ':', '<', (byte) 0xff, '@', 'x', '>', '\r', '\n'}).expect("500 5\\.5\\.2 .*");
            c.command("RCPT TO:<alice@example.org>", "250.*");
            c.command("DATA", "354.*");
            c.send("From: jörg@elsewhere.example\r\n\r\nGrüße\r\n.\r\n").expect("250.*");
        }
        assertThat(server.bodies(server.aliceInbox)).containsExactly("From: jörg@elsewhere.example\r\n\r\nGrüße\r\n");
        assertThat(SmtpTestServer.received(server.messages(server.aliceInbox).get(0))).contains("with UTF8SMTP ");
    }

    /** CVE-2023-51766: a bare CR or LF framing never ends the message, and such messages are refused. */
    @ParameterizedTest
    @ValueSource(strings = {"\n.\n", "\r.\r", "\r\n.\n", "\n.\r\n", "\r\n.\r"})
    void smugglingFramingsNeitherEndTheMessageNorGetItDelivered(String framing) {
        try (SmtpClient c = server.connect("mx")) {
            c.hello();
            c.command("MAIL FROM:<a@elsewhere.example>", "250.*");
            c.command("RCPT TO:<alice@example.org>", "250.*");
            c.command("DATA", "354.*");
            c.send("Subject: outer\r\n\r\nouter" + framing
                    + "MAIL FROM:<ceo@example.org>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\nSubject: smuggled\r\n\r\nx\r\n.\r\n");
            c.expect("550 5\\.6\\.2 .*");
            // The smuggled commands were content: the session is back at the start, nothing was delivered.
            c.command("RCPT TO:<bob@example.org>", "503.*");
            c.command("NOOP", "250.*");
        }
        assertThat(server.messages(server.aliceInbox)).isEmpty();
        assertThat(server.messages(server.bobInbox)).isEmpty();
    }

    @Test
    void dotStuffingIsRemoved() {
        try (SmtpClient c = server.connect("mx")) {
            c.hello();
            c.command("MAIL FROM:<a@elsewhere.example>", "250.*");
            c.command("RCPT TO:<alice@example.org>", "250.*");
            c.command("DATA", "354.*");
            c.send("Subject: dots\r\n\r\n..\r\n...x\r\n.\r\n").expect("250.*");
        }
        assertThat(server.bodies(server.aliceInbox)).containsExactly("Subject: dots\r\n\r\n.\r\n..x\r\n");
    }

    @Test
    void overlongLinesAreRefusedAndTheSessionGoesOn() {
        try (SmtpClient c = server.connect("mx")) {
            c.hello();
            c.command("NOOP " + "x".repeat(600), "500 5\\.5\\.6 .*");
            c.command("MAIL FROM:<a@elsewhere.example>", "250.*");
            c.command("RCPT TO:<alice@example.org>", "250.*");
            c.command("DATA", "354.*");
            c.send("Subject: long\r\n\r\n" + "y".repeat(1200) + "\r\n.\r\n").expect("500 5\\.5\\.6 .*");
            c.command("NOOP", "250.*");
        }
        assertThat(server.messages(server.aliceInbox)).isEmpty();
    }

    @Test
    void tooManyErrorsCloseTheConnection() {
        try (SmtpClient c = server.connect("mx")) {
            c.expect("220.*");
            for (int i = 1; i < SmtpLimits.DEFAULT_MAX_ERRORS; i++) c.command("BOGUS", "500.*");
            c.send("BOGUS\r\n");
            assertThat(c.rest()).contains("421 4.7.0");
        }
    }

    @Test
    void declaredSizeOverTheLimitIsRefusedAtMail() {
        try (SmtpClient c = server.connect("mx")) {
            c.hello();
            c.command("MAIL FROM:<a@elsewhere.example> SIZE=" + (SmtpLimits.DEFAULT_MAX_MESSAGE_SIZE + 1), "552 5\\.3\\.4 .*");
        }
    }

    @Test
    void recipientsBeyondTheLimitGet452() {
        for (int i = 0; i < SmtpLimits.DEFAULT_MAX_RECIPIENTS; i++) {
            server.account("u" + i + "@example.org", OptionalLong.empty());
        }
        try (SmtpClient c = server.connect("mx")) {
            c.hello();
            StringBuilder pipelined = new StringBuilder("MAIL FROM:<a@elsewhere.example>\r\n");
            for (int i = 0; i < SmtpLimits.DEFAULT_MAX_RECIPIENTS; i++) pipelined.append("RCPT TO:<u").append(i).append("@example.org>\r\n");
            pipelined.append("RCPT TO:<alice@example.org>\r\n");
            c.send(pipelined.toString()).expect("250.*");
            for (int i = 0; i < SmtpLimits.DEFAULT_MAX_RECIPIENTS; i++) c.expect("250 2\\.1\\.5.*");
            c.expect("452 4\\.5\\.3 .*");
        }
    }

    @Test
    void quotaIsCheckedAtRcptAndAtDelivery() {
        long carol = server.account("carol@example.org", OptionalLong.of(2000));
        long carolInbox = server.store.getMailbox(carol, "INBOX").orElseThrow().id();
        try (SmtpClient c = server.connect("mx")) {
            c.hello();
            c.command("MAIL FROM:<a@elsewhere.example> SIZE=5000", "250.*");
            c.command("RCPT TO:<carol@example.org>", "552 5\\.2\\.2 .*");
            c.command("RSET", "250.*");
            c.command("MAIL FROM:<a@elsewhere.example>", "250.*");
            c.command("RCPT TO:<carol@example.org>", "250.*");
            c.command("RCPT TO:<alice@example.org>", "250.*");
            c.command("DATA", "354.*");
            c.send("Subject: big\r\n\r\n" + "z".repeat(900) + "\r\n" + "z".repeat(900) + "\r\n" + "z".repeat(900) + "\r\n.\r\n")
                    .expect("452 4\\.2\\.2 .*");
        }
        assertThat(server.messages(carolInbox)).isEmpty();
        assertThat(server.messages(server.aliceInbox)).isEmpty(); // all or nothing
    }

    @Test
    void aClientThatDisconnectsMidDataDeliversNothing() {
        try (SmtpClient c = server.connect("mx")) {
            c.hello();
            c.command("MAIL FROM:<a@elsewhere.example>", "250.*");
            c.command("RCPT TO:<alice@example.org>", "250.*");
            c.command("DATA", "354.*");
            c.send("Subject: cut\r\n\r\nhalf a message\r\n");
        }
        // A later session on the same server sees the connection gone and nothing delivered.
        try (SmtpClient c = server.connect("mx")) {
            c.hello();
            c.command("QUIT", "221.*");
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> server.transport.registry().size() == 0);
        assertThat(server.messages(server.aliceInbox)).isEmpty();
    }

    @Test
    void bdatChunksAreTakenVerbatimAndTheLastOneDelivers() {
        String part1 = "Subject: chunks\r\n\r\n.a dot line\r\n";
        String part2 = "binary\u00ffok\n.\nno end marker here\r\n";
        try (SmtpClient c = server.connect("mx")) {
            c.hello();
            c.command("MAIL FROM:<a@elsewhere.example>", "250.*");
            c.command("RCPT TO:<alice@example.org>", "250.*");
            byte[] p1 = part1.getBytes(StandardCharsets.UTF_8);
            byte[] p2 = part2.getBytes(StandardCharsets.UTF_8);
            c.send("BDAT " + p1.length + "\r\n" + part1).expect("250 2\\.0\\.0 " + p1.length + " octets received");
            c.command("DATA", "503 5\\.5\\.1 .*");
            c.send("BDAT " + p2.length + " LAST\r\n" + part2 + "NOOP\r\n").expect("250 2\\.0\\.0 Ok.*").expect("250.*");
            c.command("BDAT 0 LAST", "503.*");
        }
        assertThat(server.bodies(server.aliceInbox)).containsExactly(part1 + part2);
    }

    @Test
    void aRefusedBdatStillConsumesItsChunkSoNoneOfItIsReadAsCommands() {
        // RFC 3030 §2: after a failure the receiver MUST accept and discard the chunk's octets
        // before it replies; otherwise a chunk's content would be taken for commands.
        String chunk = "MAIL FROM:<smuggled@evil.example>\r\nRCPT TO:<alice@example.org>\r\n";
        int size = chunk.getBytes(StandardCharsets.UTF_8).length;
        try (SmtpClient c = server.connect("mx")) {
            c.hello();
            c.send("BDAT " + size + " LAST\r\n" + chunk + "NOOP\r\n")
                    .expect("503 5\\.5\\.1 .*").expect("250 2\\.0\\.0 Ok");
            c.command("RCPT TO:<alice@example.org>", "503 5\\.5\\.1 .*");
            c.command("MAIL FROM:<a@elsewhere.example>", "250.*");
            c.command("RCPT TO:<alice@example.org>", "250.*");
            String message = "Subject: after the refusal\r\n\r\nbody\r\n";
            c.send("BDAT " + message.length() + " LAST\r\n" + message).expect("250 2\\.0\\.0 Ok.*");
        }
        assertThat(server.bodies(server.aliceInbox)).singleElement().asString().endsWith("Subject: after the refusal\r\n\r\nbody\r\n");
    }

    @Test
    void starttlsDropsWhatWasPipelinedBehindItAndRequiresEhloAgain() {
        try (SmtpClient c = server.connect("mx")) {
            c.hello();
            // The injected commands arrive before the handshake: they must never be acted upon.
            c.send("STARTTLS\r\nMAIL FROM:<injected@evil.example>\r\nRCPT TO:<alice@example.org>\r\n");
            c.expect("220 2\\.0\\.0 .*");
            c.upgrade();
            c.command("RCPT TO:<alice@example.org>", "503 5\\.5\\.1 Send EHLO first");
            c.send("EHLO client.example\r\n");
            assertThat(c.reply()).startsWith("250-mail.example.org").doesNotContain("STARTTLS");
            c.command("MAIL FROM:<a@elsewhere.example>", "250.*");
            c.command("RCPT TO:<alice@example.org>", "250.*");
            c.command("DATA", "354.*");
            c.send(MESSAGE + ".\r\n").expect("250.*");
            c.command("STARTTLS", "503 5\\.5\\.1 .*");
        }
        String received = SmtpTestServer.received(server.messages(server.aliceInbox).get(0));
        assertThat(received).contains("with ESMTPS id").containsPattern("\\(using TLSv1\\.[23] with cipher \\w+\\)");
    }

    @Test
    void submissionOffersAuthOnlyInsideTlsAndRequiresIt() {
        try (SmtpClient c = server.connect("submission")) {
            c.expect("220.*");
            c.send("EHLO client.example\r\n");
            assertThat(c.reply()).contains("STARTTLS").doesNotContain("AUTH");
            c.command("AUTH PLAIN " + plain(SmtpTestServer.ALICE, SmtpTestServer.PASSWORD), "538 5\\.7\\.11 .*");
            c.command("MAIL FROM:<alice@example.org>", "530 5\\.7\\.0 .*");
            c.command("STARTTLS", "220.*");
            c.upgrade();
            c.send("EHLO client.example\r\n");
            assertThat(c.reply()).contains("250 AUTH ").contains("PLAIN").contains("LOGIN").contains("SCRAM-SHA-256")
                    .doesNotContain("STARTTLS");
            c.command("MAIL FROM:<alice@example.org>", "530 5\\.7\\.0 .*");
            c.command("AUTH PLAIN " + plain(SmtpTestServer.ALICE, "wrong"), "535 5\\.7\\.8 .*");
            c.login(SmtpTestServer.ALICE, SmtpTestServer.PASSWORD);
            c.command("AUTH PLAIN " + plain(SmtpTestServer.ALICE, SmtpTestServer.PASSWORD), "503 5\\.5\\.1 .*");
            c.command("MAIL FROM:<bob@example.org>", "550 5\\.7\\.1 .*");
            c.command("MAIL FROM:<>", "550 5\\.7\\.1 .*");
            c.command("MAIL FROM:<al@example.org>", "250.*"); // an alias of alice is hers
            c.command("RCPT TO:<someone@elsewhere.example>", "550 5\\.7\\.1 Delivery to other domains is not available");
            c.command("RCPT TO:<bob@example.org>", "250.*");
            c.command("DATA", "354.*");
            c.send("From: Bob <bob@example.org>\r\nSubject: forged\r\n\r\nx\r\n.\r\n").expect("550 5\\.7\\.1 .*");
            c.command("MAIL FROM:<alice@example.org>", "250.*");
            c.command("RCPT TO:<bob@example.org>", "250.*");
            c.command("DATA", "354.*");
            c.send("From: \"Alice\" <al@example.org>\r\nSubject: real\r\n\r\nx\r\n.\r\n").expect("250.*");
        }
        assertThat(server.bodies(server.bobInbox)).containsExactly("From: \"Alice\" <al@example.org>\r\nSubject: real\r\n\r\nx\r\n");
        assertThat(SmtpTestServer.received(server.messages(server.bobInbox).get(0))).contains("with ESMTPSA id");
    }

    @Test
    void authLoginAndCancellationOnImplicitTls() {
        try (SmtpClient c = server.connect("submissions")) {
            c.hello();
            c.command("AUTH LOGIN", "334 VXNlcm5hbWU6");
            c.command("*", "501 5\\.0\\.0 .*");
            c.command("AUTH LOGIN", "334 .*");
            c.command(b64(SmtpTestServer.ALICE), "334 UGFzc3dvcmQ6");
            c.command(b64(SmtpTestServer.PASSWORD), "235 2\\.7\\.0 .*");
            c.command("MAIL FROM:<alice@example.org>", "250.*");
        }
    }

    @Test
    void threeFailedLoginsCloseTheConnection() {
        try (SmtpClient c = server.connect("submissions")) {
            c.hello();
            c.command("AUTH PLAIN " + plain(SmtpTestServer.ALICE, "a"), "535.*");
            c.command("AUTH PLAIN " + plain(SmtpTestServer.ALICE, "b"), "535.*");
            c.send("AUTH PLAIN " + plain(SmtpTestServer.ALICE, "c") + "\r\n");
            assertThat(c.rest()).contains("535 5.7.8").contains("421 4.7.0");
        }
    }

    @Test
    void aStoreThatFailsTemporarilyGets451AndLosesNothing() throws Exception {
        // SQLite's write lock held by another process; PostgresFailureTest stops PostgreSQL under a delivery.
        assumeTrue(TestStores.embedded(), "the embedded store's database file");
        try (SmtpClient c = server.connect("mx")) {
            c.hello();
            c.command("MAIL FROM:<a@elsewhere.example>", "250.*");
            c.command("RCPT TO:<alice@example.org>", "250.*");
            c.command("DATA", "354.*");
            try (Connection admin = DriverManager.getConnection("jdbc:sqlite:" + dir.resolve("mail").resolve("mail.db"));
                    Statement st = admin.createStatement()) {
                st.execute("BEGIN IMMEDIATE"); // another process holds the write lock beyond the busy timeout
                c.send(MESSAGE + ".\r\n").expect("451 4\\.3\\.0 .*");
                st.execute("ROLLBACK");
            }
            // The client retries, as a 4xx tells it to, and the message arrives once.
            c.command("MAIL FROM:<a@elsewhere.example>", "250.*");
            c.command("RCPT TO:<alice@example.org>", "250.*");
            c.command("DATA", "354.*");
            c.send(MESSAGE + ".\r\n").expect("250.*");
        }
        assertThat(server.bodies(server.aliceInbox)).containsExactly(MESSAGE);
    }

    @Test
    void gracefulShutdownFinishesTheTransactionThenSays421() {
        SmtpClient c = server.connect("mx");
        c.hello();
        c.command("MAIL FROM:<a@elsewhere.example>", "250.*");
        c.command("RCPT TO:<alice@example.org>", "250.*");
        c.command("DATA", "354.*");
        Thread stopper = Thread.ofVirtual().start(server::close);
        await().atMost(Duration.ofSeconds(10)).until(() -> server.transport.addresses().isEmpty() || !canConnect());
        c.send(MESSAGE + ".\r\n").expect("250 2\\.0\\.0.*");
        assertThat(c.rest()).startsWith("421 4.3.2");
        c.close();
        try {
            stopper.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        // The shutdown closed the store after the 250: the message is durable in it.
        try (MailStore reopened = server.openAgain()) {
            assertThat(SmtpTestServer.messages(reopened, server.aliceInbox)).map(SmtpTestServer::afterReceived)
                    .containsExactly(MESSAGE);
        }
    }

    private boolean canConnect() {
        try (var s = new java.net.Socket("127.0.0.1", server.port("mx"))) {
            return true;
        } catch (java.io.IOException e) {
            return false;
        }
    }

    static String plain(String user, String password) {
        return b64("\0" + user + "\0" + password);
    }

    static String b64(String s) {
        return Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.UTF_8));
    }

    static EmailAddress address(String s) {
        return EmailAddress.of(s);
    }
}
