package org.castellan.server.smtp;

import org.castellan.server.testing.TxtZone;
import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.time.Instant;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.UnaryOperator;
import org.castellan.security.mailauth.DkimKeyRecord;
import org.castellan.security.mailauth.DkimSigner;
import org.castellan.security.mailauth.Dmarc;
import org.castellan.security.mailauth.DnsLookup;
import org.castellan.server.config.MailAuth;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * SPF, DMARC and Authentication-Results on the MX listener (RFC 7208, RFC 7489, RFC 8601), in
 * real sessions against a real store. DNS is a zone of TXT records given to the server (its one
 * test seam for DNS); the client connects from 127.0.0.1.
 */
class InboundChecksTest {

    static final TxtZone ZONE = new TxtZone(Map.of(
            "pass.example", List.of("v=spf1 ip4:127.0.0.0/8 -all"),
            "_dmarc.pass.example", List.of("v=DMARC1; p=reject"),
            "reject.example", List.of("v=spf1 -all"),
            "_dmarc.reject.example", List.of("v=DMARC1; p=reject"),
            "quarantine.example", List.of("v=spf1 -all"),
            "_dmarc.quarantine.example", List.of("v=DMARC1; p=quarantine"),
            "_dmarc.unreachable.example", List.of("v=DMARC1; p=reject")), Set.of("unreachable.example"));

    @TempDir Path dir;
    SmtpTestServer server;

    @AfterEach
    void stop() {
        if (server != null) server.close();
    }

    private SmtpTestServer start(MailAuth config) {
        server = new SmtpTestServer(dir, SmtpLimits.DEFAULTS, config, ZONE);
        return server;
    }

    private static String send(SmtpTestServer server, String sender, String header, String endReply) {
        try (SmtpClient c = server.connect("mx")) {
            c.hello();
            c.command("MAIL FROM:<" + sender + ">", "250.*");
            c.command("RCPT TO:<bob@example.org>", "250.*");
            c.command("DATA", "354.*");
            c.send(header + "Subject: test\r\n\r\nbody\r\n.\r\n");
            return c.reply();
        }
    }

    /** The stored messages, header fields unfolded (RFC 5322 §2.2.3). */
    private List<String> stored(long mailbox) {
        return server.messages(mailbox).stream().map(b -> new String(b, StandardCharsets.UTF_8).replace("\r\n\t", " ")).toList();
    }

    private long junk() {
        return server.store.getMailbox(server.bobId, "Junk").orElseThrow().id();
    }

    @Test
    void spfFailUnderPRejectIsRefused() { // RFC 7489 §6.6.4
        start(MailAuth.DEFAULTS);
        assertThat(send(server, "a@reject.example", "From: a@reject.example\r\n", ""))
                .matches("550 5\\.7\\.1 Message rejected by the DMARC policy of reject\\.example");
        assertThat(stored(server.bobInbox)).isEmpty();
        assertThat(stored(junk())).isEmpty();
    }

    /**
     * Starts the server with an Ed25519 key published for selector s1 of {@code domain}, its
     * record as {@code record} rewrites it, and returns a message from a@{@code domain} signed
     * with that key: its DKIM-Signature field, then the message.
     */
    private String signedMessage(String domain, UnaryOperator<String> record) throws Exception {
        KeyPair key = KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
        Map<String, List<String>> txt = new java.util.HashMap<>(ZONE.txt());
        txt.put("s1._domainkey." + domain, List.of(record.apply(DkimKeyRecord.format(key.getPublic()))));
        server = new SmtpTestServer(dir, SmtpLimits.DEFAULTS, MailAuth.DEFAULTS, TxtZone.of(txt));
        byte[] message = ("From: a@" + domain + "\r\nTo: bob@example.org\r\nSubject: signed\r\n\r\nbody\r\n")
                .getBytes(StandardCharsets.UTF_8);
        String signature = new String(new DkimSigner(List.of(new DkimSigner.Key(domain, "s1", key.getPrivate())))
                .sign(message, Instant.now()), StandardCharsets.US_ASCII);
        return signature + new String(message, StandardCharsets.UTF_8);
    }

    /** Sends {@code message} from {@code sender} to bob over the MX listener; the reply to its end of data. */
    private String sendWhole(String sender, String message) {
        try (SmtpClient c = server.connect("mx")) {
            c.hello();
            c.command("MAIL FROM:<" + sender + ">", "250.*");
            c.command("RCPT TO:<bob@example.org>", "250.*");
            c.command("DATA", "354.*");
            c.send(message + ".\r\n");
            return c.reply();
        }
    }

    @Test
    void anAlignedDkimSignaturePassesDmarcWhereSpfFails() throws Exception { // RFC 7489 §4.2, RFC 6376
        String signed = signedMessage("reject.example", UnaryOperator.identity());
        assertThat(sendWhole("a@reject.example", signed)).startsWith("250 ");
        assertThat(stored(server.bobInbox)).singleElement().asString()
                .contains("spf=fail smtp.mailfrom=a@reject.example")
                .contains("dkim=pass header.d=reject.example header.s=s1")
                .contains("dmarc=pass (p=reject dis=none) header.from=reject.example");
        // The same message with its body changed after signing fails DKIM, and DMARC rejects it.
        assertThat(sendWhole("a@reject.example", signed.replace("\r\nbody\r\n", "\r\nb0dy\r\n"))).matches("550 5\\.7\\.1 .*");
    }

    @Test
    void aPassUnderAKeyInTestingModeCountsForDmarcAsNoSignature() throws Exception { // RFC 6376 §3.6.1
        String signed = signedMessage("quarantine.example", r -> r.replace("v=DKIM1; ", "v=DKIM1; t=y; "));
        assertThat(sendWhole("a@quarantine.example", signed)).startsWith("250 ");
        // The signature verifies and is reported so; DMARC, with SPF failing, finds nothing aligned.
        assertThat(stored(server.bobInbox)).isEmpty();
        assertThat(stored(junk())).singleElement().asString()
                .contains("dkim=pass (key in testing mode, t=y) header.d=quarantine.example header.s=s1")
                .contains("dmarc=fail (p=quarantine dis=quarantine) header.from=quarantine.example");
    }

    @Test
    void spfFailUnderPQuarantineLandsInJunk() {
        start(MailAuth.DEFAULTS);
        assertThat(send(server, "a@quarantine.example", "From: a@quarantine.example\r\n", "")).startsWith("250 ");
        assertThat(stored(server.bobInbox)).isEmpty();
        assertThat(stored(junk())).singleElement().asString()
                .contains("dmarc=fail (p=quarantine dis=quarantine) header.from=quarantine.example");
    }

    @Test
    void dmarcRejectMayBeConfiguredToQuarantine() {
        start(new MailAuth(true, Dmarc.Policy.QUARANTINE, Dmarc.Policy.QUARANTINE, Duration.ofSeconds(20)));
        assertThat(send(server, "a@reject.example", "From: a@reject.example\r\n", "")).startsWith("250 ");
        assertThat(stored(junk())).singleElement().asString().contains("dmarc=fail (p=reject dis=quarantine) header.from=reject.example");
        assertThat(stored(server.bobInbox)).isEmpty();
    }

    /**
     * RFC 7489 §6.6.1: the domain DMARC judges is that of the From field's mailbox, the field's
     * name in any case (RFC 5322 §1.2.2); an address shown in its display name, or named by a
     * Sender field, is not the author's domain.
     */
    @Test
    void dmarcJudgesTheFromMailboxWhateverTheCaseOfTheFieldAndNotTheAddressesShownBesideIt() {
        start(MailAuth.DEFAULTS);
        assertThat(send(server, "a@reject.example", "from: a@reject.example\r\n", ""))
                .isEqualTo("550 5.7.1 Message rejected by the DMARC policy of reject.example");
        assertThat(send(server, "a@reject.example", "From: \"a@pass.example\" <a@reject.example>\r\n", ""))
                .isEqualTo("550 5.7.1 Message rejected by the DMARC policy of reject.example");
        assertThat(send(server, "a@pass.example", "From: \"a@reject.example\" <a@pass.example>\r\nSender: a@reject.example\r\n", ""))
                .startsWith("250 ");
        assertThat(stored(server.bobInbox)).singleElement().asString()
                .contains("dmarc=pass (p=reject dis=none) header.from=pass.example");
    }

    @Test
    void spfPassGetsAuthenticationResultsAfterReceived() { // RFC 8601 §2.2
        start(MailAuth.DEFAULTS);
        assertThat(send(server, "a@pass.example", "From: A <a@pass.example>\r\n", "")).startsWith("250 ");
        byte[] message = server.messages(server.bobInbox).get(0);
        assertThat(SmtpTestServer.afterReceived(message)).startsWith("""
                Authentication-Results: mail.example.org;\r
                \tspf=pass smtp.mailfrom=a@pass.example;\r
                \tdkim=none;\r
                \tdmarc=pass (p=reject dis=none) header.from=pass.example\r
                From: A <a@pass.example>\r
                """);
    }

    @Test
    void forgedResultsWithOurIdAreRemovedOthersKept() { // RFC 8601 §5
        start(MailAuth.DEFAULTS);
        String header = "Authentication-Results: mail.example.org; spf=pass smtp.mailfrom=a@reject.example;\r\n"
                + "\tdmarc=pass header.from=reject.example\r\n"
                + "Authentication-Results: relay.example.net; dkim=pass header.d=pass.example\r\n"
                + "authentication-results: (forged) MAIL.EXAMPLE.ORG; dkim=pass\r\n"
                + "From: a@pass.example\r\n";
        assertThat(send(server, "a@pass.example", header, "")).startsWith("250 ");
        String stored = stored(server.bobInbox).get(0);
        assertThat(stored.split("(?i)authentication-results:", -1)).hasSize(3); // ours and relay.example.net's
        assertThat(stored).contains("Authentication-Results: mail.example.org; spf=pass smtp.mailfrom=a@pass.example;");
        assertThat(stored).contains("Authentication-Results: relay.example.net; dkim=pass header.d=pass.example\r\n");
        assertThat(stored).doesNotContain("(forged)").doesNotContain("header.from=reject.example");
    }

    @Test
    void dnsTroubleRefusesNothing() { // RFC 7208 §2.6.6: temperror; DMARC cannot tell either
        start(MailAuth.DEFAULTS);
        assertThat(send(server, "a@unreachable.example", "From: a@unreachable.example\r\n", "")).startsWith("250 ");
        assertThat(stored(server.bobInbox)).singleElement().asString()
                .contains("spf=temperror smtp.mailfrom=a@unreachable.example;")
                .contains("dmarc=temperror (p=reject dis=none) header.from=unreachable.example");
    }

    @Test
    void bdatIsCheckedAsDataIs() { // RFC 3030: the same message, sent in chunks
        start(MailAuth.DEFAULTS);
        String message = "From: a@reject.example\r\nSubject: test\r\n\r\nbody\r\n";
        try (SmtpClient c = server.connect("mx")) {
            c.hello();
            c.command("MAIL FROM:<a@reject.example>", "250.*");
            c.command("RCPT TO:<bob@example.org>", "250.*");
            c.send("BDAT " + message.length() + " LAST\r\n" + message).expect("550 5\\.7\\.1 .*DMARC.*");
        }
        assertThat(stored(server.bobInbox)).isEmpty();
    }

    @Test
    void submissionAddsNone() {
        start(MailAuth.DEFAULTS);
        try (SmtpClient c = server.connect("submissions")) {
            c.hello();
            c.login(SmtpTestServer.ALICE, SmtpTestServer.PASSWORD);
            c.command("MAIL FROM:<alice@example.org>", "250.*");
            c.command("RCPT TO:<bob@example.org>", "250.*");
            c.command("DATA", "354.*");
            c.send("From: alice@example.org\r\nSubject: test\r\n\r\nbody\r\n.\r\n").expect("250 .*");
        }
        assertThat(stored(server.bobInbox)).singleElement().asString().doesNotContain("Authentication-Results");
    }

    @Test
    void disabledAddsNone() {
        start(MailAuth.DISABLED);
        assertThat(send(server, "a@reject.example", "From: a@reject.example\r\n", "")).startsWith("250 ");
        assertThat(stored(server.bobInbox)).singleElement().asString().doesNotContain("Authentication-Results");
    }
}
