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
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import org.castellan.protocol.smtp.Dsn;
import org.castellan.protocol.smtp.SmtpCommand.Body;
import org.castellan.protocol.smtp.SmtpError;
import org.castellan.server.config.Dns;
import org.castellan.server.config.Outbound;
import org.castellan.server.dns.DnsResolver;
import org.castellan.store.embedded.EmbeddedMailStore;
import org.castellan.store.queue.NewQueuedMessage;
import org.castellan.store.queue.NewQueuedRecipient;
import org.castellan.store.queue.QueuedRecipient;
import org.castellan.store.queue.RecipientState;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.MXRecord;
import org.xbill.DNS.Name;
import org.xbill.DNS.Record;

/**
 * MX routing (RFC 5321 §5.1, RFC 7505) through the real resolver and a DNS server on loopback:
 * the hosts in preference order, the first one down, the second up on port 25; a null MX and a
 * missing domain refused at RCPT time and failed in the queue (docs/outbound.md §1, §3).
 */
class MxRoutingTest {

    private static final long TTL = 300;
    /** Loopback addresses of their own, so that port 25 is free on them. */
    private static final String DOWN = "127.0.25.1";
    private static final String UP = "127.0.25.2";

    @TempDir Path dir;
    ZoneDnsServer dns;
    EmbeddedMailStore store;
    OutboundEngine engine;

    private static Name name(String n) throws Exception {
        return Name.fromString(n);
    }

    @BeforeEach
    void start() throws Exception {
        Map<Name, List<Record>> zone = Map.of(
                name("mx.test."), List.of(new MXRecord(name("mx.test."), DClass.IN, TTL, 20, name("up.mx.test.")),
                        new MXRecord(name("mx.test."), DClass.IN, TTL, 10, name("down.mx.test."))),
                name("down.mx.test."), List.of(new ARecord(name("down.mx.test."), DClass.IN, TTL, InetAddress.getByName(DOWN))),
                name("up.mx.test."), List.of(new ARecord(name("up.mx.test."), DClass.IN, TTL, InetAddress.getByName(UP))),
                // RFC 7505 §3: a single MX of preference 0 and an empty exchange
                name("nullmx.test."), List.of(new MXRecord(name("nullmx.test."), DClass.IN, TTL, 0, Name.root)));
        dns = new ZoneDnsServer(zone);
        store = EmbeddedMailStore.open(Files.createDirectories(dir.resolve("mail")));
        DnsResolver resolver = new DnsResolver(new Dns(List.of(dns.address()), Optional.empty(), false, Duration.ofSeconds(2)),
                new Random(1));
        engine = new OutboundEngine(store, Optional.of(resolver), OutboundSessionTest.settings(Duration.ofSeconds(5)),
                "castellan.test", Clock.systemUTC());
    }

    @AfterEach
    void stop() {
        engine.close();
        store.close();
        dns.close();
    }

    private long enqueue(String recipient) {
        NewQueuedMessage m = new NewQueuedMessage("alice@example.org", Optional.empty(), Dsn.Ret.UNSPECIFIED, Body.SEVEN_BIT,
                false, false, Optional.empty(), "test", Clock.systemUTC().instant(),
                List.of(new NewQueuedRecipient(recipient, EnumSet.of(Dsn.Notify.FAILURE), Optional.empty())));
        return store.enqueue(m, new ByteArrayInputStream("Subject: mx\r\n\r\nHi.\r\n".getBytes(StandardCharsets.US_ASCII))).id();
    }

    private QueuedRecipient attempted(long id) {
        await().atMost(Duration.ofSeconds(30)).until(() -> store.get(id).orElseThrow().recipients().get(0).attempts() > 0);
        return store.get(id).orElseThrow().recipients().get(0);
    }

    @Test
    void theHostsAreTriedInPreferenceOrderUntilOneAnswers() throws Exception {
        try (ScriptedReceiver up = new ScriptedReceiver(new InetSocketAddress(InetAddress.getByName(UP), Router.SMTP_PORT),
                List.of("PIPELINING"), null)) {
            long id = enqueue("carol@mx.test");
            engine.start();
            QueuedRecipient r = attempted(id);
            assertThat(r.state()).isEqualTo(RecipientState.DELIVERED);
            assertThat(r.lastHost()).contains("up.mx.test[" + UP + "]:25");
            assertThat(up.commands()).contains("RCPT TO:<carol@mx.test>");
        }
    }

    @Test
    void aNullMxAndAMissingDomainAreRefusedAtRcpt() {
        // RFC 7505 §4.1: 556 5.1.10; RFC 3463 §3.2: 5.1.2 bad destination system address.
        assertThat(engine.refusal("nullmx.test")).map(SmtpError::code).contains(556);
        assertThat(engine.refusal("nullmx.test")).map(SmtpError::status).contains("5.1.10");
        assertThat(engine.refusal("gone.test")).map(SmtpError::status).contains("5.1.2");
        assertThat(engine.refusal("mx.test")).isEmpty();
    }

    @Test
    void aQueuedRecipientOfANullMxDomainFails() {
        long id = enqueue("carol@nullmx.test");
        engine.start();
        QueuedRecipient r = attempted(id);
        assertThat(r.state()).isEqualTo(RecipientState.FAILED);
        assertThat(r.lastReply()).hasValueSatisfying(reply -> assertThat(reply).startsWith("5.1.10 "));
    }
}
