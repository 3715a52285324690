package org.castellan.server.smtp;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Submission's ownership check of the originator fields (RFC 6409 §8; RFC 5322 §3.6.2, §3.6.6)
 * in a real session: alice owns alice@example.org and the alias al@example.org, nothing else.
 * The fields are read by the parser IMAP's ENVELOPE uses, so what is checked is what a reader shows.
 */
class OriginatorFieldsTest {

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

    /** Header lines (before Subject:) and the reply to the end of DATA. */
    record Case(String header, String reply) {}

    static final List<Case> CASES = List.of(
            // The finding: readers showed "demo@example.test<...>", the old check read bob's address.
            new Case("From: bob@example.org <alice@example.org>", "550 5\\.6\\.0 From: field is not a valid address list.*"),
            // A display name that is an address: what many readers show instead of the address.
            new Case("From: \"bob@example.org\" <alice@example.org>",
                    "550 5\\.7\\.1 From: display name shows <bob@example.org>, which is not yours"),
            new Case("From: =?utf-8?q?bob=40example.org?= <alice@example.org>", "550 5\\.7\\.1 From: display name shows .*"),
            new Case("From: alice@example.org (bob@example.org)", "550 5\\.7\\.1 From: display name shows .*"),
            new Case("From: \"Alice <bob@example.org>\" <alice@example.org>", "550 5\\.7\\.1 From: display name shows .*"),
            // Sender and Resent-From claim authorship as From does; Reply-To does not.
            new Case("From: alice@example.org\r\nSender: bob@example.org",
                    "550 5\\.7\\.1 Sender: address <bob@example.org> is not yours"),
            new Case("From: alice@example.org\r\nResent-From: Bob <bob@example.org>",
                    "550 5\\.7\\.1 Resent-From: address <bob@example.org> is not yours"),
            new Case("From: alice@example.org\r\nSender: Alice <alice@example.org>, bob@example.org",
                    "550 5\\.7\\.1 Sender: .*"),
            new Case("From: Smith, Alice <alice@example.org>", "550 5\\.6\\.0 .*"),
            new Case("From: <alice@example.org> bob@example.org", "550 5\\.6\\.0 .*"),
            // Accepted: own addresses in any RFC 5322 form, own addresses as names, any Reply-To.
            new Case("From: alice@example.org\r\nReply-To: bob@example.org", "250 .*"),
            new Case("From: \"alice@example.org\" <alice@example.org>", "250 .*"),
            new Case("From: \"Al <al@example.org>\" <alice@example.org>", "250 .*"),
            new Case("From: Alice <alice(work)@example.org> (Alice at work)", "250 .*"),
            new Case("From: Alice <@relay.example:al@example.org>\r\nSender: alice@example.org", "250 .*"),
            new Case("From: =?utf-8?q?Al=C3=AFce?= <alice@example.org>\r\nResent-From: al@example.org", "250 .*"));

    @Test
    void everyOriginatorAddressMustBeTheSenders() {
        List<String> accepted = new ArrayList<>();
        for (Case k : CASES) {
            // A session per case: the server closes one that has had too many refusals.
            try (SmtpClient c = server.connect("submissions")) {
                c.hello();
                c.login(SmtpTestServer.ALICE, SmtpTestServer.PASSWORD);
                String message = k.header() + "\r\nSubject: test\r\n\r\nbody\r\n";
                c.command("MAIL FROM:<alice@example.org>", "250.*");
                c.command("RCPT TO:<bob@example.org>", "250.*");
                c.command("DATA", "354.*");
                c.send(message + ".\r\n").expect(k.reply());
                if (k.reply().startsWith("250")) accepted.add(message);
            }
        }
        assertThat(server.bodies(server.bobInbox)).containsExactlyElementsOf(accepted);
    }
}
