package org.castellan.server.outbound;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import java.util.Optional;
import org.castellan.protocol.smtp.Dsn;
import org.castellan.protocol.smtp.SmtpCommand.Body;
import org.castellan.server.config.Outbound;
import org.castellan.server.config.OutboundTls;
import org.castellan.server.testing.PostfixReceiver;
import org.castellan.store.embedded.EmbeddedMailStore;
import org.castellan.store.queue.NewQueuedMessage;
import org.castellan.store.queue.NewQueuedRecipient;
import org.castellan.store.queue.OutboundQueue;
import org.castellan.store.queue.QueuedMessage;
import org.castellan.store.queue.QueuedRecipient;
import org.castellan.store.queue.RecipientState;
import org.castellan.testkit.MutableClock;
import org.castellan.testkit.TestPki;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The delivery engine over the embedded store's queue and real receivers on loopback: what it
 * records for each recipient (docs/outbound.md §2, §4), with a clock the test moves.
 */
class OutboundEngineTest {

    private static final String MESSAGE = "From: alice@example.org\r\nTo: carol@remote.test\r\nSubject: hello\r\n\r\nHi.\r\n";
    private static final Duration SHORT = Duration.ofSeconds(2);

    @TempDir
    Path dir;
    EmbeddedMailStore store;
    OutboundQueue queue;
    MutableClock clock;
    OutboundEngine engine;
    TestPki pki;

    @BeforeEach
    void open() throws IOException {
        store = EmbeddedMailStore.open(Files.createDirectories(dir.resolve("mail")));
        queue = store;
        clock = new MutableClock(Instant.now().truncatedTo(ChronoUnit.SECONDS));
        pki = TestPki.create(Files.createDirectories(dir.resolve("pki")));
    }

    @AfterEach
    void close() {
        if (engine != null) engine.close();
        store.close();
    }

    private static Outbound.Route route(OutboundTls tls, int... ports) {
        return new Outbound.Route("remote.test", Arrays.stream(ports).mapToObj(p -> new Outbound.NextHop("127.0.0.1", p)).toList(),
                tls, Optional.empty());
    }

    private void start(Outbound.Route route) {
        start(OutboundSessionTest.settings(SHORT).withRoutes(List.of(route)));
    }

    private void start(Outbound settings) {
        engine = new OutboundEngine(queue, Optional.empty(), settings, "castellan.test", clock).start();
    }

    private long enqueue(boolean smtpUtf8, String... recipients) {
        NewQueuedMessage m = new NewQueuedMessage("alice@example.org", Optional.empty(), Dsn.Ret.UNSPECIFIED,
                smtpUtf8 ? Body.EIGHT_BIT_MIME : Body.SEVEN_BIT, smtpUtf8, false, Optional.of("alice@example.org"),
                "127.0.0.1 test", clock.instant(), Arrays.stream(recipients)
                        .map(r -> new NewQueuedRecipient(r, EnumSet.of(Dsn.Notify.FAILURE), Optional.empty())).toList());
        return queue.enqueue(m, new ByteArrayInputStream(MESSAGE.getBytes(StandardCharsets.UTF_8))).id();
    }

    private long enqueue(String... recipients) {
        return enqueue(false, recipients);
    }

    private QueuedRecipient recipient(long message, String address) {
        QueuedMessage m = queue.get(message).orElseThrow();
        return m.recipients().stream().filter(r -> r.address().equals(address)).findFirst().orElseThrow();
    }

    /** Waits until the recipient's first attempt has been recorded, and returns it. */
    private QueuedRecipient attempted(long message, String address, int attempts) {
        await().atMost(Duration.ofSeconds(30)).until(() -> recipient(message, address).attempts() >= attempts);
        return recipient(message, address);
    }

    private static int closedPort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    @Test
    void aMessageArrivesAtSmtpSinkThroughAStaticRoute() throws Exception {
        try (SmtpSink sink = new SmtpSink(dir.resolve("sink"))) {
            long id = enqueue("carol@remote.test");
            start(route(OutboundTls.OPPORTUNISTIC, sink.port));
            QueuedRecipient r = attempted(id, "carol@remote.test", 1);
            assertThat(r.state()).isEqualTo(RecipientState.DELIVERED);
            assertThat(r.lastReply()).hasValueSatisfying(reply -> assertThat(reply).startsWith("250 2.0.0"));
            assertThat(r.lastHost()).contains("127.0.0.1[127.0.0.1]:" + sink.port);
            assertThat(sink.awaitMessages(1, "Hi.")).singleElement().asString().contains("X-Rcpt-Args: <carol@remote.test>")
                    .contains("Subject: hello");
        }
    }

    @Test
    void twoMessagesToOneDestinationGoOverOneConnection() throws Exception {
        try (ScriptedReceiver receiver = new ScriptedReceiver(List.of("PIPELINING"), null)) {
            long first = enqueue("carol@remote.test");
            long second = enqueue("dave@remote.test");
            start(route(OutboundTls.OPPORTUNISTIC, receiver.port()));
            assertThat(attempted(first, "carol@remote.test", 1).state()).isEqualTo(RecipientState.DELIVERED);
            assertThat(attempted(second, "dave@remote.test", 1).state()).isEqualTo(RecipientState.DELIVERED);
            assertThat(receiver.connections.get()).isEqualTo(1);
            assertThat(receiver.commands()).containsSubsequence("RCPT TO:<carol@remote.test>", "RSET", "RCPT TO:<dave@remote.test>");
        }
    }

    @Test
    void whenTheFirstNextHopIsDownTheSecondIsTried() throws Exception {
        try (SmtpSink sink = new SmtpSink(dir.resolve("sink"))) {
            long id = enqueue("carol@remote.test");
            start(route(OutboundTls.OPPORTUNISTIC, closedPort(), sink.port));
            QueuedRecipient r = attempted(id, "carol@remote.test", 1);
            assertThat(r.state()).isEqualTo(RecipientState.DELIVERED);
            assertThat(r.lastHost()).contains("127.0.0.1[127.0.0.1]:" + sink.port);
            assertThat(sink.awaitMessages(1, "Hi.")).hasSize(1);
        }
    }

    @Test
    void aTemporaryRefusalIsRetriedAfterRetryInitialAndThenDelivered() throws Exception {
        try (ScriptedReceiver receiver = new ScriptedReceiver(List.of("PIPELINING"), null)
                .script((c, n) -> n == 1 && c.startsWith("RCPT") ? "451 4.3.0 Try again later" : null)) {
            long id = enqueue("carol@remote.test");
            start(route(OutboundTls.OPPORTUNISTIC, receiver.port()));
            QueuedRecipient r = attempted(id, "carol@remote.test", 1);
            assertThat(r.state()).isEqualTo(RecipientState.QUEUED);
            assertThat(r.lastReply()).contains("451 4.3.0 Try again later");
            assertThat(r.nextAttempt()).isEqualTo(clock.instant().plus(Outbound.DEFAULT_RETRY_INITIAL));
            assertThat(receiver.messages).isEmpty();
            queue.retryNow(id);
            engine.wake();
            r = attempted(id, "carol@remote.test", 2);
            assertThat(r.state()).isEqualTo(RecipientState.DELIVERED);
            assertThat(receiver.messages).hasSize(1);
        }
    }

    @Test
    void aPermanentRefusalFailsOnlyItsRecipient() throws Exception {
        try (ScriptedReceiver receiver = new ScriptedReceiver(List.of("PIPELINING"), null)
                .script((c, n) -> c.contains("<nobody@") ? "550 5.1.1 <nobody@remote.test>: user unknown" : null)) {
            long id = enqueue("carol@remote.test", "nobody@remote.test");
            start(route(OutboundTls.OPPORTUNISTIC, receiver.port()));
            assertThat(attempted(id, "carol@remote.test", 1).state()).isEqualTo(RecipientState.DELIVERED);
            QueuedRecipient failed = attempted(id, "nobody@remote.test", 1);
            assertThat(failed.state()).isEqualTo(RecipientState.FAILED);
            assertThat(failed.lastReply()).contains("550 5.1.1 <nobody@remote.test>: user unknown");
        }
    }

    @Test
    void requireTlsToAReceiverWithoutStartTlsDefersAndSendsNothingInClear() throws Exception {
        try (ScriptedReceiver receiver = new ScriptedReceiver(List.of("PIPELINING"), null)) {
            long id = enqueue("carol@remote.test");
            start(route(OutboundTls.REQUIRE, receiver.port()));
            QueuedRecipient r = attempted(id, "carol@remote.test", 1);
            assertThat(r.state()).isEqualTo(RecipientState.QUEUED);
            assertThat(r.lastReply()).hasValueSatisfying(reply -> assertThat(reply).startsWith("4.7.4 TLS required but not offered"));
            assertThat(receiver.commands()).noneMatch(c -> c.startsWith("MAIL") || c.startsWith("RCPT"));
            assertThat(receiver.messages).isEmpty();
        }
    }

    @Test
    void verifyNameWithACertificateForAnotherNameDefers() throws Exception {
        // The certificate names localhost and 127.0.0.1; the next hop is 127.0.0.2.
        try (ScriptedReceiver receiver = new ScriptedReceiver(InetAddress.getByName("127.0.0.2"), List.of("PIPELINING"), pki.server())) {
            long id = enqueue("carol@remote.test");
            start(new Outbound.Route("remote.test", List.of(new Outbound.NextHop("127.0.0.2", receiver.port())),
                    OutboundTls.VERIFY_NAME, Optional.of(pki.trustFile())));
            QueuedRecipient r = attempted(id, "carol@remote.test", 1);
            assertThat(r.state()).isEqualTo(RecipientState.QUEUED);
            assertThat(r.lastReply()).hasValueSatisfying(reply -> assertThat(reply).startsWith("4.7.5 "));
            assertThat(receiver.commands()).noneMatch(c -> c.startsWith("MAIL"));
        }
    }

    @Test
    void verifyNameWithTheRightNameDelivers() throws Exception {
        try (ScriptedReceiver receiver = new ScriptedReceiver(List.of("PIPELINING"), pki.server())) {
            long id = enqueue("carol@remote.test");
            start(new Outbound.Route("remote.test", List.of(new Outbound.NextHop("localhost", receiver.port())),
                    OutboundTls.VERIFY_NAME, Optional.of(pki.trustFile())));
            assertThat(attempted(id, "carol@remote.test", 1).state()).isEqualTo(RecipientState.DELIVERED);
            assertThat(receiver.commands()).contains("(TLS TLSv1.3)");
        }
    }

    @Test
    void aFailedHandshakeUnderOpportunisticTlsIsRetriedInClear() throws Exception {
        // As Postfix's "may" level: the same host again, without STARTTLS.
        try (ScriptedReceiver receiver = new ScriptedReceiver(List.of("PIPELINING", "STARTTLS"), null)
                .script((c, n) -> c.equals("STARTTLS") ? "220 2.0.0 go ahead\r\nthis is not TLS" : null)) {
            long id = enqueue("carol@remote.test");
            start(route(OutboundTls.OPPORTUNISTIC, receiver.port()));
            assertThat(attempted(id, "carol@remote.test", 1).state()).isEqualTo(RecipientState.DELIVERED);
            assertThat(receiver.connections.get()).isEqualTo(2);
            assertThat(receiver.transcript).contains("1: STARTTLS", "2: MAIL FROM:<alice@example.org>")
                    .doesNotContain("1: MAIL FROM:<alice@example.org>", "2: STARTTLS");
        }
    }

    @Test
    void aFailedHandshakeUnderRequireTlsIsNotRetriedInClear() throws Exception {
        try (ScriptedReceiver receiver = new ScriptedReceiver(List.of("PIPELINING", "STARTTLS"), null)
                .script((c, n) -> c.equals("STARTTLS") ? "220 2.0.0 go ahead\r\nthis is not TLS" : null)) {
            long id = enqueue("carol@remote.test");
            start(route(OutboundTls.REQUIRE, receiver.port()));
            QueuedRecipient r = attempted(id, "carol@remote.test", 1);
            assertThat(r.state()).isEqualTo(RecipientState.QUEUED);
            assertThat(r.lastReply()).hasValueSatisfying(reply -> assertThat(reply).startsWith("4.7.5 TLS handshake"));
            assertThat(receiver.connections.get()).isEqualTo(1);
            assertThat(receiver.commands()).noneMatch(c -> c.startsWith("MAIL"));
        }
    }

    @Test
    void aReceiverThatNeverAnswersIsDeferredAfterTheTimeout() throws Exception {
        try (ScriptedReceiver receiver = new ScriptedReceiver(List.of(), null).greeting(ScriptedReceiver.SILENCE)) {
            long id = enqueue("carol@remote.test");
            start(route(OutboundTls.OPPORTUNISTIC, receiver.port()));
            QueuedRecipient r = attempted(id, "carol@remote.test", 1);
            assertThat(r.state()).isEqualTo(RecipientState.QUEUED);
            assertThat(r.lastReply()).hasValueSatisfying(reply -> assertThat(reply).startsWith("4.4.2 ").contains("timed out"));
        }
    }

    @Test
    void aReplyWithoutEndEndsTheSessionAndDefers() throws Exception {
        String endless = "250-more\r\n".repeat(500) + "250 done";
        try (ScriptedReceiver receiver = new ScriptedReceiver(List.of(), null).script((c, n) -> c.startsWith("EHLO") ? endless : null)) {
            long id = enqueue("carol@remote.test");
            start(route(OutboundTls.OPPORTUNISTIC, receiver.port()));
            QueuedRecipient r = attempted(id, "carol@remote.test", 1);
            assertThat(r.state()).isEqualTo(RecipientState.QUEUED);
            assertThat(r.lastReply()).hasValueSatisfying(reply -> assertThat(reply).startsWith("4.5.0 ").contains("more than 100 lines"));
        }
    }

    @Test
    void aRecipientStillDeferredAtGiveUpFails() throws Exception {
        int down = closedPort();
        long id = enqueue("carol@remote.test");
        start(route(OutboundTls.OPPORTUNISTIC, down));
        QueuedRecipient r = attempted(id, "carol@remote.test", 1);
        assertThat(r.state()).isEqualTo(RecipientState.QUEUED);
        assertThat(r.lastReply()).hasValueSatisfying(reply -> assertThat(reply).startsWith("4.4.1 Cannot connect"));
        // Days pass; the retries back off to retry-max and never beyond the give-up time.
        clock.advance(Outbound.DEFAULT_GIVE_UP.minusMinutes(5));
        queue.retryNow(id);
        engine.wake();
        r = attempted(id, "carol@remote.test", 2);
        assertThat(r.state()).isEqualTo(RecipientState.QUEUED);
        assertThat(r.nextAttempt()).isEqualTo(queue.get(id).orElseThrow().arrival().plus(Outbound.DEFAULT_GIVE_UP));
        clock.advance(Duration.ofMinutes(5));
        engine.wake();
        r = attempted(id, "carol@remote.test", 3);
        assertThat(r.state()).isEqualTo(RecipientState.FAILED);
        assertThat(r.lastReply()).hasValueSatisfying(reply -> assertThat(reply)
                .startsWith("4.4.7 Delivery time expired after 5 days; last attempt: 4.4.1 Cannot connect"));
    }

    @Test
    void anSmtpUtf8MessageToSmtpSinkFailsWith567() throws Exception {
        try (SmtpSink sink = new SmtpSink(dir.resolve("sink"))) {
            long id = enqueue(true, "jörg@remote.test");
            start(route(OutboundTls.OPPORTUNISTIC, sink.port));
            QueuedRecipient r = attempted(id, "jörg@remote.test", 1);
            assertThat(r.state()).isEqualTo(RecipientState.FAILED);
            assertThat(r.lastReply()).hasValueSatisfying(reply -> assertThat(reply).startsWith("5.6.7 "));
            assertThat(sink.messages()).isEmpty();
        }
    }

    @Test
    void aMessageOverTheReceiversSizeFails() throws Exception {
        try (ScriptedReceiver receiver = new ScriptedReceiver(List.of("SIZE 20"), null)) {
            long id = enqueue("carol@remote.test");
            start(route(OutboundTls.OPPORTUNISTIC, receiver.port()));
            QueuedRecipient r = attempted(id, "carol@remote.test", 1);
            assertThat(r.state()).isEqualTo(RecipientState.FAILED);
            assertThat(r.lastReply()).hasValueSatisfying(reply -> assertThat(reply).startsWith("5.3.4 "));
            assertThat(receiver.commands()).noneMatch(c -> c.startsWith("MAIL"));
        }
    }

    @Test
    void aDomainWithoutRouteIsDeferredWhenMxRoutingIsUnavailable() {
        long id = enqueue("carol@unrouted.test");
        start(Outbound.DEFAULTS);
        QueuedRecipient r = attempted(id, "carol@unrouted.test", 1);
        assertThat(r.state()).isEqualTo(RecipientState.QUEUED);
        assertThat(r.lastReply()).hasValueSatisfying(reply -> assertThat(reply).startsWith("4.4.3 "));
    }

    @Test
    void aMessageArrivesAtPostfixOverStartTls() throws Exception {
        try (PostfixReceiver postfix = new PostfixReceiver(Files.createDirectories(dir.resolve("postfix")), pki.server())) {
            long id = enqueue(PostfixReceiver.RECIPIENT);
            start(new Outbound.Route("remote.test", List.of(new Outbound.NextHop("127.0.0.1", postfix.port)),
                    OutboundTls.OPPORTUNISTIC, Optional.empty()));
            QueuedRecipient r = attempted(id, PostfixReceiver.RECIPIENT, 1);
            assertThat(r.state()).as(postfix.maillog()).isEqualTo(RecipientState.DELIVERED);
            // Postfix counts the octets only in its reply to BDAT (RFC 3030), which Castellan uses when offered.
            assertThat(r.lastReply()).hasValueSatisfying(reply -> assertThat(reply)
                    .startsWith("250 2.0.0 Ok: " + MESSAGE.length() + " bytes queued as "));
            await().until(() -> postfix.messages().size() == 1);
            assertThat(postfix.messages().get(0)).contains("(using TLSv1.3 with cipher").contains("with ESMTPS")
                    .contains("Subject: hello");
        }
    }

    @Test
    void verifyNameToPostfixAcceptsTheRightNameAndDefersTheWrongOne() throws Exception {
        try (PostfixReceiver postfix = new PostfixReceiver(Files.createDirectories(dir.resolve("postfix")), pki.server())) {
            // "localhost" is what the certificate names; 127.0.0.2 is not (it names 127.0.0.1).
            long right = enqueue(PostfixReceiver.RECIPIENT);
            Outbound settings = OutboundSessionTest.settings(SHORT).withRoutes(List.of(
                    new Outbound.Route("remote.test", List.of(new Outbound.NextHop("localhost", postfix.port)),
                            OutboundTls.VERIFY_NAME, Optional.of(pki.trustFile()))));
            start(settings);
            assertThat(attempted(right, PostfixReceiver.RECIPIENT, 1).state()).as(postfix.maillog())
                    .isEqualTo(RecipientState.DELIVERED);
            engine.close();

            long wrong = enqueue(PostfixReceiver.RECIPIENT);
            start(settings.withRoutes(List.of(new Outbound.Route("remote.test",
                    List.of(new Outbound.NextHop("127.0.0.2", postfix.port)), OutboundTls.VERIFY_NAME, Optional.of(pki.trustFile())))));
            QueuedRecipient r = attempted(wrong, PostfixReceiver.RECIPIENT, 1);
            assertThat(r.state()).isEqualTo(RecipientState.QUEUED);
            assertThat(r.lastReply()).hasValueSatisfying(reply -> assertThat(reply).startsWith("4.7.5 "));
            assertThat(postfix.messages()).hasSize(1); // the first message only
        }
    }

    @Test
    void anSmtpUtf8MessageGoesToPostfixWhichOffersSmtpUtf8() throws Exception {
        try (PostfixReceiver postfix = new PostfixReceiver(Files.createDirectories(dir.resolve("postfix")), pki.server())) {
            long id = enqueue(true, PostfixReceiver.RECIPIENT);
            start(new Outbound.Route("remote.test", List.of(new Outbound.NextHop("127.0.0.1", postfix.port)),
                    OutboundTls.REQUIRE, Optional.empty()));
            assertThat(attempted(id, PostfixReceiver.RECIPIENT, 1).state()).as(postfix.maillog())
                    .isEqualTo(RecipientState.DELIVERED);
            assertThat(postfix.maillog()).contains("from=<alice@example.org>");
        }
    }

    @Test
    void stoppingDuringAnAttemptLosesNothing() throws Exception {
        try (ScriptedReceiver silent = new ScriptedReceiver(List.of(), null).greeting(ScriptedReceiver.SILENCE);
             SmtpSink sink = new SmtpSink(dir.resolve("sink"))) {
            long id = enqueue("carol@remote.test");
            start(OutboundSessionTest.settings(Duration.ofMinutes(5)).withRoutes(List.of(route(OutboundTls.OPPORTUNISTIC, silent.port()))));
            await().until(() -> silent.connections.get() == 1);
            engine.close(); // the server shuts down while the session waits for a greeting
            assertThat(recipient(id, "carol@remote.test").state()).isEqualTo(RecipientState.QUEUED);

            // The next start (here: after the lease and any back-off) delivers it.
            clock.advance(OutboundEngine.LEASE.plus(Outbound.DEFAULT_RETRY_INITIAL));
            start(route(OutboundTls.OPPORTUNISTIC, sink.port));
            await().atMost(Duration.ofSeconds(30)).until(() -> recipient(id, "carol@remote.test").state() == RecipientState.DELIVERED);
            assertThat(sink.awaitMessages(1, "Hi.")).hasSize(1);
        }
    }
}
