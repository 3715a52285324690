package org.castellan.store.queue;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.castellan.store.StoreAssertions.assertFails;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.castellan.protocol.mail.EmailAddress;
import org.castellan.protocol.smtp.Dsn;
import org.castellan.protocol.smtp.SmtpCommand;
import org.castellan.store.Account;
import org.castellan.store.AppendResult;
import org.castellan.store.Directory;
import org.castellan.store.Mailbox;
import org.castellan.store.Mailboxes;
import org.castellan.store.StoreException;
import org.castellan.store.queue.OutboundQueue.Report;
import org.junit.jupiter.api.Test;

/**
 * The behaviour every {@link OutboundQueue} must have (docs/outbound.md §2), in the style of
 * the other store contracts: an implementation's test implements this interface and returns a
 * fresh, empty store for each test. Times are fixed instants, as the engine's clock gives them;
 * the queue reads no clock of its own.
 */
public interface OutboundQueueContract {

    /** The queue under test, empty, the same instance for the whole of one test. */
    OutboundQueue queue();

    /** The same store's directory and mailboxes: a body may be both delivered and queued. */
    Directory directory();

    Mailboxes mailboxes();

    Instant T0 = Instant.parse("2026-11-30T09:00:00Z");
    Duration LEASE = Duration.ofMinutes(10);

    // ------------------------------------------------------------------ helpers

    static NewQueuedRecipient rcpt(String address) {
        return new NewQueuedRecipient(address, EnumSet.of(Dsn.Notify.FAILURE, Dsn.Notify.DELAY), Optional.empty());
    }

    static NewQueuedMessage message(String sender, Instant arrival, NewQueuedRecipient... recipients) {
        return new NewQueuedMessage(sender, Optional.empty(), Dsn.Ret.UNSPECIFIED, SmtpCommand.Body.SEVEN_BIT, false, false,
                Optional.of("alice@example.org"), "client.example.org [192.0.2.7]", arrival, List.of(recipients));
    }

    default QueuedMessage enqueue(Instant arrival, String... recipients) {
        NewQueuedRecipient[] r = new NewQueuedRecipient[recipients.length];
        for (int i = 0; i < r.length; i++) r[i] = rcpt(recipients[i]);
        return queue().enqueue(message("alice@example.org", arrival, r), content("Subject: hi\r\n\r\nhello\r\n"));
    }

    static InputStream content(String text) {
        return new ByteArrayInputStream(text.getBytes(UTF_8));
    }

    default byte[] contentOf(long messageId) {
        try (InputStream in = queue().openContent(messageId)) {
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    default QueuedRecipient recipient(long messageId, String address) {
        return queue().get(messageId).orElseThrow().recipients().stream().filter(r -> r.address().equals(address))
                .findFirst().orElseThrow();
    }

    /** What a lease gave: "messageId domain address,address" per due message, in order. */
    static List<String> shape(List<DueMessage> due) {
        return due.stream().map(d -> d.message().id() + " " + d.domain() + " "
                + String.join(",", d.recipients().stream().map(QueuedRecipient::address).toList())).toList();
    }

    static AttemptResult delivered(QueuedRecipient r, Instant at) {
        return new AttemptResult(r.id(), RecipientState.DELIVERED, at, Optional.empty(), "250 2.0.0 Ok: queued as 4XyZ",
                Optional.of("mx1.example.net"));
    }

    static AttemptResult deferred(QueuedRecipient r, Instant at, Instant retryAt) {
        return new AttemptResult(r.id(), RecipientState.QUEUED, at, Optional.of(retryAt), "451 4.7.1 Greylisted, try later",
                Optional.of("mx2.example.net"));
    }

    static AttemptResult failed(QueuedRecipient r, Instant at) {
        return new AttemptResult(r.id(), RecipientState.FAILED, at, Optional.empty(), "550 5.1.1 <" + r.address()
                + ">: user unknown", Optional.empty());
    }

    // ------------------------------------------------------------------ enqueue and read back

    @Test
    default void everyEnvelopeFieldAndRecipientComesBackAsEnqueued() {
        NewQueuedMessage bounce = new NewQueuedMessage("", Optional.of("QQ314159@client.example.org"), Dsn.Ret.FULL,
                SmtpCommand.Body.EIGHT_BIT_MIME, true, true, Optional.empty(), "localhost [127.0.0.1]", T0, List.of(
                        new NewQueuedRecipient("bob@example.net", EnumSet.allOf(Dsn.Notify.class),
                                Optional.of("rfc822;Bob@Example.NET")),
                        new NewQueuedRecipient("Carol@Mail.Example.COM", Set.of(), Optional.empty()),
                        new NewQueuedRecipient("\"dave smith\"@example.net", EnumSet.of(Dsn.Notify.SUCCESS),
                                Optional.of("utf-8;d\u00e9nis@example.net"))));
        NewQueuedMessage plain = new NewQueuedMessage("alice@example.org", Optional.empty(), Dsn.Ret.HDRS,
                SmtpCommand.Body.SEVEN_BIT, false, false, Optional.of("alice@example.org"), "client.example.org [192.0.2.7]",
                T0.plusMillis(1), List.of(rcpt("erin@example.net")));

        QueuedMessage a = queue().enqueue(bounce, content("Subject: \u00e9t\u00e9\r\n\r\nbody\r\n"));
        QueuedMessage b = queue().enqueue(plain, content("x"));

        assertThat(queue().get(a.id())).contains(a);
        assertThat(queue().get(b.id())).contains(b);
        assertThat(a.id()).isNotEqualTo(b.id());
        assertThat(a.sender()).isEmpty();
        assertThat(a.envid()).contains("QQ314159@client.example.org");
        assertThat(a.ret()).isEqualTo(Dsn.Ret.FULL);
        assertThat(a.body()).isEqualTo(SmtpCommand.Body.EIGHT_BIT_MIME);
        assertThat(a.smtpUtf8()).isTrue();
        assertThat(a.requireTls()).isTrue();
        assertThat(a.submitter()).isEmpty();
        assertThat(a.receivedFrom()).isEqualTo("localhost [127.0.0.1]");
        assertThat(a.arrival()).isEqualTo(T0);
        assertThat(a.size()).isEqualTo("Subject: \u00e9t\u00e9\r\n\r\nbody\r\n".getBytes(UTF_8).length);
        assertThat(a.held()).isFalse();

        assertThat(a.recipients()).extracting(QueuedRecipient::address)
                .containsExactly("bob@example.net", "Carol@Mail.Example.COM", "\"dave smith\"@example.net");
        assertThat(a.recipients()).extracting(QueuedRecipient::domain)
                .containsExactly("example.net", "mail.example.com", "example.net");
        assertThat(a.recipients()).extracting(QueuedRecipient::notifyOn).containsExactly(
                EnumSet.allOf(Dsn.Notify.class), Set.of(), Set.of(Dsn.Notify.SUCCESS));
        assertThat(a.recipients()).extracting(QueuedRecipient::orcpt).containsExactly(
                Optional.of("rfc822;Bob@Example.NET"), Optional.empty(), Optional.of("utf-8;d\u00e9nis@example.net"));
        for (QueuedRecipient r : a.recipients()) {
            assertThat(r.messageId()).isEqualTo(a.id());
            assertThat(r.state()).isEqualTo(RecipientState.QUEUED);
            assertThat(r.attempts()).isZero();
            assertThat(r.nextAttempt()).isEqualTo(T0); // due at once
            assertThat(r.lastAttempt()).isEmpty();
            assertThat(r.lastReply()).isEmpty();
            assertThat(r.lastHost()).isEmpty();
            assertThat(r.finalReported()).isFalse();
            assertThat(r.delayReported()).isFalse();
        }
        assertThat(a.recipients()).extracting(QueuedRecipient::id).doesNotHaveDuplicates();

        assertThat(b.sender()).isEqualTo("alice@example.org");
        assertThat(b.envid()).isEmpty();
        assertThat(b.ret()).isEqualTo(Dsn.Ret.HDRS);
        assertThat(b.body()).isEqualTo(SmtpCommand.Body.SEVEN_BIT);
        assertThat(b.smtpUtf8()).isFalse();
        assertThat(b.requireTls()).isFalse();
        assertThat(b.submitter()).contains("alice@example.org");
        assertThat(b.recipients()).singleElement().satisfies(r -> {
            assertThat(r.notifyOn()).containsExactlyInAnyOrder(Dsn.Notify.FAILURE, Dsn.Notify.DELAY);
            assertThat(r.orcpt()).isEmpty();
        });
        assertThat(queue().get(b.id() + 1000)).isEmpty();
    }

    @Test
    default void contentIsReadBackByteForByteSmallAndLarge() {
        byte[] small = "Subject: t\r\n\r\n\u00ff\u0000 8-bit \r\n.\r\n".getBytes(java.nio.charset.StandardCharsets.ISO_8859_1);
        byte[] large = new byte[5 * 1024 * 1024 + 3];
        new Random(42).nextBytes(large);
        QueuedMessage s = queue().enqueue(message("a@example.org", T0, rcpt("b@example.net")), new ByteArrayInputStream(small));
        QueuedMessage l = queue().enqueue(message("a@example.org", T0, rcpt("b@example.net")), new ByteArrayInputStream(large));

        assertThat(contentOf(s.id())).isEqualTo(small);
        assertThat(contentOf(l.id())).isEqualTo(large);
        assertThat(l.size()).isEqualTo(large.length);
        assertThat(contentOf(l.id())).isEqualTo(large); // and again, for the next attempt
        assertFails(StoreException.Kind.NOT_FOUND, "no message", () -> queue().openContent(l.id() + 1000));
    }

    @Test
    default void recipientsWithoutADomainAreRefused() {
        assertFails(StoreException.Kind.INVALID, "not a recipient address",
                () -> queue().enqueue(message("", T0, rcpt("postmaster")), content("x")));
        assertThat(queue().list(10)).isEmpty();
    }

    // ------------------------------------------------------------------ leases

    @Test
    default void aLeaseGroupsDueRecipientsByMessageAndDomainOldestFirst() {
        QueuedMessage a = enqueue(T0, "x1@x.example", "y1@y.example", "x2@X.example");
        QueuedMessage b = enqueue(T0.plusSeconds(1), "x3@x.example");

        List<DueMessage> due = queue().lease(T0.plusSeconds(2), T0.plusSeconds(2).plus(LEASE), 100);

        assertThat(shape(due)).containsExactly(
                a.id() + " x.example x1@x.example,x2@X.example",
                a.id() + " y.example y1@y.example",
                b.id() + " x.example x3@x.example");
        assertThat(due.get(0).message()).isEqualTo(a); // the whole message, all its recipients
        // Leased: nobody else gets them until the lease ends.
        assertThat(queue().lease(T0.plusSeconds(3), T0.plusSeconds(3).plus(LEASE), 100)).isEmpty();
    }

    @Test
    default void aLeaseTakesOnlyDueRecipientsOfMessagesNotHeldUpToItsSize() {
        QueuedMessage a = enqueue(T0, "a1@x.example", "a2@x.example");
        QueuedMessage b = enqueue(T0.plusSeconds(60), "b1@x.example");
        QueuedMessage c = enqueue(T0.plusSeconds(120), "c1@x.example");
        Instant now = T0.plusSeconds(90);

        assertThat(shape(queue().lease(now, now.plus(LEASE), 1))).containsExactly(a.id() + " x.example a1@x.example");
        assertThat(shape(queue().lease(now, now.plus(LEASE), 10)))
                .containsExactly(a.id() + " x.example a2@x.example", b.id() + " x.example b1@x.example"); // c not due

        assertThat(queue().hold(c.id())).isTrue();
        assertThat(queue().get(c.id()).orElseThrow().held()).isTrue();
        Instant later = T0.plusSeconds(180);
        assertThat(queue().lease(later, later.plus(LEASE), 10)).isEmpty();
        assertThat(queue().release(c.id())).isTrue();
        assertThat(queue().get(c.id()).orElseThrow().held()).isFalse();
        assertThat(shape(queue().lease(later, later.plus(LEASE), 10))).containsExactly(c.id() + " x.example c1@x.example");

        assertFails(StoreException.Kind.INVALID, "at least one", () -> queue().lease(later, later.plus(LEASE), 0));
        assertFails(StoreException.Kind.INVALID, "end after", () -> queue().lease(later, later, 10));
    }

    @Test
    default void recipientsOfALeaseThatEndedWithoutAResultAreDueAgain() {
        QueuedMessage m = enqueue(T0, "bob@example.net");
        Instant end = T0.plus(LEASE);
        assertThat(queue().lease(T0, end, 10)).hasSize(1);

        assertThat(queue().lease(end.minusMillis(1), end.plus(LEASE), 10)).isEmpty();
        List<DueMessage> again = queue().lease(end, end.plus(LEASE), 10);
        assertThat(shape(again)).containsExactly(m.id() + " example.net bob@example.net");
        assertThat(again.get(0).recipients().get(0).attempts()).isZero(); // no result, no attempt counted
    }

    @Test
    default void releasedLeasesMakeTheirRecipientsDueAtOnce() {
        // An engine starting after a process died: the dead process's leases end now, not at their time.
        QueuedMessage m = enqueue(T0, "bob@example.net");
        assertThat(queue().lease(T0, T0.plus(LEASE), 10)).hasSize(1);

        assertThat(queue().releaseLeases()).isEqualTo(1);
        List<DueMessage> again = queue().lease(T0.plusSeconds(1), T0.plusSeconds(1).plus(LEASE), 10);
        assertThat(shape(again)).containsExactly(m.id() + " example.net bob@example.net");
        assertThat(again.get(0).recipients().get(0).attempts()).isZero();
        assertThat(queue().releaseLeases()).isEqualTo(1);
        assertThat(queue().releaseLeases()).isZero();
    }

    @Test
    default void aRenewedLeaseOutlastsItsFirstEndAndARecordedRecipientIsNotLeasedAgain() {
        QueuedMessage m = enqueue(T0, "bob@example.net", "carol@example.net");
        List<DueMessage> due = queue().lease(T0, T0.plus(LEASE), 10);
        List<Long> ids = due.get(0).recipients().stream().map(QueuedRecipient::id).toList();
        assertThat(ids).hasSize(2);

        // The attempt goes on past the lease's first end: renewed, neither recipient is due then.
        assertThat(queue().renewLeases(ids, T0.plus(LEASE.multipliedBy(3)))).isEqualTo(2);
        assertThat(queue().lease(T0.plus(LEASE.multipliedBy(2)), T0.plus(LEASE.multipliedBy(4)), 10)).isEmpty();
        assertThat(queue().nextAttempt()).contains(T0.plus(LEASE.multipliedBy(3)));

        // Bob's attempt is recorded; a renewal after it leaves him without a lease, due at his retry.
        QueuedRecipient bob = recipient(m.id(), "bob@example.net");
        queue().record(List.of(deferred(bob, T0.plusSeconds(1), T0.plusSeconds(60))));
        assertThat(queue().renewLeases(ids, T0.plus(LEASE.multipliedBy(5)))).isEqualTo(1);
        assertThat(shape(queue().lease(T0.plusSeconds(60), T0.plusSeconds(60).plus(LEASE), 10)))
                .containsExactly(m.id() + " example.net bob@example.net");
        assertThat(queue().renewLeases(List.of(), T0.plus(LEASE))).isZero();
    }

    @Test
    default void nextAttemptIsWhenTheFirstRecipientBecomesDue() {
        assertThat(queue().nextAttempt()).isEmpty();
        QueuedMessage a = enqueue(T0.plusSeconds(30), "a@x.example");
        QueuedMessage b = enqueue(T0.plusSeconds(60), "b@x.example");
        assertThat(queue().nextAttempt()).contains(T0.plusSeconds(30));

        queue().lease(T0.plusSeconds(30), T0.plusSeconds(40), 1); // a is leased until +40 s
        assertThat(queue().nextAttempt()).contains(T0.plusSeconds(40));
        queue().lease(T0.plusSeconds(60), T0.plusSeconds(600), 10); // a's lease ended: both leased now
        assertThat(queue().nextAttempt()).contains(T0.plusSeconds(600));

        QueuedRecipient ra = recipient(a.id(), "a@x.example");
        QueuedRecipient rb = recipient(b.id(), "b@x.example");
        queue().record(List.of(deferred(ra, T0.plusSeconds(61), T0.plusSeconds(3600)), delivered(rb, T0.plusSeconds(61))));
        assertThat(queue().nextAttempt()).contains(T0.plusSeconds(3600));
        queue().hold(a.id());
        assertThat(queue().nextAttempt()).isEmpty();
    }

    @Test
    default void twoEnginesLeasingAtOnceNeverGetTheSameRecipient() throws Exception {
        int messages = 60;
        for (int i = 0; i < messages; i++) {
            enqueue(T0.plusMillis(i), "r" + i + "a@x.example", "r" + i + "b@y.example", "r" + i + "c@x.example");
        }
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            CountDownLatch start = new CountDownLatch(1);
            List<Future<List<Long>>> engines = new ArrayList<>();
            for (int e = 0; e < 2; e++) {
                engines.add(pool.submit(() -> {
                    start.await();
                    List<Long> mine = new ArrayList<>();
                    Instant now = T0.plusSeconds(1);
                    // Bounded: a lease that handed out leased recipients again would never run dry.
                    for (int round = 0; round < messages * 3; round++) {
                        List<DueMessage> due = queue().lease(now, now.plus(LEASE), 7);
                        if (due.isEmpty()) break;
                        for (DueMessage d : due) d.recipients().forEach(r -> mine.add(r.id()));
                    }
                    return mine;
                }));
            }
            start.countDown();
            List<Long> all = new ArrayList<>();
            for (Future<List<Long>> f : engines) all.addAll(f.get());
            assertThat(all).hasSize(messages * 3).doesNotHaveDuplicates();
        } finally {
            pool.shutdownNow();
        }
    }

    // ------------------------------------------------------------------ results

    @Test
    default void resultsRecordDeliveryDeferralAndFailure() {
        QueuedMessage m = enqueue(T0, "ok@example.net", "later@example.net", "bad@example.net");
        Instant attempt = T0.plusSeconds(5);
        queue().lease(attempt, attempt.plus(LEASE), 10);
        QueuedRecipient ok = recipient(m.id(), "ok@example.net");
        QueuedRecipient later = recipient(m.id(), "later@example.net");
        QueuedRecipient bad = recipient(m.id(), "bad@example.net");
        Instant retryAt = attempt.plus(Duration.ofMinutes(5));

        queue().record(List.of(delivered(ok, attempt), deferred(later, attempt, retryAt), failed(bad, attempt)));

        ok = recipient(m.id(), "ok@example.net");
        later = recipient(m.id(), "later@example.net");
        bad = recipient(m.id(), "bad@example.net");
        assertThat(ok.state()).isEqualTo(RecipientState.DELIVERED);
        assertThat(ok.attempts()).isEqualTo(1);
        assertThat(ok.lastAttempt()).contains(attempt);
        assertThat(ok.lastReply()).contains("250 2.0.0 Ok: queued as 4XyZ");
        assertThat(ok.lastHost()).contains("mx1.example.net");
        assertThat(later.state()).isEqualTo(RecipientState.QUEUED);
        assertThat(later.attempts()).isEqualTo(1);
        assertThat(later.nextAttempt()).isEqualTo(retryAt);
        assertThat(later.lastReply()).contains("451 4.7.1 Greylisted, try later");
        assertThat(later.lastHost()).contains("mx2.example.net");
        assertThat(bad.state()).isEqualTo(RecipientState.FAILED);
        assertThat(bad.lastReply()).contains("550 5.1.1 <bad@example.net>: user unknown");
        assertThat(bad.lastHost()).isEmpty();

        // The deferral released its lease: due again at its retry time, not before, and only it.
        Instant justBefore = retryAt.minusMillis(1);
        assertThat(queue().lease(justBefore, justBefore.plus(LEASE), 10)).isEmpty();
        assertThat(shape(queue().lease(retryAt, retryAt.plus(LEASE), 10)))
                .containsExactly(m.id() + " example.net later@example.net");
        queue().record(List.of(deferred(later, retryAt, retryAt.plus(Duration.ofMinutes(10)))));
        assertThat(recipient(m.id(), "later@example.net").attempts()).isEqualTo(2);
    }

    @Test
    default void aResultForARecipientNoLongerQueuedIsIgnored() {
        QueuedMessage m = enqueue(T0, "bob@example.net");
        QueuedMessage gone = enqueue(T0, "carol@example.net");
        queue().lease(T0, T0.plus(LEASE), 10);
        QueuedRecipient bob = recipient(m.id(), "bob@example.net");
        QueuedRecipient carol = recipient(gone.id(), "carol@example.net");
        queue().record(List.of(delivered(bob, T0.plusSeconds(1))));
        assertThat(queue().delete(gone.id())).isTrue(); // the operator, during the attempt

        queue().record(List.of(failed(bob, T0.plusSeconds(2)), failed(carol, T0.plusSeconds(2))));

        QueuedRecipient after = recipient(m.id(), "bob@example.net");
        assertThat(after.state()).isEqualTo(RecipientState.DELIVERED);
        assertThat(after.attempts()).isEqualTo(1);
        assertThat(after.lastReply()).contains("250 2.0.0 Ok: queued as 4XyZ");
        assertThat(queue().get(gone.id())).isEmpty();
    }

    @Test
    default void reportsAreRemembered() {
        QueuedMessage m = enqueue(T0, "a@example.net", "b@example.net");
        QueuedRecipient a = recipient(m.id(), "a@example.net");
        QueuedRecipient b = recipient(m.id(), "b@example.net");

        queue().markReported(List.of(a.id()), Report.DELAY);
        queue().markReported(List.of(b.id()), Report.FINAL);

        assertThat(recipient(m.id(), "a@example.net").delayReported()).isTrue();
        assertThat(recipient(m.id(), "a@example.net").finalReported()).isFalse();
        assertThat(recipient(m.id(), "b@example.net").finalReported()).isTrue();
        assertThat(recipient(m.id(), "b@example.net").delayReported()).isFalse();
    }

    // ------------------------------------------------------------------ the operator

    @Test
    default void retryNowMakesDeferredRecipientsDueAndDeleteRemovesTheMessage() {
        QueuedMessage m = enqueue(T0, "bob@example.net", "carol@example.net");
        queue().lease(T0, T0.plus(LEASE), 10);
        QueuedRecipient bob = recipient(m.id(), "bob@example.net");
        QueuedRecipient carol = recipient(m.id(), "carol@example.net");
        queue().record(List.of(deferred(bob, T0.plusSeconds(1), T0.plus(Duration.ofHours(4))), delivered(carol,
                T0.plusSeconds(1))));
        Instant now = T0.plusSeconds(2);
        assertThat(queue().lease(now, now.plus(LEASE), 10)).isEmpty();

        assertThat(queue().retryNow(m.id())).isTrue();
        assertThat(shape(queue().lease(now, now.plus(LEASE), 10))).containsExactly(m.id() + " example.net bob@example.net");
        assertThat(recipient(m.id(), "carol@example.net").state()).isEqualTo(RecipientState.DELIVERED);

        assertThat(queue().delete(m.id())).isTrue();
        assertThat(queue().get(m.id())).isEmpty();
        assertThat(queue().list(10)).isEmpty();
        assertFails(StoreException.Kind.NOT_FOUND, "no message", () -> queue().openContent(m.id()));

        long unknown = m.id() + 1000;
        assertThat(queue().delete(m.id())).isFalse();
        assertThat(queue().hold(unknown)).isFalse();
        assertThat(queue().release(unknown)).isFalse();
        assertThat(queue().retryNow(unknown)).isFalse();
    }

    @Test
    default void theListingShowsUnfinishedMessagesOldestFirst() {
        QueuedMessage newest = enqueue(T0.plusSeconds(20), "c@example.net");
        QueuedMessage oldest = enqueue(T0, "a@example.net");
        QueuedMessage middle = enqueue(T0.plusSeconds(10), "b@example.net");
        QueuedMessage done = enqueue(T0.plusSeconds(5), "d@example.net");
        QueuedRecipient d = recipient(done.id(), "d@example.net");
        queue().record(List.of(delivered(d, T0.plusSeconds(30))));
        assertThat(queue().list(10)).extracting(QueuedMessage::id)
                .containsExactly(oldest.id(), done.id(), middle.id(), newest.id()); // delivered, not yet reported

        queue().markReported(List.of(d.id()), Report.FINAL);
        assertThat(queue().list(10)).extracting(QueuedMessage::id).containsExactly(oldest.id(), middle.id(), newest.id());
        assertThat(queue().list(2)).extracting(QueuedMessage::id).containsExactly(oldest.id(), middle.id());
        assertThat(queue().list(1).get(0)).isEqualTo(queue().get(oldest.id()).orElseThrow());
    }

    @Test
    default void onlyMessagesWhoseRecipientsAreAllFinalAndReportedArePurged() {
        QueuedMessage m = enqueue(T0, "ok@example.net", "bad@example.net");
        QueuedMessage pending = enqueue(T0, "wait@example.net");
        QueuedRecipient ok = recipient(m.id(), "ok@example.net");
        QueuedRecipient bad = recipient(m.id(), "bad@example.net");
        QueuedRecipient wait = recipient(pending.id(), "wait@example.net");
        queue().lease(T0, T0.plus(LEASE), 10);
        queue().record(List.of(delivered(ok, T0.plusSeconds(1)), failed(bad, T0.plusSeconds(1)),
                deferred(wait, T0.plusSeconds(1), T0.plusSeconds(600))));
        queue().markReported(List.of(wait.id()), Report.FINAL); // queued still: not finished
        queue().markReported(List.of(wait.id()), Report.DELAY);

        assertThat(queue().purgeFinished()).isZero(); // the bounce for bad is not made yet
        queue().markReported(List.of(ok.id()), Report.FINAL);
        queue().markReported(List.of(bad.id()), Report.DELAY); // a delay warning is not the bounce
        assertThat(queue().purgeFinished()).isZero();
        queue().markReported(List.of(bad.id()), Report.FINAL);

        assertThat(queue().purgeFinished()).isEqualTo(1);
        assertThat(queue().get(m.id())).isEmpty();
        assertThat(queue().get(pending.id())).isPresent();
        assertThat(queue().purgeFinished()).isZero();
    }

    // ------------------------------------------------------------------ one body, mailboxes and queue

    /** A message for a local and a remote recipient: one body, delivered and queued. */
    default Mailbox localInbox() {
        EmailAddress a = EmailAddress.of("local@example.org");
        if (directory().getDomain(a.domain()).isEmpty()) directory().createDomain(a.domain());
        Account account = directory().createAccount(a, "SCRAM-SHA-256$4096:c2FsdA==$stored:server",
                java.util.OptionalLong.empty());
        return mailboxes().getMailbox(account.id(), "INBOX").orElseThrow();
    }

    @Test
    default void aBodyDeliveredAndQueuedOutlivesItsMailboxCopy() {
        byte[] body = "Subject: both\r\n\r\nfor local and remote\r\n".getBytes(UTF_8);
        Mailbox inbox = localInbox();
        AppendResult local = mailboxes().append(inbox.id(), body, Set.of(), T0);
        QueuedMessage queued = queue().enqueue(message("local@example.org", T0, rcpt("bob@example.net")),
                new ByteArrayInputStream(body));

        mailboxes().expunge(inbox.id(), List.of(local.uid()));

        assertThat(contentOf(queued.id())).isEqualTo(body);
    }

    @Test
    default void aBodyQueuedAndDeliveredOutlivesItsQueueEntry() throws IOException {
        byte[] body = "Subject: both\r\n\r\nfor remote and local\r\n".getBytes(UTF_8);
        Mailbox inbox = localInbox();
        QueuedMessage queued = queue().enqueue(message("local@example.org", T0, rcpt("bob@example.net")),
                new ByteArrayInputStream(body));
        AppendResult local = mailboxes().append(inbox.id(), body, Set.of(), T0);

        assertThat(queue().delete(queued.id())).isTrue();

        try (InputStream in = mailboxes().openMessage(inbox.id(), local.uid())) {
            assertThat(in.readAllBytes()).isEqualTo(body);
        }
    }

    // ------------------------------------------------------------------ notifications

    @Test
    default void messagesNeedingANotificationAreFoundOldestFirstUntilMarked() {
        QueuedMessage old = enqueue(T0, "a@example.net", "b@example.net");
        QueuedMessage failing = enqueue(T0.plusSeconds(60), "c@example.net");
        QueuedMessage young = enqueue(T0.plus(Duration.ofHours(3)), "d@example.net");
        Instant now = T0.plus(Duration.ofHours(5));
        Instant delayCutoff = now.minus(Duration.ofHours(4));

        // Queued since before the cutoff: a delay warning may be due.
        assertThat(queue().needingNotification(delayCutoff, 10)).extracting(QueuedMessage::id)
                .containsExactly(old.id(), failing.id());

        queue().record(List.of(failed(recipient(failing.id(), "c@example.net"), now),
                delivered(recipient(young.id(), "d@example.net"), now)));
        queue().markReported(List.of(recipient(old.id(), "a@example.net").id(), recipient(old.id(), "b@example.net").id(),
                recipient(failing.id(), "c@example.net").id()), Report.DELAY);
        // A final report is due however young the message; a delay warning made is not made again.
        List<QueuedMessage> needing = queue().needingNotification(delayCutoff, 10);
        assertThat(needing).extracting(QueuedMessage::id).containsExactly(failing.id(), young.id());
        assertThat(needing.get(1)).isEqualTo(queue().get(young.id()).orElseThrow());
        assertThat(queue().needingNotification(delayCutoff, 1)).extracting(QueuedMessage::id).containsExactly(failing.id());

        queue().markReported(List.of(recipient(failing.id(), "c@example.net").id(), recipient(young.id(), "d@example.net").id()),
                Report.FINAL);
        assertThat(queue().needingNotification(delayCutoff, 10)).isEmpty();
        assertFails(StoreException.Kind.INVALID, "at least 1", () -> queue().needingNotification(delayCutoff, 0));
    }

    // ------------------------------------------------------------------ TLS-RPT

    @Test
    default void aTlsReportIsMarkedAndOtherMailIsNot() { // RFC 8460 §3
        NewQueuedMessage report = new NewQueuedMessage("postmaster@mx.example.org", Optional.empty(), Dsn.Ret.HDRS,
                SmtpCommand.Body.SEVEN_BIT, false, false, Optional.empty(), "local TLS reporting", T0,
                List.of(new NewQueuedRecipient("tlsrpt@example.net", Set.of(), Optional.empty())), true);
        QueuedMessage r = queue().enqueue(report, content("Subject: report\r\n\r\n.\r\n"));
        QueuedMessage plain = queue().enqueue(message("alice@example.org", T0, rcpt("bob@example.net")), content("x"));
        assertThat(r.tlsReport()).isTrue();
        assertThat(queue().get(r.id()).orElseThrow().tlsReport()).isTrue();
        assertThat(plain.tlsReport()).isFalse();
        assertThat(queue().lease(T0, T0.plus(LEASE), 10)).extracting(d -> d.message().tlsReport())
                .containsExactlyInAnyOrder(true, false);
    }

    @Test
    default void tlsSessionsAddUpPerDayDomainPolicyAndResultUntilDrained() { // RFC 8460 §4
        java.time.LocalDate day = java.time.LocalDate.of(2026, 12, 5);
        java.time.LocalDate next = day.plusDays(1);
        queue().countTlsSession(day, "example.net", "sts", "");
        queue().countTlsSession(day, "example.net", "sts", "");
        queue().countTlsSession(day, "example.net", "sts", "starttls-not-supported mx1");
        queue().countTlsSession(day, "example.com", "none", "");
        queue().countTlsSession(next, "example.net", "sts", "");
        assertThat(queue().tlsSessions()).containsExactly(
                new TlsSessionCount(day, "example.com", "none", "", 1),
                new TlsSessionCount(day, "example.net", "sts", "", 2),
                new TlsSessionCount(day, "example.net", "sts", "starttls-not-supported mx1", 1),
                new TlsSessionCount(next, "example.net", "sts", "", 1));

        assertThat(queue().drainTlsSessions(day, "example.net")).containsExactly(
                new TlsSessionCount(day, "example.net", "sts", "", 2),
                new TlsSessionCount(day, "example.net", "sts", "starttls-not-supported mx1", 1));
        assertThat(queue().drainTlsSessions(day, "example.net")).as("drained once").isEmpty();
        assertThat(queue().tlsSessions()).containsExactly(
                new TlsSessionCount(day, "example.com", "none", "", 1),
                new TlsSessionCount(next, "example.net", "sts", "", 1));
    }
}
