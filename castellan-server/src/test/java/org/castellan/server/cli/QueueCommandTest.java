package org.castellan.server.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.EnumSet;
import java.util.List;
import java.util.Optional;
import org.castellan.protocol.mail.EmailAddress;
import org.castellan.protocol.smtp.Dsn;
import org.castellan.protocol.smtp.SmtpCommand;
import org.castellan.server.testing.EngineIdle;
import org.castellan.store.MailStore;
import org.castellan.store.UidRange;
import org.castellan.store.queue.AttemptResult;
import org.castellan.store.queue.NewQueuedMessage;
import org.castellan.store.queue.NewQueuedRecipient;
import org.castellan.store.queue.OutboundQueue;
import org.castellan.store.queue.QueuedMessage;
import org.castellan.store.queue.QueuedRecipient;
import org.castellan.store.queue.RecipientState;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code castellan queue list|show|hold|release|retry|delete|bounce} against a running server whose
 * queue holds messages for a domain with no route, with results recorded as the engine records them.
 */
class QueueCommandTest {

    /** RFC 2606: never resolves, so nothing is ever really sent. */
    private static final String REMOTE = "nowhere.invalid";

    @TempDir Path tmp;
    LiveServer live;

    @AfterEach
    void stop() {
        if (live != null) live.close();
    }

    @Test
    void withoutARunningServerItSaysSoInOneLine() {
        Cli cli = Cli.init(tmp.resolve("data"), LiveServer.ACCOUNT);
        for (String[] args : new String[][] {{"queue", "list"}, {"queue", "show", "1"}, {"queue", "bounce", "1"}}) {
            Cli.Run r = cli.admin(args);
            assertThat(r.code()).isEqualTo(Main.FAILURE);
            assertThat(r.err().strip()).contains("no Castellan server is running").doesNotContain("\n", "Exception");
        }
    }

    @Test
    void listShowHoldReleaseRetryAndDelete() throws Exception {
        live = LiveServer.start(tmp.resolve("data"));
        EngineIdle.await(); // the engine attempts none of these messages
        OutboundQueue queue = (OutboundQueue) live.server.store();
        QueuedMessage report = enqueue(queue, LiveServer.ACCOUNT, "bob@" + REMOTE, "carol@" + REMOTE);
        QueuedMessage bounce = enqueue(queue, "", "dave@" + REMOTE);
        Instant at = Instant.now();
        queue.record(List.of(new AttemptResult(recipient(report, "bob@" + REMOTE).id(), RecipientState.QUEUED, at,
                Optional.of(at.plus(Duration.ofHours(2))), "451 4.3.0 <bob@nowhere.invalid>: try again later",
                Optional.of("mx1." + REMOTE))));

        Cli.Run list = live.cli.admin("queue", "list");
        assertThat(list.code()).as(list.err()).isZero();
        String[] lines = list.out().strip().split("\n");
        assertThat(lines).hasSize(3);
        assertThat(lines[0]).contains("ID", "SENDER", "QUEUED", "NEXT ATTEMPT", "HELD");
        // The next attempt a message shows is the earliest of its recipients': carol's, not bob's in two hours.
        Instant carolsNext = recipient(queue.get(report.id()).orElseThrow(), "carol@" + REMOTE).nextAttempt();
        assertThat(lines[1].split("\\s+")).startsWith(Long.toString(report.id()), report.arrival().toString(),
                Long.toString(report.size()), "<" + LiveServer.ACCOUNT + ">", "2", "0", "0", carolsNext.toString());
        assertThat(lines[2].split("\\s+")).startsWith(Long.toString(bounce.id())).contains("<>");
        Cli.Run one = live.cli.admin("queue", "list", "--limit", "1");
        assertThat(one.out().strip().split("\n")).as(one.err()).hasSize(2);

        Cli.Run show = live.cli.admin("queue", "show", Long.toString(report.id()));
        assertThat(show.code()).as(show.err()).isZero();
        assertThat(show.out()).contains("message " + report.id(), "<" + LiveServer.ACCOUNT + ">", "ret            FULL",
                "envid          env-7", "tls report     no", "submitter      " + LiveServer.ACCOUNT,
                "bob@nowhere.invalid  QUEUED  attempts 1  next " + at.plus(Duration.ofHours(2)).truncatedTo(
                        java.time.temporal.ChronoUnit.MILLIS),
                "451 4.3.0 <bob@nowhere.invalid>: try again later (host mx1.nowhere.invalid)",
                "carol@nowhere.invalid  QUEUED  attempts 0", "notify FAILURE,DELAY", "orcpt rfc822;carol@nowhere.invalid");

        Cli.Run hold = live.cli.admin("queue", "hold", Long.toString(report.id()));
        assertThat(hold.out()).as(hold.err()).contains("held message " + report.id());
        assertThat(queue.get(report.id()).orElseThrow().held()).isTrue();
        assertThat(live.cli.admin("queue", "list").out().strip().split("\n")[1]).endsWith("held");
        assertThat(queue.lease(Instant.now(), Instant.now().plusSeconds(60), 10))
                .as("a held message is not attempted").allMatch(d -> d.message().id() != report.id());

        Cli.Run release = live.cli.admin("queue", "release", Long.toString(report.id()));
        assertThat(release.out()).as(release.err()).contains("released message " + report.id());
        assertThat(queue.get(report.id()).orElseThrow().held()).isFalse();

        Cli.Run retry = live.cli.admin("queue", "retry", Long.toString(report.id()));
        assertThat(retry.out()).as(retry.err()).contains("message " + report.id() + " is due now");
        assertThat(queue.get(report.id()).orElseThrow().recipients())
                .allMatch(r -> !r.nextAttempt().isAfter(Instant.now()));

        Cli.Run delete = live.cli.admin("queue", "delete", Long.toString(bounce.id()));
        assertThat(delete.out()).as(delete.err()).contains("deleted message " + bounce.id());
        assertThat(queue.get(bounce.id())).isEmpty();
        assertThat(live.cli.admin("queue", "list").out()).doesNotContain("<>");
    }

    @Test
    void bounceFailsTheQueuedRecipientsAndTheSenderGetsItsBounce() throws Exception {
        live = LiveServer.start(tmp.resolve("data"));
        EngineIdle.await(); // the engine attempts none of these messages
        OutboundQueue queue = (OutboundQueue) live.server.store();
        QueuedMessage m = enqueue(queue, LiveServer.ACCOUNT, "bob@" + REMOTE, "carol@" + REMOTE);
        Instant at = Instant.now();
        queue.record(List.of(new AttemptResult(recipient(m, "carol@" + REMOTE).id(), RecipientState.DELIVERED, at,
                Optional.empty(), "250 2.0.0 Ok", Optional.of("mx1." + REMOTE))));

        assertThat(live.cli.admin("queue", "list").out().strip().split("\n")[1].split("\\s+"))
                .as("one recipient queued, one delivered, none failed")
                .startsWith(Long.toString(m.id()), m.arrival().toString(), Long.toString(m.size()),
                        "<" + LiveServer.ACCOUNT + ">", "1", "1", "0");
        Cli.Run bounce = live.cli.admin("queue", "bounce", Long.toString(m.id()));
        assertThat(bounce.code()).as(bounce.err()).isZero();
        assertThat(bounce.out()).contains("bounced 1 recipient(s) of message " + m.id());

        // The notifier is told at once; its timer would get there only within a minute.
        await().atMost(Duration.ofSeconds(30)).until(() -> inbox().size() == 1);
        String text = new String(inbox().getFirst(), StandardCharsets.UTF_8);
        assertThat(text).contains("Final-Recipient: rfc822;bob@" + REMOTE, "Action: failed", "Status: 5.0.0",
                "bounced by the operator").doesNotContain("Final-Recipient: rfc822;carol@");
        await().atMost(Duration.ofSeconds(30)).until(() -> queue.get(m.id()).isEmpty());
        assertThat(live.cli.admin("queue", "list").out().strip().split("\n")).hasSize(1);
    }

    @Test
    void unknownAndMalformedIdsAreRefusedInOneLine() throws Exception {
        live = LiveServer.start(tmp.resolve("data"));
        for (String command : new String[] {"show", "retry", "hold", "release", "delete", "bounce"}) {
            Cli.Run unknown = live.cli.admin("queue", command, "424242");
            assertThat(unknown.code()).as(command).isEqualTo(Main.BAD_INPUT);
            assertThat(unknown.err().strip()).isEqualTo("castellan: no message 424242 in the queue; 'castellan queue list' lists them");
            for (String bad : new String[] {"abc", "-1", "0", "99999999999999999999"}) {
                Cli.Run r = live.cli.admin("queue", command, bad);
                assertThat(r.code()).as(command + " " + bad).isEqualTo(Main.BAD_INPUT);
                assertThat(r.err()).contains("is not a queue message id").doesNotContain("Exception");
            }
        }
    }

    private static QueuedMessage enqueue(OutboundQueue queue, String sender, String... recipients) {
        List<NewQueuedRecipient> rs = java.util.Arrays.stream(recipients).map(r -> new NewQueuedRecipient(r,
                EnumSet.of(Dsn.Notify.FAILURE, Dsn.Notify.DELAY), Optional.of("rfc822;" + r))).toList();
        String content = "From: Alice <alice@example.org>\r\nTo: " + String.join(", ", recipients)
                + "\r\nSubject: queued\r\n\r\nHello.\r\n";
        return queue.enqueue(new NewQueuedMessage(sender, Optional.of("env-7"), Dsn.Ret.FULL, SmtpCommand.Body.SEVEN_BIT,
                false, false, sender.isEmpty() ? Optional.empty() : Optional.of(sender), "127.0.0.1", Instant.now(), rs),
                new ByteArrayInputStream(content.getBytes(StandardCharsets.US_ASCII)));
    }

    private List<byte[]> inbox() throws Exception {
        MailStore store = live.server.store();
        long account = store.getAccount(EmailAddress.of(LiveServer.ACCOUNT)).orElseThrow().id();
        long inbox = store.getMailbox(account, "INBOX").orElseThrow().id();
        List<byte[]> out = new java.util.ArrayList<>();
        for (var meta : store.listMessages(inbox, UidRange.all())) {
            try (var in = store.openMessage(inbox, meta.uid())) {
                out.add(in.readAllBytes());
            }
        }
        return out;
    }

    private static QueuedRecipient recipient(QueuedMessage m, String address) {
        return m.recipients().stream().filter(r -> r.address().equals(address)).findFirst().orElseThrow();
    }
}
