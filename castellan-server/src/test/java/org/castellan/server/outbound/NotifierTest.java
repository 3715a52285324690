package org.castellan.server.outbound;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import org.castellan.protocol.imap.FetchAttribute;
import org.castellan.protocol.imap.MessageStructure;
import org.castellan.protocol.smtp.Dsn;
import org.castellan.protocol.smtp.SmtpCommand;
import org.castellan.server.config.Outbound;
import org.castellan.server.testing.EngineIdle;
import org.castellan.server.testing.ExternalClient;
import org.castellan.server.testing.TestServer;
import org.castellan.store.queue.AttemptResult;
import org.castellan.store.queue.NewQueuedMessage;
import org.castellan.store.queue.NewQueuedRecipient;
import org.castellan.store.queue.OutboundQueue;
import org.castellan.store.queue.QueuedMessage;
import org.castellan.store.queue.QueuedRecipient;
import org.castellan.store.queue.RecipientState;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Delivery status notifications (RFC 3461, RFC 3464) made from the queue of a real server: the
 * messages are enqueued through the store's {@link OutboundQueue} for a domain with no route, and
 * results are recorded as the delivery engine records them, so no network is needed; the server's
 * own engine is asleep first ({@link EngineIdle}) and attempts none of them.
 */
class NotifierTest {

    /** RFC 2606: a domain that never resolves. */
    private static final String REMOTE = "nowhere.invalid";
    private static final Set<Dsn.Notify> DEFAULT_NOTIFY = EnumSet.of(Dsn.Notify.FAILURE, Dsn.Notify.DELAY);

    @TempDir Path dir;
    TestServer server;
    OutboundQueue queue;
    Notifier notifier;

    @BeforeEach
    void start() {
        server = TestServer.start(dir, TestServer.listener("mx", "smtp", "starttls", false));
        queue = (OutboundQueue) server.server().store();
        notifier = server.server().notifier().orElseThrow();
        EngineIdle.await();
    }

    @AfterEach
    void stop() {
        if (server != null) server.server().close();
    }

    @Test
    void aFailedRecipientOfALocalSenderGetsOneBounceInItsInboxWithTheHeaderSection() throws Exception {
        int before = inbox().size();
        QueuedMessage m = enqueue(TestServer.USER, Dsn.Ret.HDRS, Optional.of("QQ314159"), Instant.now(),
                new NewQueuedRecipient("bob@" + REMOTE, DEFAULT_NOTIFY, Optional.of("rfc822;Bob@" + REMOTE)),
                new NewQueuedRecipient("carol@" + REMOTE, DEFAULT_NOTIFY, Optional.empty()));
        record(result(m, "bob@" + REMOTE, RecipientState.FAILED, "550 5.1.1 <bob@nowhere.invalid>: Recipient address rejected"),
                result(m, "carol@" + REMOTE, RecipientState.QUEUED, "451 4.3.0 try again later"));

        notifier.runOnce();

        List<byte[]> inbox = inbox();
        assertThat(inbox).hasSize(before + 1);
        byte[] bounce = inbox.getLast();
        String text = new String(bounce, StandardCharsets.UTF_8);
        assertThat(text).startsWith("Return-Path: <>\r\n").contains("Auto-Submitted: auto-replied\r\n");
        MessageStructure s = MessageStructure.parse(bounce);
        assertThat(s.header("Content-Type").orElseThrow()).contains("multipart/report", "report-type=delivery-status");
        assertThat(mimeHeader(s, bounce, 2)).contains("message/delivery-status");
        String status = statusPart(s, bounce);
        assertThat(status).contains("Original-Envelope-Id: QQ314159", "Reporting-MTA: dns; localhost",
                "Original-Recipient: rfc822;Bob@" + REMOTE, "Final-Recipient: rfc822;bob@" + REMOTE,
                "Action: failed", "Status: 5.1.1",
                "Diagnostic-Code: smtp; 550 5.1.1 <bob@nowhere.invalid>: Recipient address rejected",
                "Remote-MTA: dns; mx." + REMOTE);
        assertThat(status).as("the deferred recipient is not in the bounce").doesNotContain("carol");
        // RFC 3461 §4.3 RET=HDRS: the header section only.
        assertThat(mimeHeader(s, bounce, 3)).contains("text/rfc822-headers");
        assertThat(part(s, bounce, 3)).contains("Subject: Quarterly report").doesNotContain("Please find");

        Map<String, List<String>> python = python(bounce);
        assertThat(python.get("type")).containsExactly("multipart/report delivery-status");
        assertThat(python.get("recipient")).containsExactly(
                "rfc822;bob@nowhere.invalid|failed|5.1.1|smtp; 550 5.1.1 <bob@nowhere.invalid>: Recipient address rejected");
        assertThat(python.get("returned")).containsExactly("text/rfc822-headers");

        QueuedMessage after = queue.get(m.id()).orElseThrow();
        assertThat(recipient(after, "bob@" + REMOTE).finalReported()).isTrue();
        assertThat(recipient(after, "carol@" + REMOTE).finalReported()).isFalse();
        assertThat(notifier.runOnce().notifications()).as("never twice").isZero();
        assertThat(inbox()).hasSize(before + 1);
    }

    @Test
    void retFullReturnsTheWholeMessageAndTheFinishedMessageIsPurged() throws Exception {
        int before = inbox().size();
        QueuedMessage m = enqueue(TestServer.USER, Dsn.Ret.FULL, Optional.empty(), Instant.now(),
                new NewQueuedRecipient("bob@" + REMOTE, DEFAULT_NOTIFY, Optional.empty()));
        record(result(m, "bob@" + REMOTE, RecipientState.FAILED, "552 5.2.2 mailbox full"));

        notifier.runOnce();
        assertThat(queue.get(m.id())).as("finished and purged").isEmpty();

        byte[] bounce = inbox().getLast();
        assertThat(inbox()).hasSize(before + 1);
        MessageStructure s = MessageStructure.parse(bounce);
        assertThat(mimeHeader(s, bounce, 3)).contains("message/rfc822");
        assertThat(part(s, bounce, 3)).isEqualTo(new String(content(), StandardCharsets.UTF_8));
        assertThat(python(bounce).get("returned")).containsExactly("message/rfc822");
    }

    @Test
    void aMessageFromTheNullSenderNeverGetsANotification() {
        int before = inbox().size();
        QueuedMessage m = enqueue("", Dsn.Ret.FULL, Optional.empty(), Instant.now().minus(Duration.ofHours(6)),
                new NewQueuedRecipient("bob@" + REMOTE, EnumSet.allOf(Dsn.Notify.class), Optional.empty()),
                new NewQueuedRecipient("carol@" + REMOTE, EnumSet.allOf(Dsn.Notify.class), Optional.empty()));
        record(result(m, "bob@" + REMOTE, RecipientState.FAILED, "550 5.1.1 no such user"),
                result(m, "carol@" + REMOTE, RecipientState.QUEUED, "451 4.3.0 later"));

        assertThat(notifier.runOnce().notifications()).isZero();
        assertThat(inbox()).hasSize(before);
        assertThat(queue.list(100)).extracting(QueuedMessage::id).containsExactly(m.id());
        QueuedMessage after = queue.get(m.id()).orElseThrow();
        assertThat(recipient(after, "bob@" + REMOTE).finalReported()).isTrue();
        assertThat(recipient(after, "carol@" + REMOTE).delayReported()).isTrue();
    }

    @Test
    void notifyNeverGetsNothingAndDefaultNotifyGetsNoSuccessReport() {
        int before = inbox().size();
        QueuedMessage never = enqueue(TestServer.USER, Dsn.Ret.HDRS, Optional.empty(), Instant.now(),
                new NewQueuedRecipient("bob@" + REMOTE, Set.of(), Optional.empty()));
        QueuedMessage delivered = enqueue(TestServer.USER, Dsn.Ret.HDRS, Optional.empty(), Instant.now(),
                new NewQueuedRecipient("bob@" + REMOTE, DEFAULT_NOTIFY, Optional.empty()));
        record(result(never, "bob@" + REMOTE, RecipientState.FAILED, "550 5.1.1 no such user"),
                result(delivered, "bob@" + REMOTE, RecipientState.DELIVERED, "250 2.0.0 Ok: queued as 4711"));

        notifier.runOnce();
        assertThat(inbox()).hasSize(before);
        assertThat(queue.get(never.id())).isEmpty();
        assertThat(queue.get(delivered.id())).isEmpty();
    }

    @Test
    void notifySuccessGetsARelayedReportWithTheHeaderSectionEvenWithRetFull() throws Exception {
        QueuedMessage m = enqueue(TestServer.USER, Dsn.Ret.FULL, Optional.of("env-7"), Instant.now(),
                new NewQueuedRecipient("bob@" + REMOTE, EnumSet.of(Dsn.Notify.SUCCESS, Dsn.Notify.FAILURE), Optional.empty()));
        record(result(m, "bob@" + REMOTE, RecipientState.DELIVERED, "250 2.6.0 Ok: queued as 4711"));

        notifier.runOnce();
        byte[] report = inbox().getLast();
        MessageStructure s = MessageStructure.parse(report);
        assertThat(s.header("Subject").orElseThrow()).contains("Success");
        // RFC 3464 §2.3.3: the receiver did not take over the duty to report, so "relayed".
        assertThat(statusPart(s, report)).contains("Final-Recipient: rfc822;bob@" + REMOTE, "Action: relayed",
                "Status: 2.6.0", "Original-Envelope-Id: env-7");
        // RFC 3461 §4.3: RET applies to failures only.
        assertThat(mimeHeader(s, report, 3)).contains("text/rfc822-headers");
        assertThat(python(report).get("recipient")).containsExactly(
                "rfc822;bob@nowhere.invalid|relayed|2.6.0|smtp; 250 2.6.0 Ok: queued as 4711");
        assertThat(queue.get(m.id())).isEmpty();
    }

    @Test
    void aDelayWarningComesOnceAfterTheDelayAndNotForAYoungMessage() throws Exception {
        int before = inbox().size();
        QueuedMessage old = enqueue(TestServer.USER, Dsn.Ret.HDRS, Optional.empty(),
                Instant.now().minus(Outbound.DEFAULT_DELAY_WARNING).minus(Duration.ofMinutes(5)),
                new NewQueuedRecipient("bob@" + REMOTE, DEFAULT_NOTIFY, Optional.empty()),
                new NewQueuedRecipient("carol@" + REMOTE, EnumSet.of(Dsn.Notify.FAILURE), Optional.empty()));
        QueuedMessage young = enqueue(TestServer.USER, Dsn.Ret.HDRS, Optional.empty(), Instant.now().minus(Duration.ofHours(1)),
                new NewQueuedRecipient("bob@" + REMOTE, DEFAULT_NOTIFY, Optional.empty()));
        record(result(old, "bob@" + REMOTE, RecipientState.QUEUED, "421 4.7.0 too many connections"),
                result(old, "carol@" + REMOTE, RecipientState.QUEUED, "421 4.7.0 too many connections"),
                result(young, "bob@" + REMOTE, RecipientState.QUEUED, "421 4.7.0 too many connections"));

        notifier.runOnce();
        assertThat(notifier.runOnce().notifications()).as("once, not twice").isZero();
        assertThat(inbox()).hasSize(before + 1);
        byte[] warning = inbox().getLast();
        MessageStructure s = MessageStructure.parse(warning);
        String status = statusPart(s, warning);
        // RFC 3464 §2.3.9: the engine gives up `give-up` after arrival.
        String until = java.time.format.DateTimeFormatter.ofPattern("EEE, d MMM yyyy HH:mm:ss Z", java.util.Locale.ROOT)
                .withZone(java.time.ZoneOffset.UTC).format(old.arrival().plus(Outbound.DEFAULT_GIVE_UP));
        assertThat(status).contains("Final-Recipient: rfc822;bob@" + REMOTE, "Action: delayed", "Status: 4.7.0",
                "Will-Retry-Until: " + until)
                .as("carol's NOTIFY has no DELAY").doesNotContain("carol");
        assertThat(python(warning).get("recipient")).containsExactly(
                "rfc822;bob@nowhere.invalid|delayed|4.7.0|smtp; 421 4.7.0 too many connections");
        assertThat(queue.get(old.id()).orElseThrow().recipients()).allMatch(QueuedRecipient::delayReported);
        assertThat(queue.get(young.id()).orElseThrow().recipients()).noneMatch(QueuedRecipient::delayReported);
    }

    @Test
    void aBounceToARemoteSenderIsQueuedFromTheNullSenderAndNeverBouncesItself() {
        int before = inbox().size();
        String sender = "dave@" + REMOTE;
        QueuedMessage m = enqueue(sender, Dsn.Ret.FULL, Optional.empty(), Instant.now(),
                new NewQueuedRecipient("bob@" + REMOTE, DEFAULT_NOTIFY, Optional.empty()));
        record(result(m, "bob@" + REMOTE, RecipientState.FAILED, "550 5.1.1 no such user"));

        notifier.runOnce();
        assertThat(queue.get(m.id())).as("the bounced message is finished").isEmpty();
        List<QueuedMessage> queued = queue.list(100);
        assertThat(queued).hasSize(1);
        QueuedMessage bounce = queued.getFirst();
        assertThat(bounce.sender()).isEmpty();
        assertThat(bounce.recipients()).singleElement().satisfies(r -> {
            assertThat(r.address()).isEqualTo(sender);
            assertThat(r.notifyOn()).as("NOTIFY=NEVER").isEmpty();
        });
        assertThat(inbox()).hasSize(before);

        // The bounce itself fails: nobody is told, and it is gone.
        record(result(bounce, sender, RecipientState.FAILED, "550 5.1.1 no such user"));
        assertThat(notifier.runOnce().notifications()).isZero();
        assertThat(queue.list(100)).isEmpty();
        assertThat(inbox()).hasSize(before);
    }

    @Test
    void aBounceThatCannotBeStoredIsNotLostButMadeAtTheNextPass() {
        var store = server.server().store();
        long account = store.getMailbox(server.inbox()).orElseThrow().accountId();
        int before = inbox().size();
        store.setQuota(account, java.util.OptionalLong.of(store.quota(account).usedBytes() + 100));
        QueuedMessage m = enqueue(TestServer.USER, Dsn.Ret.HDRS, Optional.empty(), Instant.now(),
                new NewQueuedRecipient("bob@" + REMOTE, DEFAULT_NOTIFY, Optional.empty()));
        record(result(m, "bob@" + REMOTE, RecipientState.FAILED, "550 5.1.1 no such user"));

        assertThat(notifier.runOnce().notifications()).as("the sender's mailbox is full").isZero();
        assertThat(recipient(queue.get(m.id()).orElseThrow(), "bob@" + REMOTE).finalReported()).isFalse();

        store.setQuota(account, java.util.OptionalLong.empty());
        notifier.runOnce();
        assertThat(inbox()).hasSize(before + 1);
        assertThat(queue.get(m.id())).isEmpty();
    }

    // ---- helpers

    private List<byte[]> inbox() {
        return TestServer.messages(server.server().store(), server.inbox());
    }

    /**
     * A message as a mail client sends one: a display name with a comment, a text part, a
     * forwarded message and a 1.5 MB attachment.
     */
    private static byte[] content() {
        byte[] attachment = new byte[1_500_000];
        new Random(42).nextBytes(attachment);
        String base64 = Base64.getMimeEncoder(76, "\r\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(attachment);
        String message = String.join("\r\n",
                "From: \"Alice Example\" <alice@example.org> (laptop)",
                "To: Bob <bob@nowhere.invalid>, carol@nowhere.invalid",
                "Subject: Quarterly report",
                "Date: Sun, 6 Dec 2026 10:00:00 +0000",
                "Message-ID: <q4.report@example.org>",
                "MIME-Version: 1.0",
                "Content-Type: multipart/mixed; boundary=\"outer\"",
                "",
                "--outer",
                "Content-Type: text/plain; charset=utf-8",
                "",
                "Please find the report attached.",
                "--outer",
                "Content-Type: message/rfc822",
                "",
                "From: Carol <carol@nowhere.invalid>",
                "Subject: figures",
                "",
                "The figures.",
                "--outer",
                "Content-Type: application/pdf; name=\"report.pdf\"",
                "Content-Transfer-Encoding: base64",
                "",
                base64,
                "--outer--",
                "");
        return message.getBytes(StandardCharsets.UTF_8);
    }

    private QueuedMessage enqueue(String sender, Dsn.Ret ret, Optional<String> envid, Instant arrival,
                                  NewQueuedRecipient... recipients) {
        return queue.enqueue(new NewQueuedMessage(sender, envid, ret, SmtpCommand.Body.SEVEN_BIT, false, false,
                Optional.of(TestServer.USER), "test", arrival, List.of(recipients)), new ByteArrayInputStream(content()));
    }

    /** A result as the engine records it: a remote host's reply; a deferral is retried in an hour. */
    private static AttemptResult result(QueuedMessage m, String address, RecipientState state, String reply) {
        Instant now = Instant.now();
        return new AttemptResult(recipient(m, address).id(), state, now,
                state == RecipientState.QUEUED ? Optional.of(now.plus(Duration.ofHours(1))) : Optional.empty(), reply,
                Optional.of("mx." + REMOTE));
    }

    private void record(AttemptResult... results) {
        queue.record(List.of(results));
    }

    private static QueuedRecipient recipient(QueuedMessage m, String address) {
        return m.recipients().stream().filter(r -> r.address().equals(address)).findFirst().orElseThrow();
    }

    private static String part(MessageStructure s, byte[] message, int part) {
        var section = new FetchAttribute.Section(List.of(part), FetchAttribute.Section.Kind.ALL, List.of());
        return new String(s.section(message, section).orElseThrow(), StandardCharsets.UTF_8);
    }

    /** The delivery-status part with its fields unfolded (RFC 5322 §2.2.3), as the assertions read them. */
    private static String statusPart(MessageStructure s, byte[] message) {
        return part(s, message, 2).replace("\r\n ", " ");
    }

    private static String mimeHeader(MessageStructure s, byte[] message, int part) {
        var section = new FetchAttribute.Section(List.of(part), FetchAttribute.Section.Kind.MIME, List.of());
        return new String(s.section(message, section).orElseThrow(), StandardCharsets.UTF_8);
    }

    /** Python's email module reads the report: its type, each recipient's fields, the returned part's type. */
    private Map<String, List<String>> python(byte[] report) throws Exception {
        ExternalClient.require("python3", "python3");
        Path file = Files.write(dir.resolve("report-" + System.nanoTime() + ".eml"), report);
        String script = String.join("\n",
                "import email, sys",
                "from email import policy",
                "m = email.message_from_binary_file(open(sys.argv[1], 'rb'), policy=policy.compat32)",
                "print('type', m.get_content_type(), m.get_param('report-type'))",
                "parts = m.get_payload()",
                "blocks = parts[1].get_payload()",
                "for b in blocks[1:]:",
                "    print('recipient', '|'.join(' '.join(str(b[f]).split()) for f in ('Final-Recipient', 'Action', 'Status', 'Diagnostic-Code')))",
                "print('returned', parts[2].get_content_type())");
        ExternalClient.Result r = ExternalClient.run(List.of("python3", "-c", script, file.toString()), Map.of());
        assertThat(r.exitCode()).as(r.output()).isZero();
        Map<String, List<String>> out = new java.util.HashMap<>();
        for (String line : r.output().strip().split("\n")) {
            int space = line.indexOf(' ');
            out.computeIfAbsent(line.substring(0, space), k -> new ArrayList<>()).add(line.substring(space + 1));
        }
        return out;
    }
}
