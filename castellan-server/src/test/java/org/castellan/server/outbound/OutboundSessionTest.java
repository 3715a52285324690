package org.castellan.server.outbound;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.EnumSet;
import java.util.List;
import java.util.Optional;
import org.castellan.protocol.smtp.Dsn;
import org.castellan.protocol.smtp.SmtpCommand.Body;
import org.castellan.server.config.Outbound;
import org.castellan.server.config.OutboundTls;
import org.castellan.server.outbound.OutboundSession.Delivered;
import org.castellan.server.outbound.OutboundSession.Deferred;
import org.castellan.server.outbound.OutboundSession.Envelope;
import org.castellan.server.outbound.OutboundSession.Failed;
import org.castellan.server.outbound.OutboundSession.Failure;
import org.castellan.server.outbound.OutboundSession.Outcome;
import org.castellan.server.outbound.OutboundSession.Target;
import org.castellan.testkit.TestPki;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The client session against real receivers on loopback: Postfix's smtp-sink, and a scripted
 * receiver for what smtp-sink will not do (RFC 5321 §4, RFC 2920, RFC 1870, RFC 6152, RFC 6531,
 * RFC 3030, RFC 3207).
 */
class OutboundSessionTest {

    private static final String MESSAGE = "From: alice@example.org\r\nTo: carol@remote.test\r\nSubject: dots\r\n\r\n"
            + "first line\r\n.a line that starts with a dot\r\n..two dots\r\nlast\r\n";

    @TempDir
    Path dir;
    TestPki pki;

    @BeforeEach
    void pki() throws IOException {
        pki = TestPki.create(Files.createDirectories(dir.resolve("pki")));
    }

    static Outbound settings(Duration timeout) {
        Outbound d = Outbound.DEFAULTS;
        return new Outbound(Optional.empty(), timeout, timeout, timeout, timeout, timeout, timeout, timeout,
                d.retryInitial(), d.retryMax(), d.giveUp(), d.delayWarning(), d.maxConnectionsPerDestination(),
                d.maxMessagesPerConnection(), List.of());
    }

    private static Target target(String host, int port, OutboundTls tls) {
        return new Target(host, new InetSocketAddress(InetAddress.getLoopbackAddress(), port), tls, Optional.empty(), false);
    }

    private static OutboundSession open(Target t) throws Failure {
        return OutboundSession.open(t, settings(Duration.ofSeconds(20)), "castellan.test");
    }

    private static Envelope envelope(String... recipients) {
        return new Envelope("alice@example.org", List.of(recipients), MESSAGE.length(), Body.SEVEN_BIT, false);
    }

    private static ByteArrayInputStream content() {
        return new ByteArrayInputStream(MESSAGE.getBytes(StandardCharsets.US_ASCII));
    }

    @Test
    void deliversToSmtpSinkWithPipeliningAndDotStuffing() throws Exception {
        try (SmtpSink sink = new SmtpSink(dir.resolve("sink"));
             OutboundSession s = open(target("127.0.0.1", sink.port, OutboundTls.OPPORTUNISTIC))) {
            List<Outcome> outcomes = s.send(envelope("carol@remote.test", "dave@remote.test"), content());
            assertThat(outcomes).hasSize(2).allSatisfy(o -> assertThat(o).isInstanceOf(Delivered.class));
            assertThat(s.tls()).isEqualTo("none"); // smtp-sink offers no STARTTLS
            String got = sink.awaitMessages(1, "last").get(0);
            assertThat(got).contains("X-Mail-Args: <alice@example.org>")
                    .contains("X-Rcpt-Args: <carol@remote.test>").contains("X-Rcpt-Args: <dave@remote.test>")
                    // RFC 5321 §4.5.2: stuffed on the wire, removed by the receiver
                    .contains("\n.a line that starts with a dot\n..two dots\nlast\n"); // smtp-sink writes LF
        }
    }

    @Test
    void twoMessagesShareOneConnectionWithRsetBetween() throws Exception {
        try (ScriptedReceiver r = new ScriptedReceiver(List.of("PIPELINING", "8BITMIME"), null);
             OutboundSession s = open(target("127.0.0.1", r.port(), OutboundTls.OPPORTUNISTIC))) {
            assertThat(s.send(envelope("carol@remote.test"), content())).allMatch(o -> o instanceof Delivered);
            assertThat(s.send(envelope("dave@remote.test"), content())).allMatch(o -> o instanceof Delivered);
            s.close();
            assertThat(r.connections.get()).isEqualTo(1);
            assertThat(r.commands()).containsExactly("EHLO castellan.test",
                    "MAIL FROM:<alice@example.org>", "RCPT TO:<carol@remote.test>", "DATA",
                    "RSET", "MAIL FROM:<alice@example.org>", "RCPT TO:<dave@remote.test>", "DATA", "QUIT");
        }
    }

    @Test
    void eachRecipientHasItsOwnReply() throws Exception {
        try (ScriptedReceiver r = new ScriptedReceiver(List.of("PIPELINING"), null)
                .script((c, n) -> c.contains("<nobody@") ? "550 5.1.1 No such user here"
                        : c.contains("<later@") ? "452 4.2.2 Mailbox full" : null);
             OutboundSession s = open(target("127.0.0.1", r.port(), OutboundTls.OPPORTUNISTIC))) {
            List<Outcome> o = s.send(envelope("carol@remote.test", "nobody@remote.test", "later@remote.test"), content());
            assertThat(o.get(0)).isInstanceOf(Delivered.class);
            assertThat(o.get(1)).isEqualTo(new Failed("550 5.1.1 No such user here"));
            assertThat(o.get(2)).isEqualTo(new Deferred("452 4.2.2 Mailbox full"));
            assertThat(r.messages).hasSize(1);
        }
    }

    @Test
    void withoutPipeliningEachCommandWaitsForItsReply() throws Exception {
        try (ScriptedReceiver r = new ScriptedReceiver(List.of(), null);
             OutboundSession s = open(target("127.0.0.1", r.port(), OutboundTls.OPPORTUNISTIC))) {
            assertThat(s.send(envelope("carol@remote.test", "dave@remote.test"), content())).allMatch(o -> o instanceof Delivered);
            assertThat(r.messages.get(0)).isEqualTo(MESSAGE);
        }
    }

    @Test
    void heloWhenEhloIsRefused() throws Exception {
        try (ScriptedReceiver r = new ScriptedReceiver(List.of(), null)
                .script((c, n) -> c.startsWith("EHLO") ? "502 5.5.1 Command not implemented" : null);
             OutboundSession s = open(target("127.0.0.1", r.port(), OutboundTls.OPPORTUNISTIC))) {
            assertThat(s.send(envelope("carol@remote.test"), content())).allMatch(o -> o instanceof Delivered);
            assertThat(r.commands()).startsWith("EHLO castellan.test", "HELO castellan.test", "MAIL FROM:<alice@example.org>");
        }
    }

    @Test
    void chunkingSendsTheContentAsItIsWithBdat() throws Exception {
        try (ScriptedReceiver r = new ScriptedReceiver(List.of("PIPELINING", "CHUNKING"), null);
             OutboundSession s = open(target("127.0.0.1", r.port(), OutboundTls.OPPORTUNISTIC))) {
            assertThat(s.send(envelope("carol@remote.test"), content())).allMatch(o -> o instanceof Delivered);
            assertThat(r.commands()).contains("BDAT " + MESSAGE.length() + " LAST").doesNotContain("DATA");
            assertThat(r.messages).containsExactly(MESSAGE); // RFC 3030 §2: no dot-stuffing
        }
    }

    @Test
    void smtpUtf8MessageToSinkWithoutSmtpUtf8FailsWith567() throws Exception {
        try (SmtpSink sink = new SmtpSink(dir.resolve("sink"));
             OutboundSession s = open(target("127.0.0.1", sink.port, OutboundTls.OPPORTUNISTIC))) {
            Envelope e = new Envelope("alice@example.org", List.of("jörg@remote.test"), 100, Body.EIGHT_BIT_MIME, true);
            List<Outcome> o = s.send(e, content());
            assertThat(o).singleElement().isInstanceOf(Failed.class);
            assertThat(o.get(0).reply()).startsWith("5.6.7 ");
            assertThat(sink.messages()).isEmpty();
        }
    }

    @Test
    void eightBitMimeToSevenBitReceiverFailsWith563() throws Exception {
        try (ScriptedReceiver r = new ScriptedReceiver(List.of("PIPELINING"), null);
             OutboundSession s = open(target("127.0.0.1", r.port(), OutboundTls.OPPORTUNISTIC))) {
            Envelope e = new Envelope("alice@example.org", List.of("carol@remote.test"), 100, Body.EIGHT_BIT_MIME, false);
            assertThat(s.send(e, content()).get(0).reply()).startsWith("5.6.3 ");
            assertThat(r.commands()).noneMatch(c -> c.startsWith("MAIL"));
        }
    }

    @Test
    void messageLargerThanTheAnnouncedSizeFailsAtOnce() throws Exception {
        try (ScriptedReceiver r = new ScriptedReceiver(List.of("SIZE 100"), null);
             OutboundSession s = open(target("127.0.0.1", r.port(), OutboundTls.OPPORTUNISTIC))) {
            List<Outcome> o = s.send(envelope("carol@remote.test"), content());
            assertThat(o.get(0)).isInstanceOf(Failed.class);
            assertThat(o.get(0).reply()).startsWith("5.3.4 ");
            assertThat(r.commands()).noneMatch(c -> c.startsWith("MAIL"));
        }
    }

    @Test
    void sizeIsDeclaredWhenTheReceiverOffersIt() throws Exception {
        try (ScriptedReceiver r = new ScriptedReceiver(List.of("SIZE 10000000", "8BITMIME"), null);
             OutboundSession s = open(target("127.0.0.1", r.port(), OutboundTls.OPPORTUNISTIC))) {
            Envelope e = new Envelope("alice@example.org", List.of("carol@remote.test"), MESSAGE.length(), Body.EIGHT_BIT_MIME, false);
            assertThat(s.send(e, content())).allMatch(o -> o instanceof Delivered);
            assertThat(r.commands()).contains("MAIL FROM:<alice@example.org> SIZE=" + MESSAGE.length() + " BODY=8BITMIME");
        }
    }

    @Test
    void opportunisticTlsUsesStartTlsWithAnyCertificate() throws Exception {
        try (ScriptedReceiver r = new ScriptedReceiver(List.of("PIPELINING"), pki.server());
             OutboundSession s = open(target("mx.other-name.test", r.port(), OutboundTls.OPPORTUNISTIC))) {
            assertThat(s.send(envelope("carol@remote.test"), content())).allMatch(o -> o instanceof Delivered);
            assertThat(s.tls()).startsWith("TLSv1.3/TLS_");
            assertThat(r.commands()).startsWith("EHLO castellan.test", "STARTTLS", "(TLS TLSv1.3)", "EHLO castellan.test");
        }
    }

    @Test
    void requireTlsToAReceiverWithoutStartTlsSendsNothingInClear() throws Exception {
        try (ScriptedReceiver r = new ScriptedReceiver(List.of("PIPELINING"), null)) {
            assertThatThrownBy(() -> open(target("127.0.0.1", r.port(), OutboundTls.REQUIRE)))
                    .isInstanceOf(Failure.class).hasMessageStartingWith("4.7.4 TLS required but not offered");
            org.awaitility.Awaitility.await().until(() -> r.commands().contains("QUIT"));
            assertThat(r.commands()).containsExactly("EHLO castellan.test", "QUIT");
        }
    }

    @Test
    void verifyNameRefusesACertificateForAnotherName() throws Exception {
        try (ScriptedReceiver r = new ScriptedReceiver(List.of("PIPELINING"), pki.server())) {
            Target t = new Target("mx.wrong-name.test", new InetSocketAddress(InetAddress.getLoopbackAddress(), r.port()),
                    OutboundTls.VERIFY_NAME, Optional.of(pki.trustFile()), false);
            assertThatThrownBy(() -> open(t)).isInstanceOf(Failure.class).hasMessageStartingWith("4.7.5 ")
                    .satisfies(f -> assertThat(((Failure) f).handshake()).isTrue());
            assertThat(r.commands()).noneMatch(c -> c.startsWith("MAIL"));
        }
    }

    @Test
    void verifyNameAcceptsTheRightNameFromTheRoutesCa() throws Exception {
        try (ScriptedReceiver r = new ScriptedReceiver(List.of("PIPELINING"), pki.server())) {
            Target t = new Target("localhost", new InetSocketAddress(InetAddress.getLoopbackAddress(), r.port()),
                    OutboundTls.VERIFY_NAME, Optional.of(pki.trustFile()), false);
            try (OutboundSession s = open(t)) {
                assertThat(s.send(envelope("carol@remote.test"), content())).allMatch(o -> o instanceof Delivered);
                assertThat(s.tls()).startsWith("TLSv1.3");
            }
        }
    }

    @Test
    void verifyNameRefusesACertificateFromAnUntrustedCa() throws Exception {
        try (ScriptedReceiver r = new ScriptedReceiver(List.of("PIPELINING"), pki.server())) {
            assertThatThrownBy(() -> open(target("localhost", r.port(), OutboundTls.VERIFY_NAME)))
                    .isInstanceOf(Failure.class).hasMessageStartingWith("4.7.5 ");
        }
    }

    @Test
    void aReceiverThatNeverAnswersTimesOut() throws Exception {
        try (ScriptedReceiver r = new ScriptedReceiver(List.of(), null).greeting(ScriptedReceiver.SILENCE)) {
            Target t = target("127.0.0.1", r.port(), OutboundTls.OPPORTUNISTIC);
            assertThatThrownBy(() -> OutboundSession.open(t, settings(Duration.ofMillis(500)), "castellan.test"))
                    .isInstanceOf(Failure.class).hasMessageContaining("4.4.2").hasMessageContaining("timed out");
        }
    }

    @Test
    void aReplyWithoutEndEndsTheSession() throws Exception {
        String endless = "250-line\r\n".repeat(150) + "250 last";
        try (ScriptedReceiver r = new ScriptedReceiver(List.of(), null).script((c, n) -> c.startsWith("EHLO") ? endless : null)) {
            assertThatThrownBy(() -> open(target("127.0.0.1", r.port(), OutboundTls.OPPORTUNISTIC)))
                    .isInstanceOf(Failure.class).hasMessageContaining("more than 100 lines");
        }
    }

    @Test
    void aReplyLineOver512OctetsEndsTheSession() throws Exception {
        try (ScriptedReceiver r = new ScriptedReceiver(List.of(), null).greeting("220 " + "x".repeat(600))) {
            assertThatThrownBy(() -> open(target("127.0.0.1", r.port(), OutboundTls.OPPORTUNISTIC)))
                    .isInstanceOf(Failure.class).hasMessageContaining("longer than 512 octets");
        }
    }

    @Test
    void aHandshakeFailureUnderOpportunisticTlsIsMarkedForACleartextRetry() throws Exception {
        try (ScriptedReceiver r = new ScriptedReceiver(List.of("STARTTLS"), null)
                .script((c, n) -> c.equals("STARTTLS") ? "220 2.0.0 go ahead\r\nthis is not TLS" : null)) {
            Target t = target("127.0.0.1", r.port(), OutboundTls.OPPORTUNISTIC);
            assertThatThrownBy(() -> open(t)).isInstanceOf(Failure.class)
                    .satisfies(f -> assertThat(((Failure) f).handshake()).isTrue());
            Target again = new Target(t.host(), t.address(), t.tls(), t.caFile(), true);
            try (OutboundSession s = open(again)) {
                assertThat(s.send(envelope("carol@remote.test"), content())).allMatch(o -> o instanceof Delivered);
                assertThat(s.tls()).isEqualTo("none");
            }
        }
    }

    private static Envelope withDsn() {
        return new Envelope("alice@example.org", List.of("carol@remote.test", "dave@remote.test"), MESSAGE.length(),
                Body.SEVEN_BIT, false, Dsn.Ret.HDRS, Optional.of("QQ 314+159"),
                List.of(EnumSet.of(Dsn.Notify.SUCCESS, Dsn.Notify.FAILURE), EnumSet.noneOf(Dsn.Notify.class)),
                List.of(Optional.of("rfc822;carol+list@remote.test"), Optional.empty()));
    }

    @Test
    void aDsnReceiverGetsTheSubmittersRfc3461Parameters() throws Exception {
        try (ScriptedReceiver r = new ScriptedReceiver(List.of("PIPELINING", "DSN"), null);
             OutboundSession s = open(target("127.0.0.1", r.port(), OutboundTls.OPPORTUNISTIC))) {
            assertThat(s.send(withDsn(), content())).allMatch(o -> o instanceof Delivered);
            // RFC 3461 §4: ENVID and ORCPT in xtext, "+" and space written as +2B and +20.
            assertThat(r.commands()).contains("MAIL FROM:<alice@example.org> RET=HDRS ENVID=QQ+20314+2B159",
                    "RCPT TO:<carol@remote.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;carol+2Blist@remote.test",
                    "RCPT TO:<dave@remote.test> NOTIFY=NEVER");
        }
    }

    @Test
    void aReceiverWithoutDsnGetsNoRfc3461Parameters() throws Exception {
        try (ScriptedReceiver r = new ScriptedReceiver(List.of("PIPELINING"), null);
             OutboundSession s = open(target("127.0.0.1", r.port(), OutboundTls.OPPORTUNISTIC))) {
            assertThat(s.send(withDsn(), content())).allMatch(o -> o instanceof Delivered);
            assertThat(r.commands()).contains("MAIL FROM:<alice@example.org>", "RCPT TO:<carol@remote.test>",
                    "RCPT TO:<dave@remote.test>");
        }
    }
}
