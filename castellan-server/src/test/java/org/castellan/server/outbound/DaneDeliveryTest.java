package org.castellan.server.outbound;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.ByteArrayInputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Clock;
import java.time.Duration;
import java.util.EnumSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import org.castellan.protocol.smtp.Dsn;
import org.castellan.protocol.smtp.SmtpCommand.Body;
import org.castellan.server.config.LogFormat;
import org.castellan.server.dns.DnsFixture;
import org.castellan.server.dns.DnsFixture.Signing;
import org.castellan.server.dns.DnsFixture.Zone;
import org.castellan.server.testing.LogCapture;
import org.castellan.server.testing.PostfixReceiver;
import org.castellan.store.embedded.EmbeddedMailStore;
import org.castellan.store.queue.NewQueuedMessage;
import org.castellan.store.queue.NewQueuedRecipient;
import org.castellan.store.queue.QueuedRecipient;
import org.castellan.store.queue.RecipientState;
import org.castellan.testkit.TestCertificate;
import org.castellan.testkit.TestPki;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * DANE for SMTP (RFC 7672) applied by the engine, against a real validating resolver (NSD and
 * Unbound with signed zones) and a STARTTLS receiver on port 25 of its own loopback address: a
 * TLSA record that matches the receiver's key lets the mail go; one that does not, or one whose
 * answer is bogus, defers it with 4.7.5 and nothing is sent in clear (docs/outbound.md §5).
 */
class DaneDeliveryTest {

    /** Loopback addresses of their own, so that port 25 is free on them. */
    private static final String MATCHING = "127.0.26.1";
    private static final String MISMATCHING = "127.0.26.2";
    private static final String BOGUS = "127.0.26.3";
    private static final String NO_TLSA = "127.0.26.4";
    /** Real Postfix receivers: one whose key a TLSA record names, one whose key none does, one without TLS. */
    private static final String POSTFIX_MATCHING = "127.0.26.5";
    private static final String POSTFIX_MISMATCHING = "127.0.26.6";
    private static final String POSTFIX_CLEAR = "127.0.26.7";
    /** The second MX host of two.dane.test, behind MATCHING. */
    private static final String SECOND_MX = "127.0.26.9";

    @TempDir static Path pkiDir;
    static TestPki pki;
    static TestCertificate receiverCertificate;
    static DnsFixture dns;

    @TempDir Path dir;
    EmbeddedMailStore store;
    OutboundEngine engine;

    /** RFC 7672 §3.1.1, RFC 6698 §2.1: DANE-EE(3) SPKI(1) SHA-256(1) of a certificate's key. */
    static String daneEe(TestCertificate c) throws Exception {
        byte[] hash = MessageDigest.getInstance("SHA-256").digest(c.certificate().getPublicKey().getEncoded());
        return "3 1 1 " + HexFormat.of().formatHex(hash);
    }

    @BeforeAll
    static void zones() throws Exception {
        pki = TestPki.create(pkiDir);
        receiverCertificate = pki.serverFor("receiver.test");
        String other = daneEe(pki.serverFor("other.test"));
        dns = DnsFixture.start(
                new Zone("dane.test", Signing.SIGNED, List.of(
                        "ok MX 10 mx1", "mx1 A " + MATCHING, "_25._tcp.mx1 TLSA " + daneEe(receiverCertificate),
                        "wrong MX 10 mx2", "mx2 A " + MISMATCHING, "_25._tcp.mx2 TLSA " + other,
                        "bogus MX 10 mx3", "mx3 A " + BOGUS,
                        "plain MX 10 mx4", "mx4 A " + NO_TLSA,
                        "pf MX 10 mx5", "mx5 A " + POSTFIX_MATCHING, "_25._tcp.mx5 TLSA " + daneEe(receiverCertificate),
                        "pfwrong MX 10 mx6", "mx6 A " + POSTFIX_MISMATCHING, "_25._tcp.mx6 TLSA " + other,
                        "pfclear MX 10 mx7", "mx7 A " + POSTFIX_CLEAR, "_25._tcp.mx7 TLSA " + daneEe(receiverCertificate),
                        "two MX 10 mx1", "two MX 20 mx9", "mx9 A " + SECOND_MX,
                        "_25._tcp.mx9 TLSA " + daneEe(receiverCertificate))),
                // the TLSA record of mx3 in a zone of its own whose signatures are broken
                new Zone("_tcp.mx3.dane.test", Signing.BOGUS, List.of("_25 TLSA " + daneEe(receiverCertificate))));
    }

    @AfterAll
    static void stopDns() {
        if (dns != null) dns.close();
    }

    @BeforeEach
    void start() throws Exception {
        store = EmbeddedMailStore.open(Files.createDirectories(dir.resolve("mail")));
        engine = new OutboundEngine(store, Optional.of(dns.resolver(1)), OutboundSessionTest.settings(Duration.ofSeconds(10)),
                "castellan.test", Clock.systemUTC());
    }

    @AfterEach
    void stop() {
        engine.close();
        store.close();
    }

    private long enqueue(String recipient) {
        return enqueue(recipient, false);
    }

    private long enqueue(String recipient, boolean requireTls) {
        return enqueue(recipient, requireTls, "Subject: dane\r\n\r\nHi.\r\n");
    }

    private long enqueue(String recipient, boolean requireTls, String content) {
        NewQueuedMessage m = new NewQueuedMessage("alice@example.org", Optional.empty(), Dsn.Ret.UNSPECIFIED, Body.SEVEN_BIT,
                false, requireTls, Optional.empty(), "test", Clock.systemUTC().instant(),
                List.of(new NewQueuedRecipient(recipient, EnumSet.of(Dsn.Notify.FAILURE), Optional.empty())));
        return store.enqueue(m, new ByteArrayInputStream(content.getBytes(StandardCharsets.US_ASCII))).id();
    }

    private PostfixReceiver postfix(String domain, String address, TestCertificate certificate) throws Exception {
        return new PostfixReceiver(Files.createDirectories(dir.resolve("postfix")), certificate, domain,
                new InetSocketAddress(InetAddress.getByName(address), Router.SMTP_PORT));
    }

    private QueuedRecipient attempted(long id) {
        await().atMost(Duration.ofSeconds(60)).until(() -> store.get(id).orElseThrow().recipients().get(0).attempts() > 0);
        return store.get(id).orElseThrow().recipients().get(0);
    }

    private static ScriptedReceiver receiver(String address) throws Exception {
        return new ScriptedReceiver(new InetSocketAddress(InetAddress.getByName(address), Router.SMTP_PORT),
                List.of("PIPELINING"), receiverCertificate);
    }

    @Test
    void aMatchingTlsaRecordAuthenticatesTheReceiver() throws Exception {
        try (ScriptedReceiver r = receiver(MATCHING)) {
            long id = enqueue("carol@ok.dane.test");
            engine.start();
            QueuedRecipient q = attempted(id);
            assertThat(q.state()).isEqualTo(RecipientState.DELIVERED);
            assertThat(r.commands()).containsSubsequence("STARTTLS", "RCPT TO:<carol@ok.dane.test>");
            assertThat(engine.tlsReports().pending().get("ok.dane.test"))
                    .singleElement().satisfies(p -> {
                        assertThat(p.policy().type()).isEqualTo(TlsRptPolicy.Type.TLSA);
                        assertThat(p.successes()).isEqualTo(1);
                        assertThat(p.failureCount()).isZero();
                    });
        }
    }

    @Test
    void requireTlsGoesOnToADaneAuthenticatedHopThatOffersIt() throws Exception {
        try (ScriptedReceiver r = new ScriptedReceiver(new InetSocketAddress(InetAddress.getByName(MATCHING), Router.SMTP_PORT),
                List.of("PIPELINING", "REQUIRETLS"), receiverCertificate)) {
            long id = enqueue("carol@ok.dane.test", true);
            engine.start();
            assertThat(attempted(id).state()).isEqualTo(RecipientState.DELIVERED);
            // RFC 8689 §4.2.1: the demand travels on with the message.
            assertThat(r.commands()).contains("MAIL FROM:<alice@example.org> REQUIRETLS");
        }
    }

    @Test
    void requireTlsFailsAtADaneAuthenticatedHopThatDoesNotOfferIt() throws Exception {
        try (ScriptedReceiver r = receiver(MATCHING)) {
            long id = enqueue("carol@ok.dane.test", true);
            engine.start();
            QueuedRecipient q = attempted(id);
            // RFC 8689 §4.2.1: without REQUIRETLS at the hop the message fails with 5.7.30, nothing sent.
            assertThat(q.state()).isEqualTo(RecipientState.FAILED);
            assertThat(q.lastReply()).hasValueSatisfying(reply -> assertThat(reply).startsWith("5.7.30 "));
            assertThat(r.commands()).contains("STARTTLS").noneMatch(c -> c.startsWith("MAIL") || c.startsWith("RCPT"));
        }
    }

    @Test
    void aMismatchingTlsaRecordDefersAndNothingGoesInClear() throws Exception {
        try (ScriptedReceiver r = receiver(MISMATCHING)) {
            long id = enqueue("carol@wrong.dane.test");
            engine.start();
            QueuedRecipient q = attempted(id);
            // RFC 7672 §2.2.2: the host is not authenticated, so it is not used; the mail waits.
            assertThat(q.state()).isEqualTo(RecipientState.QUEUED);
            assertThat(q.lastReply()).hasValueSatisfying(reply -> assertThat(reply).startsWith("4.7.5 DANE: "));
            assertThat(r.commands()).contains("STARTTLS");
            assertThat(r.commands()).noneMatch(c -> c.startsWith("MAIL") || c.startsWith("RCPT"));
            assertThat(engine.tlsReports().pending().get("wrong.dane.test"))
                    .singleElement().satisfies(p -> assertThat(p.failures().keySet())
                            .extracting(TlsRptAggregator.FailureDetails::resultType)
                            .containsExactly(TlsRptResultType.TLSA_INVALID));
        }
    }

    @Test
    void aBogusTlsaAnswerDefersWithoutConnecting() throws Exception {
        try (ScriptedReceiver r = receiver(BOGUS)) {
            long id = enqueue("carol@bogus.dane.test");
            engine.start();
            QueuedRecipient q = attempted(id);
            // RFC 7672 §2.2: a TLSA look-up that fails may hide records; the host is not used.
            assertThat(q.state()).isEqualTo(RecipientState.QUEUED);
            assertThat(q.lastReply()).hasValueSatisfying(reply -> assertThat(reply).startsWith("4.7.5 DANE: TLSA lookup failed"));
            assertThat(r.connections).hasValue(0);
        }
    }

    @Test
    void withoutTlsaRecordsDeliveryIsOpportunistic() throws Exception {
        try (ScriptedReceiver r = new ScriptedReceiver(new InetSocketAddress(InetAddress.getByName(NO_TLSA), Router.SMTP_PORT),
                List.of("PIPELINING"), null)) {
            long id = enqueue("carol@plain.dane.test");
            engine.start();
            assertThat(attempted(id).state()).isEqualTo(RecipientState.DELIVERED);
            assertThat(r.commands()).doesNotContain("STARTTLS");
        }
    }

    @Test
    void tlsRequiredNoPassesOverADaneMismatch() throws Exception {
        try (ScriptedReceiver r = receiver(MISMATCHING)) {
            long id = enqueue("carol@wrong.dane.test", false, "Subject: dane\r\nTLS-Required: No\r\n\r\nHi.\r\n");
            engine.start();
            // RFC 8689 §4.2.2: the sender asked that the recipient domain's DANE not stop the message; TLS is still tried.
            assertThat(attempted(id).state()).isEqualTo(RecipientState.DELIVERED);
            assertThat(r.commands()).containsSubsequence("STARTTLS", "STARTTLS", "RCPT TO:<carol@wrong.dane.test>");
            assertThat(r.transcript).anyMatch(l -> l.endsWith("(TLS TLSv1.3)"));
            assertThat(engine.tlsReports().pending().get("wrong.dane.test")).singleElement().satisfies(p -> assertThat(
                    p.failures().keySet()).extracting(TlsRptAggregator.FailureDetails::resultType)
                    .containsExactly(TlsRptResultType.TLSA_INVALID));
        }
    }

    @Test
    void aSessionOpenedUnderTlsRequiredNoCarriesNoOtherMessage() throws Exception {
        try (ScriptedReceiver r = receiver(MISMATCHING)) {
            long optional = enqueue("carol@wrong.dane.test", false, "Subject: dane\r\nTLS-Required: No\r\n\r\nHi.\r\n");
            long usual = enqueue("dave@wrong.dane.test");
            engine.start();
            assertThat(attempted(optional).state()).isEqualTo(RecipientState.DELIVERED);
            // The next message of the group asked nothing: DANE holds for it, so the unauthenticated session is not reused.
            QueuedRecipient q = attempted(usual);
            assertThat(q.state()).isEqualTo(RecipientState.QUEUED);
            assertThat(q.lastReply()).hasValueSatisfying(reply -> assertThat(reply).startsWith("4.7.5 DANE: "));
            assertThat(r.commands()).doesNotContain("RCPT TO:<dave@wrong.dane.test>");
        }
    }

    @Test
    void requireTlsRefusedAtTheFirstMxHostGoesToTheNextThatOffersIt() throws Exception {
        try (ScriptedReceiver first = receiver(MATCHING);
             ScriptedReceiver second = new ScriptedReceiver(new InetSocketAddress(InetAddress.getByName(SECOND_MX),
                     Router.SMTP_PORT), List.of("PIPELINING", "REQUIRETLS"), receiverCertificate)) {
            long id = enqueue("carol@two.dane.test", true);
            engine.start();
            // RFC 8689 §4.2.1: after QUIT at a host without REQUIRETLS, the next MX host is tried.
            assertThat(attempted(id).state()).isEqualTo(RecipientState.DELIVERED);
            assertThat(first.commands()).containsSubsequence("STARTTLS", "QUIT")
                    .noneMatch(c -> c.startsWith("MAIL") || c.startsWith("RCPT"));
            assertThat(second.commands()).contains("MAIL FROM:<alice@example.org> REQUIRETLS");
        }
    }

    @Test
    void aPostfixWhoseKeyATlsaRecordNamesGetsTheMail() throws Exception {
        try (PostfixReceiver postfix = postfix("pf.dane.test", POSTFIX_MATCHING, receiverCertificate);
             LogCapture log = new LogCapture(LogFormat.TEXT)) {
            long id = enqueue(postfix.recipient);
            engine.start();
            assertThat(attempted(id).state()).as(postfix.maillog()).isEqualTo(RecipientState.DELIVERED);
            await().until(() -> postfix.messages().size() == 1);
            assertThat(postfix.messages().get(0)).contains("with ESMTPS").contains("Subject: dane");
            // The delivery log says what the session had: the TLS version and cipher, and the policy that applied.
            assertThat(log.text()).containsPattern("to=<" + postfix.recipient + "> relay=\\S+ tls=TLSv1\\.[23]/\\S+"
                    + " policy=DANE status=sent");
        }
    }

    @Test
    void aPostfixWhoseKeyNoTlsaRecordNamesGetsNothing() throws Exception {
        try (PostfixReceiver postfix = postfix("pfwrong.dane.test", POSTFIX_MISMATCHING, receiverCertificate)) {
            long id = enqueue(postfix.recipient);
            engine.start();
            QueuedRecipient q = attempted(id);
            // RFC 7672 §2.2.2: not authenticated, so not used; the mail waits and nothing reached Postfix.
            assertThat(q.state()).isEqualTo(RecipientState.QUEUED);
            assertThat(q.lastReply()).hasValueSatisfying(reply -> assertThat(reply).startsWith("4.7.5 DANE: "));
            assertThat(postfix.queuedAnything()).as(postfix.maillog()).isFalse();
        }
    }

    @Test
    void aPostfixWithoutTlsUnderDaneGetsNothingInClear() throws Exception {
        try (PostfixReceiver postfix = postfix("pfclear.dane.test", POSTFIX_CLEAR, null)) {
            long id = enqueue(postfix.recipient);
            engine.start();
            QueuedRecipient q = attempted(id);
            // RFC 7672 §2.2: secure TLSA records make TLS required; without STARTTLS the mail waits.
            assertThat(q.state()).isEqualTo(RecipientState.QUEUED);
            assertThat(q.lastReply()).hasValueSatisfying(reply -> assertThat(reply)
                    .startsWith("4.7.4 DANE: TLS required but not offered"));
            assertThat(postfix.queuedAnything()).as(postfix.maillog()).isFalse();
        }
    }

    @Test
    void aTlsReportGoesWhereTheTlsaRecordDoesNotMatchAndItsSessionIsNotCounted() throws Exception {
        try (ScriptedReceiver r = receiver(MISMATCHING)) {
            NewQueuedMessage report = new NewQueuedMessage("postmaster@castellan.test", Optional.empty(), Dsn.Ret.HDRS,
                    Body.SEVEN_BIT, false, false, Optional.empty(), "local TLS reporting", Clock.systemUTC().instant(),
                    List.of(new NewQueuedRecipient("tlsrpt@wrong.dane.test", java.util.Set.of(), Optional.empty())), true);
            long id = store.enqueue(report, new ByteArrayInputStream("Subject: report\r\n\r\nCounts.\r\n"
                    .getBytes(StandardCharsets.US_ASCII))).id();
            engine.start();
            // RFC 8460 §3: delivered despite the TLS failure that would defer other mail, and not counted.
            assertThat(attempted(id).state()).isEqualTo(RecipientState.DELIVERED);
            assertThat(r.commands()).containsSubsequence("STARTTLS", "MAIL FROM:<postmaster@castellan.test>");
            assertThat(engine.tlsReports().pending()).isEmpty();
        }
    }
}
