package org.castellan.server.outbound;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.EnumSet;
import java.util.List;
import java.util.Optional;
import org.castellan.protocol.smtp.Dsn;
import org.castellan.server.config.Outbound;
import org.castellan.server.config.OutboundTls;
import org.castellan.store.postgres.PostgresStore;
import org.castellan.store.queue.NewQueuedMessage;
import org.castellan.store.queue.NewQueuedRecipient;
import org.castellan.protocol.smtp.SmtpCommand.Body;
import org.castellan.store.queue.RecipientState;
import org.castellan.testkit.MutableClock;
import org.castellan.testkit.Postgres;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two nodes' engines on one PostgreSQL queue (docs/store.md, "Failure"): a node's long delivery
 * keeps its lease by renewing it, and when the node dies its recipients are taken over by the
 * other within minutes, not after an hour. The clock is the test's; the receivers are real.
 */
class PostgresLeaseTest {

    /** What the issue asks of a takeover: minutes. */
    private static final Duration TAKEOVER = Duration.ofMinutes(10);

    private static final String MESSAGE = "From: alice@example.org\r\nTo: carol@remote.test\r\nSubject: lease\r\n\r\nHi.\r\n";

    @TempDir Path dir;
    private Postgres postgres;
    private String url;
    private PostgresStore nodeA;
    private PostgresStore nodeB;
    private OutboundEngine engineA;
    private OutboundEngine engineB;
    private final MutableClock clock = new MutableClock(Instant.now().truncatedTo(ChronoUnit.SECONDS));

    @BeforeEach
    void open() throws Exception {
        postgres = Postgres.start();
        url = postgres.jdbcUrl();
        nodeA = PostgresStore.open(url, postgres.user(), postgres.password(), 2);
        nodeB = PostgresStore.open(url, postgres.user(), postgres.password(), 2);
    }

    @AfterEach
    void close() {
        if (engineA != null) engineA.close();
        if (engineB != null) engineB.close();
        if (nodeA != null) nodeA.close();
        if (nodeB != null) nodeB.close();
        if (postgres != null) postgres.close();
    }

    @Test
    void aLiveNodeKeepsItsLeaseAndADeadNodesRecipientsAreTakenOverWithinMinutes() throws Exception {
        try (ScriptedReceiver silent = new ScriptedReceiver(List.of(), null).greeting(ScriptedReceiver.SILENCE);
                SmtpSink sink = new SmtpSink(dir.resolve("sink"))) {
            long id = nodeA.enqueue(new NewQueuedMessage("alice@example.org", Optional.empty(), Dsn.Ret.UNSPECIFIED,
                    Body.SEVEN_BIT, false, false, Optional.of("alice@example.org"), "127.0.0.1 test", clock.instant(),
                    List.of(new NewQueuedRecipient("carol@remote.test", EnumSet.of(Dsn.Notify.FAILURE), Optional.empty()))),
                    new ByteArrayInputStream(MESSAGE.getBytes(StandardCharsets.UTF_8))).id();

            // Node A's attempt waits for a greeting that never comes (its timeout is far away).
            engineA = new OutboundEngine(nodeA, Optional.empty(), settings(silent.port(), Duration.ofMinutes(5)), "a.test",
                    clock).start();
            await().until(() -> silent.connections.get() == 1);

            // Alive, it renews: twice the takeover time later node B still finds nothing due.
            for (Duration passed = Duration.ZERO; passed.compareTo(TAKEOVER.multipliedBy(2)) < 0;
                    passed = passed.plus(OutboundEngine.LEASE_RENEWAL)) {
                clock.advance(OutboundEngine.LEASE_RENEWAL);
                Instant renewedTo = clock.instant().plus(OutboundEngine.LEASE);
                engineA.wake();
                await().until(() -> leaseUntil().equals(renewedTo));
            }
            assertThat(nodeB.lease(clock.instant(), clock.instant().plus(OutboundEngine.LEASE), 10)).isEmpty();

            // Node A dies in the middle of the attempt: nothing releases its lease.
            engineA.close();
            engineA = null;
            clock.advance(TAKEOVER);
            engineB = new OutboundEngine(nodeB, Optional.empty(), settings(sink.port, Duration.ofSeconds(20)), "b.test",
                    clock).start();
            await().atMost(Duration.ofSeconds(30)).until(() -> state(id) == RecipientState.DELIVERED);
            assertThat(sink.awaitMessages(1, "Hi.")).singleElement().asString().contains("Subject: lease");
        }
    }

    private static Outbound settings(int port, Duration timeout) {
        return OutboundSessionTest.settings(timeout).withRoutes(List.of(new Outbound.Route("remote.test",
                List.of(new Outbound.NextHop("127.0.0.1", port)), OutboundTls.OPPORTUNISTIC, Optional.empty())));
    }

    private RecipientState state(long messageId) {
        return nodeB.get(messageId).orElseThrow().recipients().get(0).state();
    }

    private Instant leaseUntil() throws Exception {
        try (Connection c = DriverManager.getConnection(url, postgres.user(), postgres.password());
                Statement s = c.createStatement();
                ResultSet rs = s.executeQuery("SELECT lease_until FROM queue_recipients")) {
            rs.next();
            return rs.getTimestamp(1) == null ? Instant.EPOCH : rs.getTimestamp(1).toInstant();
        }
    }
}
