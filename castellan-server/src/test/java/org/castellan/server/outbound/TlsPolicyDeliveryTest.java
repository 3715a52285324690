package org.castellan.server.outbound;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.ByteArrayInputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.EnumSet;
import java.util.List;
import java.util.Optional;
import org.castellan.protocol.smtp.Dsn;
import org.castellan.protocol.smtp.SmtpCommand.Body;
import org.castellan.server.config.Outbound;
import org.castellan.server.config.OutboundTls;
import org.castellan.server.dns.DnsFixture;
import org.castellan.server.dns.DnsFixture.Signing;
import org.castellan.server.dns.DnsFixture.Zone;
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
 * The operator's {@code [[outbound.tls-policy]]} for MX destinations (docs/outbound.md §5), against
 * a validating resolver (NSD and Unbound, a signed zone) and receivers on port 25 of loopback
 * addresses of their own: the mail still goes to the domain's MX hosts; {@code require},
 * {@code verify-name} and {@code dane-only} defer it, with nothing sent in clear, where the host
 * cannot meet them; the domain's DANE still applies where it asks more; a message's
 * {@code TLS-Required: No} does not lift the operator's policy.
 */
class TlsPolicyDeliveryTest {

    private static final String REQUIRE = "127.0.28.1";
    private static final String POSTFIX_CLEAR = "127.0.28.2";
    private static final String VERIFY = "127.0.28.3";
    private static final String NO_TLSA = "127.0.28.4";
    private static final String DANE = "127.0.28.5";
    private static final String DANE_MISMATCH = "127.0.28.6";
    private static final String PKIX_TLSA = "127.0.28.7";

    @TempDir static Path pkiDir;
    static TestPki pki;
    static TestCertificate otherName;
    static TestCertificate mx3Name;
    static DnsFixture dns;

    @TempDir Path dir;
    EmbeddedMailStore store;
    OutboundEngine engine;

    @BeforeAll
    static void zones() throws Exception {
        pki = TestPki.create(pkiDir);
        otherName = pki.serverFor("other.test");
        mx3Name = pki.serverFor("mx3.pol.test");
        String unrelated = DaneDeliveryTest.daneEe(pki.serverFor("unrelated.test"));
        dns = DnsFixture.start(new Zone("pol.test", Signing.SIGNED, List.of(
                "req MX 10 mx1", "mx1 A " + REQUIRE,
                "clear MX 10 mx2", "mx2 A " + POSTFIX_CLEAR,
                "vn MX 10 mx3", "mx3 A " + VERIFY,
                "donly MX 10 mx4", "mx4 A " + NO_TLSA,
                "dsec MX 10 mx5", "mx5 A " + DANE, "_25._tcp.mx5 TLSA " + DaneDeliveryTest.daneEe(otherName),
                "mis MX 10 mx6", "mis2 MX 10 mx6", "mx6 A " + DANE_MISMATCH, "_25._tcp.mx6 TLSA " + unrelated,
                // PKIX-EE(1): a usage RFC 7672 §3.1.3 says SMTP ignores, so no record is usable
                "pkix MX 10 mx7", "mx7 A " + PKIX_TLSA, "_25._tcp.mx7 TLSA " + DaneDeliveryTest.daneEe(otherName)
                        .replaceFirst("^3 ", "1 "))));
    }

    @AfterAll
    static void stopDns() {
        if (dns != null) dns.close();
    }

    @BeforeEach
    void open() throws Exception {
        store = EmbeddedMailStore.open(Files.createDirectories(dir.resolve("mail")));
    }

    @AfterEach
    void stop() {
        if (engine != null) engine.close();
        store.close();
    }

    private void start(Outbound.TlsPolicy... policies) {
        engine = new OutboundEngine(store, Optional.of(dns.resolver(1)),
                OutboundSessionTest.settings(Duration.ofSeconds(10)).withTlsPolicies(List.of(policies)), "castellan.test",
                Clock.systemUTC()).start();
    }

    private static Outbound.TlsPolicy policy(String domain, OutboundTls tls) {
        return new Outbound.TlsPolicy(domain, tls,
                tls == OutboundTls.VERIFY_NAME ? Optional.of(pki.trustFile()) : Optional.empty());
    }

    private long enqueue(String recipient, String content) {
        NewQueuedMessage m = new NewQueuedMessage("alice@example.org", Optional.empty(), Dsn.Ret.UNSPECIFIED, Body.SEVEN_BIT,
                false, false, Optional.empty(), "test", Clock.systemUTC().instant(),
                List.of(new NewQueuedRecipient(recipient, EnumSet.of(Dsn.Notify.FAILURE), Optional.empty())));
        return store.enqueue(m, new ByteArrayInputStream(content.getBytes(StandardCharsets.US_ASCII))).id();
    }

    private long enqueue(String recipient) {
        return enqueue(recipient, "Subject: policy\r\n\r\nHi.\r\n");
    }

    private QueuedRecipient attempted(long id) {
        await().atMost(Duration.ofSeconds(60)).until(() -> store.get(id).orElseThrow().recipients().get(0).attempts() > 0);
        return store.get(id).orElseThrow().recipients().get(0);
    }

    private static ScriptedReceiver receiver(String address, TestCertificate certificate) throws Exception {
        return new ScriptedReceiver(new InetSocketAddress(InetAddress.getByName(address), Router.SMTP_PORT),
                List.of("PIPELINING"), certificate);
    }

    private static void assertNothingSent(ScriptedReceiver r) {
        assertThat(r.commands()).noneMatch(c -> c.startsWith("MAIL") || c.startsWith("RCPT"));
        assertThat(r.messages).isEmpty();
    }

    @Test
    void requireDefersAtAnMxHostWithoutStartTls() throws Exception {
        try (ScriptedReceiver r = receiver(REQUIRE, null)) {
            long id = enqueue("carol@req.pol.test");
            start(policy("req.pol.test", OutboundTls.REQUIRE));
            QueuedRecipient q = attempted(id);
            // RFC 3207 §4, RFC 3463 §3.8: TLS is required and not offered; 4.7.4, nothing after EHLO.
            assertThat(q.state()).isEqualTo(RecipientState.QUEUED);
            assertThat(q.lastReply()).hasValueSatisfying(reply -> assertThat(reply)
                    .startsWith("4.7.4 tls-policy: TLS required but not offered by mx1.pol.test[" + REQUIRE + "]:25"));
            assertThat(r.commands()).containsExactly("EHLO castellan.test", "QUIT");
        }
    }

    @Test
    void requireKeepsMxRoutingAndTakesAnyCertificate() throws Exception {
        try (ScriptedReceiver r = receiver(REQUIRE, otherName)) {
            long id = enqueue("carol@req.pol.test");
            start(policy("req.pol.test", OutboundTls.REQUIRE));
            assertThat(attempted(id).state()).isEqualTo(RecipientState.DELIVERED);
            assertThat(r.commands()).containsSubsequence("STARTTLS", "RCPT TO:<carol@req.pol.test>");
        }
    }

    @Test
    void requireGivesAPostfixWithoutTlsNothing() throws Exception {
        try (PostfixReceiver postfix = new PostfixReceiver(Files.createDirectories(dir.resolve("postfix")), null,
                "clear.pol.test", new InetSocketAddress(InetAddress.getByName(POSTFIX_CLEAR), Router.SMTP_PORT))) {
            long id = enqueue(postfix.recipient);
            start(policy("clear.pol.test", OutboundTls.REQUIRE));
            QueuedRecipient q = attempted(id);
            assertThat(q.state()).isEqualTo(RecipientState.QUEUED);
            assertThat(q.lastReply()).hasValueSatisfying(reply -> assertThat(reply).startsWith("4.7.4 tls-policy: "));
            assertThat(postfix.queuedAnything()).as(postfix.maillog()).isFalse();
        }
    }

    @Test
    void verifyNameDefersACertificateForAnotherName() throws Exception {
        try (ScriptedReceiver r = receiver(VERIFY, otherName)) {
            long id = enqueue("carol@vn.pol.test");
            start(policy("vn.pol.test", OutboundTls.VERIFY_NAME));
            QueuedRecipient q = attempted(id);
            // RFC 6125 §6: the certificate must name the MX host.
            assertThat(q.state()).isEqualTo(RecipientState.QUEUED);
            assertThat(q.lastReply()).hasValueSatisfying(reply -> assertThat(reply).startsWith("4.7.5 tls-policy: "));
            assertThat(r.commands()).contains("STARTTLS");
            assertNothingSent(r);
        }
    }

    @Test
    void verifyNameDeliversToTheMxHostsName() throws Exception {
        try (ScriptedReceiver r = receiver(VERIFY, mx3Name)) {
            long id = enqueue("carol@vn.pol.test");
            start(policy("vn.pol.test", OutboundTls.VERIFY_NAME));
            assertThat(attempted(id).state()).isEqualTo(RecipientState.DELIVERED);
            assertThat(r.commands()).containsSubsequence("STARTTLS", "RCPT TO:<carol@vn.pol.test>");
        }
    }

    @Test
    void daneOnlyNeverConnectsToAHostWithoutTlsa() throws Exception {
        try (ScriptedReceiver r = receiver(NO_TLSA, otherName)) {
            long id = enqueue("carol@donly.pol.test");
            start(policy("donly.pol.test", OutboundTls.DANE_ONLY));
            QueuedRecipient q = attempted(id);
            // No DNSSEC-secure TLSA records: DANE cannot authenticate the host, and nothing weaker is tried.
            assertThat(q.state()).isEqualTo(RecipientState.QUEUED);
            assertThat(q.lastReply()).hasValueSatisfying(reply -> assertThat(reply)
                    .startsWith("4.7.5 tls-policy: dane-only, and mx4.pol.test has no DNSSEC-secure TLSA records"));
            assertThat(r.connections).hasValue(0);
        }
    }

    @Test
    void daneOnlyDeliversWhereDaneAuthenticates() throws Exception {
        try (ScriptedReceiver r = receiver(DANE, otherName)) {
            long id = enqueue("carol@dsec.pol.test");
            start(policy("dsec.pol.test", OutboundTls.DANE_ONLY));
            assertThat(attempted(id).state()).isEqualTo(RecipientState.DELIVERED);
            assertThat(r.commands()).containsSubsequence("STARTTLS", "RCPT TO:<carol@dsec.pol.test>");
        }
    }

    @Test
    void theDomainsDaneStillAppliesWhereItAsksMoreThanRequire() throws Exception {
        try (ScriptedReceiver r = receiver(DANE_MISMATCH, otherName)) {
            long id = enqueue("carol@mis2.pol.test");
            start(policy("mis2.pol.test", OutboundTls.REQUIRE));
            QueuedRecipient q = attempted(id);
            // The strictest applicable policy wins: the TLSA record does not match, so require's "any certificate" does not.
            assertThat(q.state()).isEqualTo(RecipientState.QUEUED);
            assertThat(q.lastReply()).hasValueSatisfying(reply -> assertThat(reply).startsWith("4.7.5 DANE: "));
            assertNothingSent(r);
        }
    }

    @Test
    void tlsRequiredNoDoesNotLiftTheOperatorsPolicy() throws Exception {
        try (ScriptedReceiver r = receiver(DANE_MISMATCH, otherName)) {
            long id = enqueue("carol@mis.pol.test", "Subject: policy\r\nTLS-Required: No\r\n\r\nHi.\r\n");
            start(policy("mis.pol.test", OutboundTls.VERIFY_NAME));
            QueuedRecipient q = attempted(id);
            // RFC 8689 §4.2.2: the field passes over the recipient domain's DANE; the operator's verify-name
            // still holds, and the certificate does not name mx6.
            assertThat(q.state()).isEqualTo(RecipientState.QUEUED);
            assertThat(q.lastReply()).hasValueSatisfying(reply -> assertThat(reply).startsWith("4.7.5 tls-policy: "));
            assertThat(r.commands()).containsSubsequence("STARTTLS", "STARTTLS");
            assertNothingSent(r);
        }
    }

    @Test
    void verifyNameStillAppliesWhereNoTlsaRecordIsUsable() throws Exception {
        try (ScriptedReceiver r = receiver(PKIX_TLSA, otherName)) {
            long id = enqueue("carol@pkix.pol.test");
            start(policy("pkix.pol.test", OutboundTls.VERIFY_NAME));
            QueuedRecipient q = attempted(id);
            // RFC 7672 §2.2: unusable records leave DANE asking for TLS only; verify-name asks more, and wins.
            assertThat(q.state()).isEqualTo(RecipientState.QUEUED);
            assertThat(q.lastReply()).hasValueSatisfying(reply -> assertThat(reply).startsWith("4.7.5 tls-policy: "));
            assertNothingSent(r);
        }
    }
}
