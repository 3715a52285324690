package org.castellan.store;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;
import static org.castellan.store.StoreAssertions.assertFails;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.castellan.protocol.mail.EmailAddress;
import org.junit.jupiter.api.Test;

/**
 * The behaviour every {@link Mailboxes} implementation must have. Mailboxes belong to accounts,
 * which the {@link Directory} makes (with INBOX and the default mailboxes), so an
 * implementation's test returns both, sharing one fresh, empty store, for each test (and closes
 * it afterwards); the tests here use the directory only to make, change and delete accounts.
 */
public interface MailboxesContract extends DirectoryFixture {

    /** The mailboxes of {@link #directory()}'s accounts, empty, the same instance for the whole of one test. */
    Mailboxes mailboxes();

    Duration EVENT_WAIT = Duration.ofSeconds(10);

    // ------------------------------------------------------------------ helpers

    default Mailbox inbox(Account account) {
        return mailboxes().getMailbox(account.id(), "INBOX").orElseThrow();
    }

    default AppendResult append(Mailbox mailbox, String content, String... flags) {
        return mailboxes().append(mailbox.id(), content.getBytes(UTF_8), Set.of(flags), Instant.parse("2024-05-01T10:15:30Z"));
    }

    default String read(Mailbox mailbox, long uid) {
        try (InputStream in = mailboxes().openMessage(mailbox.id(), uid)) {
            return new String(in.readAllBytes(), UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    default List<Long> uids(Mailbox mailbox) {
        return mailboxes().listMessages(mailbox.id(), UidRange.all()).stream().map(MessageMeta::uid).toList();
    }

    // ------------------------------------------------------------------ accounts' mailboxes

    @Test
    default void newAccountHasInboxAndSpecialUseMailboxesAllSubscribed() {
        Account alice = account("alice@example.org");

        List<Mailbox> boxes = mailboxes().listMailboxes(alice.id());
        assertThat(boxes).extracting(Mailbox::name).containsExactlyInAnyOrder("INBOX", "Drafts", "Sent", "Trash", "Junk", "Archive");
        assertThat(boxes).allSatisfy(m -> {
            assertThat(m.accountId()).isEqualTo(alice.id());
            assertThat(m.subscribed()).isTrue();
        });
        Map<String, Optional<SpecialUse>> uses = new HashMap<>();
        boxes.forEach(m -> uses.put(m.name(), m.specialUse()));
        assertThat(uses).containsEntry("INBOX", Optional.empty())
                .containsEntry("Drafts", Optional.of(SpecialUse.DRAFTS))
                .containsEntry("Sent", Optional.of(SpecialUse.SENT))
                .containsEntry("Trash", Optional.of(SpecialUse.TRASH))
                .containsEntry("Junk", Optional.of(SpecialUse.JUNK))
                .containsEntry("Archive", Optional.of(SpecialUse.ARCHIVE));
        assertThat(boxes).extracting(Mailbox::uidValidity).doesNotHaveDuplicates();
        assertThat(mailboxes().listSubscriptions(alice.id())).hasSize(6);
    }

    @Test
    default void deletingAnAccountRemovesItsMailboxesAndMessages() {
        Account alice = account("alice@example.org");
        Account bob = account("bob@example.org");
        Mailbox inbox = inbox(alice);
        append(inbox, "Subject: shared\r\n\r\nsame body");
        append(inbox(bob), "Subject: shared\r\n\r\nsame body");

        directory().deleteAccount(alice.id());

        assertThat(directory().getAccount(alice.id())).isEmpty();
        assertThat(mailboxes().getMailbox(inbox.id())).isEmpty();
        assertFails(StoreException.Kind.NOT_FOUND, "mailbox", () -> mailboxes().status(inbox.id()));
        assertFails(StoreException.Kind.NOT_FOUND, "account", () -> mailboxes().listMailboxes(alice.id()));
        // Bob's copy of the identical body is untouched.
        assertThat(read(inbox(bob), 1)).isEqualTo("Subject: shared\r\n\r\nsame body");
        // The address is free again.
        assertThat(account("alice@example.org").id()).isNotEqualTo(alice.id());
        assertFails(StoreException.Kind.NOT_FOUND, "account", () -> directory().deleteAccount(alice.id()));
    }

    /** A route (the directory's answer for RCPT) names the INBOX the account has now. */
    @Test
    default void aRouteLeadsToTheAccountsInbox() {
        Account alice = account("alice@example.org");
        directory().createAlias(EmailAddress.of("info@example.org"), EmailAddress.of("alice@example.org"));

        assertThat(directory().route(EmailAddress.of("info@example.org")).orElseThrow().inboxId()).isEqualTo(inbox(alice).id());
        // RFC 9051 §6.3.6: renaming INBOX leaves an INBOX in place, and mail still goes there.
        mailboxes().renameMailbox(inbox(alice).id(), "Old Mail");
        assertThat(directory().route(alice.address()).orElseThrow().inboxId()).isEqualTo(inbox(alice).id());

        directory().deleteAccount(alice.id());
        Account again = account("alice@example.org");
        assertThat(directory().route(EmailAddress.of("info@example.org")).orElseThrow().inboxId()).isEqualTo(inbox(again).id());
    }

    // ------------------------------------------------------------------ URLAUTH access keys

    @Test
    default void accessKeysAreMadeOncePerMailboxAndResetOnRequest() {
        Account alice = account("alice@example.org");
        Mailbox inbox = inbox(alice);
        Mailbox sent = mailboxes().getMailbox(alice.id(), "Sent").orElseThrow();
        // RFC 4467 §7: none until a URL is first authorized.
        assertThat(mailboxes().accessKey(inbox.id())).isEmpty();

        byte[] key = mailboxes().ensureAccessKey(inbox.id());
        assertThat(key).hasSize(Mailboxes.ACCESS_KEY_BYTES);
        assertThat(mailboxes().ensureAccessKey(inbox.id())).isEqualTo(key);
        assertThat(mailboxes().accessKey(inbox.id())).hasValueSatisfying(k -> assertThat(k).isEqualTo(key));
        byte[] other = mailboxes().ensureAccessKey(sent.id());
        assertThat(other).isNotEqualTo(key);

        // RESETKEY mailbox: that mailbox's key goes, and a new one is never the old one.
        mailboxes().resetAccessKey(inbox.id());
        assertThat(mailboxes().accessKey(inbox.id())).isEmpty();
        assertThat(mailboxes().accessKey(sent.id())).isPresent();
        assertThat(mailboxes().ensureAccessKey(inbox.id())).isNotEqualTo(key);

        // RESETKEY: every key of the account goes, nobody else's.
        Account bob = account("bob@example.org");
        byte[] bobs = mailboxes().ensureAccessKey(inbox(bob).id());
        mailboxes().resetAccessKeys(alice.id());
        assertThat(mailboxes().accessKey(inbox.id())).isEmpty();
        assertThat(mailboxes().accessKey(sent.id())).isEmpty();
        assertThat(mailboxes().accessKey(inbox(bob).id())).hasValueSatisfying(k -> assertThat(k).isEqualTo(bobs));
    }

    @Test
    default void accessKeysGoWithTheirMailboxAndNeedOne() {
        Account alice = account("alice@example.org");
        Mailbox work = mailboxes().createMailbox(alice.id(), "Work");
        byte[] key = mailboxes().ensureAccessKey(work.id());
        mailboxes().deleteMailbox(work.id());
        assertFails(StoreException.Kind.NOT_FOUND, "mailbox", () -> mailboxes().accessKey(work.id()));
        assertFails(StoreException.Kind.NOT_FOUND, "mailbox", () -> mailboxes().ensureAccessKey(work.id()));
        assertFails(StoreException.Kind.NOT_FOUND, "mailbox", () -> mailboxes().resetAccessKey(work.id()));
        assertFails(StoreException.Kind.NOT_FOUND, "account", () -> mailboxes().resetAccessKeys(alice.id() + 1000));
        // A new mailbox of the same name is another mailbox: URLs for the old one stay dead.
        Mailbox again = mailboxes().createMailbox(alice.id(), "Work");
        assertThat(mailboxes().accessKey(again.id())).isEmpty();
        assertThat(mailboxes().ensureAccessKey(again.id())).isNotEqualTo(key);
    }

    // ------------------------------------------------------------------ mailboxes

    /**
     * A session holds its selected mailbox by id until it hears of the deletion: the id of the
     * newest mailbox, deleted, must not become another account's new mailbox meanwhile.
     */
    @Test
    default void anIdOfADeletedMailboxIsNeverGivenAgain() {
        Account alice = account("alice@example.org");
        Account bob = account("bob@example.org");
        Mailbox newest = mailboxes().createMailbox(alice.id(), "Work");
        mailboxes().deleteMailbox(newest.id());
        Mailbox bobs = mailboxes().createMailbox(bob.id(), "Work");
        assertThat(bobs.id()).isGreaterThan(newest.id());
        directory().deleteAccount(bob.id());
        Account carol = account("carol@example.org");
        assertThat(inbox(carol).id()).isGreaterThan(bobs.id());
    }

    @Test
    default void inboxIsCaseInsensitiveAndCannotBeDeleted() {
        Account alice = account("alice@example.org");
        Mailbox inbox = inbox(alice);

        assertThat(mailboxes().getMailbox(alice.id(), "inbox")).contains(inbox);
        assertThat(mailboxes().getMailbox(alice.id(), "InBoX")).contains(inbox);
        assertThat(inbox.isInbox()).isTrue();
        assertFails(StoreException.Kind.ALREADY_EXISTS, "INBOX", () -> mailboxes().createMailbox(alice.id(), "Inbox"));
        assertFails(StoreException.Kind.INVALID, "INBOX", () -> mailboxes().deleteMailbox(inbox.id()));

        Mailbox child = mailboxes().createMailbox(alice.id(), "inbox/Lists");
        assertThat(child.name()).isEqualTo("INBOX/Lists");
        assertThat(mailboxes().getMailbox(alice.id(), "Inbox/Lists")).contains(child);
        // Other names are case-sensitive.
        mailboxes().createMailbox(alice.id(), "Work");
        assertThat(mailboxes().getMailbox(alice.id(), "work")).isEmpty();
        assertThat(mailboxes().createMailbox(alice.id(), "work").name()).isEqualTo("work");
    }

    @Test
    default void mailboxesAreCreatedWithParentsAndSpecialUse() {
        Account alice = account("alice@example.org");
        Mailbox deep = mailboxes().createMailbox(alice.id(), "Projects/2024/Q1");
        Mailbox all = mailboxes().createMailbox(alice.id(), "All Mail", Optional.of(SpecialUse.ALL));

        assertThat(deep.name()).isEqualTo("Projects/2024/Q1");
        assertThat(deep.subscribed()).isFalse();
        assertThat(mailboxes().getMailbox(alice.id(), "Projects")).isPresent();
        assertThat(mailboxes().getMailbox(alice.id(), "Projects/2024")).isPresent();
        assertThat(all.specialUse()).contains(SpecialUse.ALL);
        assertThat(mailboxes().getMailbox(all.id())).contains(all);
        assertFails(StoreException.Kind.ALREADY_EXISTS, "Projects/2024", () -> mailboxes().createMailbox(alice.id(), "Projects/2024"));
        assertFails(StoreException.Kind.NOT_FOUND, "account", () -> mailboxes().createMailbox(alice.id() + 99, "X"));
    }

    @Test
    default void badMailboxNamesAreRefused() {
        Account alice = account("alice@example.org");
        for (String bad : List.of("", "/a", "a/", "a//b", "a*", "a%b", "a\u0001b", "x".repeat(MailboxNames.MAX_NAME_LENGTH + 1))) {
            assertFails(StoreException.Kind.INVALID, "mailbox", () -> mailboxes().createMailbox(alice.id(), bad));
            assertThat(mailboxes().getMailbox(alice.id(), bad)).isEmpty();
        }
        assertThat(mailboxes().createMailbox(alice.id(), "Entwürfe/日本").name()).isEqualTo("Entwürfe/日本");
    }

    @Test
    default void renameMovesChildrenAndKeepsUidValidityAndMessages() {
        Account alice = account("alice@example.org");
        Mailbox work = mailboxes().createMailbox(alice.id(), "Work");
        Mailbox sub = mailboxes().createMailbox(alice.id(), "Work/Reports");
        Mailbox deeper = mailboxes().createMailbox(alice.id(), "Work/Reports/Old");
        Mailbox lookalike = mailboxes().createMailbox(alice.id(), "Workshop");
        mailboxes().subscribeMailbox(alice.id(), "Work/Reports");
        AppendResult kept = append(sub, "report");

        Mailbox renamed = mailboxes().renameMailbox(work.id(), "Archive/Jobs/Acme");

        assertThat(renamed.id()).isEqualTo(work.id());
        assertThat(renamed.name()).isEqualTo("Archive/Jobs/Acme");
        assertThat(renamed.uidValidity()).isEqualTo(work.uidValidity());
        assertThat(mailboxes().getMailbox(sub.id()).orElseThrow().name()).isEqualTo("Archive/Jobs/Acme/Reports");
        assertThat(mailboxes().getMailbox(deeper.id()).orElseThrow().name()).isEqualTo("Archive/Jobs/Acme/Reports/Old");
        assertThat(mailboxes().getMailbox(lookalike.id()).orElseThrow().name()).isEqualTo("Workshop");
        assertThat(mailboxes().getMailbox(alice.id(), "Archive/Jobs")).isPresent();
        assertThat(mailboxes().getMailbox(alice.id(), "Work")).isEmpty();
        assertThat(mailboxes().listSubscriptions(alice.id())).contains("Archive/Jobs/Acme/Reports").doesNotContain("Work/Reports");
        assertThat(mailboxes().getMailbox(sub.id()).orElseThrow().subscribed()).isTrue();
        assertThat(read(mailboxes().getMailbox(sub.id()).orElseThrow(), kept.uid())).isEqualTo("report");
    }

    @Test
    default void renameRefusesTakenNamesAndMovingBelowItself() {
        Account alice = account("alice@example.org");
        Mailbox a = mailboxes().createMailbox(alice.id(), "A");
        mailboxes().createMailbox(alice.id(), "A/X");
        mailboxes().createMailbox(alice.id(), "B/X");
        mailboxes().deleteMailbox(mailboxes().getMailbox(alice.id(), "B").orElseThrow().id()); // only B/X remains

        assertFails(StoreException.Kind.ALREADY_EXISTS, "Sent", () -> mailboxes().renameMailbox(a.id(), "Sent"));
        assertFails(StoreException.Kind.ALREADY_EXISTS, "B/X", () -> mailboxes().renameMailbox(a.id(), "B"));
        assertFails(StoreException.Kind.INVALID, "below itself", () -> mailboxes().renameMailbox(a.id(), "A/Y"));
        assertFails(StoreException.Kind.ALREADY_EXISTS, "INBOX", () -> mailboxes().renameMailbox(a.id(), "inbox"));
        assertThat(mailboxes().getMailbox(alice.id(), "A/X")).isPresent(); // nothing half-renamed
    }

    @Test
    default void renamingInboxMovesItsMessagesAndLeavesItEmpty() {
        Account alice = account("alice@example.org");
        Mailbox inbox = inbox(alice);
        append(inbox, "one");
        append(inbox, "two", Flags.SEEN);
        Mailbox child = mailboxes().createMailbox(alice.id(), "INBOX/Child");

        Mailbox old = mailboxes().renameMailbox(inbox.id(), "Old Mail");

        assertThat(old.id()).isNotEqualTo(inbox.id());
        assertThat(old.name()).isEqualTo("Old Mail");
        assertThat(mailboxes().status(inbox.id()).messages()).isZero();
        assertThat(mailboxes().status(old.id()).messages()).isEqualTo(2);
        List<MessageMeta> moved = mailboxes().listMessages(old.id(), UidRange.all());
        assertThat(moved).extracting(m -> read(old, m.uid())).containsExactly("one", "two");
        assertThat(moved.get(1).flags()).containsExactly(Flags.SEEN);
        assertThat(mailboxes().getMailbox(child.id()).orElseThrow().name()).isEqualTo("INBOX/Child");
        assertThat(append(inbox, "three").uid()).isEqualTo(3); // UIDs are never reused
    }

    @Test
    default void deletingAMailboxKeepsItsChildrenAndSubscription() {
        Account alice = account("alice@example.org");
        Mailbox parent = mailboxes().createMailbox(alice.id(), "Parent");
        Mailbox child = mailboxes().createMailbox(alice.id(), "Parent/Child");
        mailboxes().subscribeMailbox(alice.id(), "Parent");
        append(parent, "gone");

        mailboxes().deleteMailbox(parent.id());

        assertThat(mailboxes().getMailbox(parent.id())).isEmpty();
        assertThat(mailboxes().getMailbox(child.id())).isPresent();
        assertThat(mailboxes().listSubscriptions(alice.id())).contains("Parent");
        assertFails(StoreException.Kind.NOT_FOUND, "mailbox", () -> mailboxes().deleteMailbox(parent.id()));
        assertFails(StoreException.Kind.NOT_FOUND, "mailbox", () -> mailboxes().listMessages(parent.id(), UidRange.all()));
    }

    @Test
    default void uidValidityDiffersWhenAMailboxIsDeletedAndCreatedAgain() {
        Account alice = account("alice@example.org");
        Mailbox first = mailboxes().createMailbox(alice.id(), "Folder");
        append(first, "a");
        append(first, "b");
        mailboxes().deleteMailbox(first.id());

        Mailbox second = mailboxes().createMailbox(alice.id(), "Folder");

        assertThat(second.uidValidity()).isNotEqualTo(first.uidValidity());
        MailboxStatus status = mailboxes().status(second.id());
        assertThat(status.uidValidity()).isEqualTo(second.uidValidity());
        assertThat(status.messages()).isZero();
        assertThat(status.uidNext()).isEqualTo(1);
        assertThat(first.uidValidity()).isBetween(1L, 0xFFFF_FFFFL);
        assertThat(second.uidValidity()).isBetween(1L, 0xFFFF_FFFFL);
    }

    @Test
    default void subscriptionsAreNamesThatNeedNotExist() {
        Account alice = account("alice@example.org");
        mailboxes().unsubscribeMailbox(alice.id(), "Junk");
        mailboxes().subscribeMailbox(alice.id(), "Shared/Elsewhere");
        mailboxes().subscribeMailbox(alice.id(), "Shared/Elsewhere");
        mailboxes().subscribeMailbox(alice.id(), "inbox");

        assertThat(mailboxes().listSubscriptions(alice.id()))
                .containsExactly("Archive", "Drafts", "INBOX", "Sent", "Shared/Elsewhere", "Trash");
        assertThat(mailboxes().getMailbox(alice.id(), "Junk").orElseThrow().subscribed()).isFalse();
        assertFails(StoreException.Kind.NOT_FOUND, "account", () -> mailboxes().subscribeMailbox(alice.id() + 99, "X"));
    }

    // ------------------------------------------------------------------ messages

    @Test
    default void appendedMessageReadsBackByteForByteWithItsMetadata() throws IOException {
        Account alice = account("alice@example.org");
        Mailbox inbox = inbox(alice);
        byte[] body = new byte[70_000];
        new Random(7).nextBytes(body);
        Instant date = Instant.parse("2023-12-24T18:00:00Z");

        AppendResult r = mailboxes().append(inbox.id(), new ByteArrayInputStream(body), Set.of("\\seen", "$Important"), date);

        assertThat(r.mailboxId()).isEqualTo(inbox.id());
        assertThat(r.uidValidity()).isEqualTo(inbox.uidValidity());
        assertThat(r.uid()).isEqualTo(1);
        assertThat(r.size()).isEqualTo(body.length);
        try (InputStream in = mailboxes().openMessage(inbox.id(), r.uid())) {
            assertThat(in.readAllBytes()).isEqualTo(body);
        }
        MessageMeta meta = mailboxes().listMessages(inbox.id(), UidRange.of(1)).get(0);
        assertThat(meta.uid()).isEqualTo(1);
        assertThat(meta.flags()).containsExactlyInAnyOrder(Flags.SEEN, "$Important");
        assertThat(meta.internalDate()).isEqualTo(date);
        assertThat(meta.size()).isEqualTo(body.length);
        assertThat(meta.modSeq()).isEqualTo(r.modSeq());
        assertThat(meta.blobId()).isEqualTo(r.blobId());
        assertFails(StoreException.Kind.NOT_FOUND, "UID 2", () -> mailboxes().openMessage(inbox.id(), 2));
        assertFails(StoreException.Kind.NOT_FOUND, "mailbox", () -> mailboxes().append(inbox.id() + 999, body, Set.of(), null));
    }

    @Test
    default void appendAllStoresEveryMessageWithConsecutiveUidsInOneChange() throws IOException {
        Account alice = account("alice@example.org");
        Mailbox inbox = inbox(alice);
        append(inbox, "first");
        java.util.Queue<StoreEvent> events = new java.util.concurrent.ConcurrentLinkedQueue<>();
        mailboxes().subscribe(inbox.id(), events::add);
        byte[] large = new byte[300_000]; // a body kept as a file next to small ones kept inline
        new Random(3).nextBytes(large);
        Instant date = Instant.parse("2023-01-02T03:04:05Z");

        List<AppendResult> r = mailboxes().appendAll(inbox.id(), List.of(
                new NewMessage(() -> new ByteArrayInputStream("Subject: a\r\n\r\none".getBytes(UTF_8)), Set.of(Flags.SEEN), date),
                new NewMessage(() -> new ByteArrayInputStream(large), Set.of(), null),
                new NewMessage(() -> new ByteArrayInputStream("Subject: c\r\n\r\nthree".getBytes(UTF_8)), Set.of("$Work"), date)));

        assertThat(r).extracting(AppendResult::uid).containsExactly(2L, 3L, 4L);
        assertThat(r).extracting(AppendResult::uidValidity).containsOnly(inbox.uidValidity());
        assertThat(r).extracting(AppendResult::modSeq).containsOnly(r.get(0).modSeq());
        assertThat(read(inbox, 2)).isEqualTo("Subject: a\r\n\r\none");
        try (InputStream in = mailboxes().openMessage(inbox.id(), 3)) {
            assertThat(in.readAllBytes()).isEqualTo(large);
        }
        List<MessageMeta> metas = mailboxes().listMessages(inbox.id(), new UidRange(2, 4));
        assertThat(metas.get(0).flags()).containsExactly(Flags.SEEN);
        assertThat(metas.get(0).internalDate()).isEqualTo(date);
        assertThat(metas.get(2).flags()).containsExactly("$Work");
        assertThat(mailboxes().quota(alice.id()).usedMessages()).isEqualTo(4);
        // The first message's event may still reach the listener subscribed after it was appended.
        java.util.function.Supplier<List<StoreEvent.MessageAdded>> ours = () -> events.stream()
                .filter(e -> e instanceof StoreEvent.MessageAdded a && a.uids().stream().anyMatch(uid -> uid > 1))
                .map(e -> (StoreEvent.MessageAdded) e).toList();
        await().atMost(EVENT_WAIT).until(() -> !ours.get().isEmpty());
        assertThat(ours.get()).singleElement().satisfies(e -> assertThat(e.uids()).containsExactly(2L, 3L, 4L));
    }

    /** A batch's flags are those a single APPEND would store: system flags in their one spelling. */
    @Test
    default void appendAllNormalizesFlagsAsAppendDoes() {
        Mailbox inbox = inbox(account("alice@example.org"));
        mailboxes().appendAll(inbox.id(), List.of(new NewMessage(
                () -> new ByteArrayInputStream("Subject: a\r\n\r\none".getBytes(UTF_8)), Set.of("\\seen", "\\FLAGGED"), null)));
        append(inbox, "two", "\\seen", "\\FLAGGED");
        assertThat(mailboxes().listMessages(inbox.id(), UidRange.all())).extracting(MessageMeta::flags)
                .containsOnly(Set.of(Flags.FLAGGED, Flags.SEEN));
    }

    @Test
    default void appendAllStoresNothingWhenOneMessageFails() {
        Account alice = account("alice@example.org");
        Mailbox inbox = inbox(alice);
        NewMessage ok = new NewMessage(() -> new ByteArrayInputStream("0123456789".getBytes(UTF_8)), Set.of(), null);
        NewMessage big = new NewMessage(() -> new ByteArrayInputStream(new byte[200_000]), Set.of(), null);
        NewMessage unreadable = new NewMessage(() -> {
            throw new IOException("the spool is gone");
        }, Set.of(), null);

        assertFails(StoreException.Kind.UNAVAILABLE, "", () -> mailboxes().appendAll(inbox.id(), List.of(ok, big, unreadable)));
        assertThat(uids(inbox)).isEmpty();
        directory().setQuota(alice.id(), OptionalLong.of(25));
        assertFails(StoreException.Kind.QUOTA_EXCEEDED, "", () -> mailboxes().appendAll(inbox.id(), List.of(ok, ok, ok)));
        assertThat(uids(inbox)).isEmpty();
        assertThat(mailboxes().quota(alice.id()).usedBytes()).isZero();
        assertFails(StoreException.Kind.INVALID, "", () -> mailboxes().appendAll(inbox.id(), List.of()));

        assertThat(mailboxes().appendAll(inbox.id(), List.of(ok, ok))).extracting(AppendResult::uid).containsExactly(1L, 2L);
    }

    @Test
    default void emptyMessageAndMissingInternalDateAreAccepted() {
        Account alice = account("alice@example.org");
        Instant before = Instant.now().minusSeconds(1);
        AppendResult r = mailboxes().append(inbox(alice).id(), new byte[0], Set.of(), null);
        MessageMeta meta = mailboxes().listMessages(inbox(alice).id(), UidRange.all()).get(0);
        assertThat(r.size()).isZero();
        assertThat(meta.internalDate()).isAfter(before);
        assertThat(read(inbox(alice), r.uid())).isEmpty();
    }

    @Test
    default void badFlagsAreRefusedAndSystemFlagsCanonicalized() {
        Account alice = account("alice@example.org");
        Mailbox inbox = inbox(alice);
        assertFails(StoreException.Kind.INVALID, "\\Recent", () -> append(inbox, "x", "\\Recent"));
        assertFails(StoreException.Kind.INVALID, "system flag", () -> append(inbox, "x", "\\Bogus"));
        assertFails(StoreException.Kind.INVALID, "keyword", () -> append(inbox, "x", "two words"));
        assertFails(StoreException.Kind.INVALID, "keyword", () -> append(inbox, "x", "par(en"));
        assertThat(uids(inbox)).isEmpty();

        AppendResult r = append(inbox, "x", "\\ANSWERED", "\\flagged", "\\DeLeTeD", "\\draft", "$Label1");
        assertThat(mailboxes().listMessages(inbox.id(), UidRange.of(r.uid())).get(0).flags())
                .containsExactlyInAnyOrder(Flags.ANSWERED, Flags.FLAGGED, Flags.DELETED, Flags.DRAFT, "$Label1");
    }

    @Test
    default void statusCountsMessagesUnseenSizeAndNextUid() {
        Account alice = account("alice@example.org");
        Mailbox inbox = inbox(alice);
        MailboxStatus empty = mailboxes().status(inbox.id());
        assertThat(empty.messages()).isZero();
        assertThat(empty.uidNext()).isEqualTo(1);
        assertThat(empty.totalSize()).isZero();

        append(inbox, "12345", Flags.SEEN);
        append(inbox, "123");
        AppendResult last = append(inbox, "1", "$Work");

        MailboxStatus s = mailboxes().status(inbox.id());
        assertThat(s.mailboxId()).isEqualTo(inbox.id());
        assertThat(s.messages()).isEqualTo(3);
        assertThat(s.unseen()).isEqualTo(2);
        assertThat(s.totalSize()).isEqualTo(9);
        assertThat(s.uidNext()).isEqualTo(last.uid() + 1);
        assertThat(s.uidValidity()).isEqualTo(inbox.uidValidity());
        assertThat(s.highestModSeq()).isEqualTo(last.modSeq());
    }

    @Test
    default void uidsAndModSeqsOnlyIncreaseAndExpungedUidsAreNotReused() {
        Account alice = account("alice@example.org");
        Mailbox inbox = inbox(alice);
        long modSeq = mailboxes().status(inbox.id()).highestModSeq();
        long lastUid = 0;
        for (int i = 0; i < 5; i++) {
            AppendResult r = append(inbox, "m" + i);
            assertThat(r.uid()).isGreaterThan(lastUid);
            assertThat(r.modSeq()).isGreaterThan(modSeq);
            lastUid = r.uid();
            modSeq = r.modSeq();
        }
        ExpungeResult ex = mailboxes().expunge(inbox.id(), List.of(lastUid));
        assertThat(ex.modSeq()).isGreaterThan(modSeq);
        FlagUpdate f = mailboxes().storeFlags(inbox.id(), List.of(1L), FlagOperation.ADD, Set.of(Flags.SEEN), OptionalLong.empty());
        assertThat(f.changed().get(0).modSeq()).isGreaterThan(ex.modSeq());

        AppendResult next = append(inbox, "after expunge");
        assertThat(next.uid()).isGreaterThan(lastUid);
        assertThat(next.modSeq()).isGreaterThan(f.changed().get(0).modSeq());
        assertThat(mailboxes().status(inbox.id()).highestModSeq()).isEqualTo(next.modSeq());
    }

    @Test
    default void listMessagesHonoursTheUidRange() {
        Account alice = account("alice@example.org");
        Mailbox inbox = inbox(alice);
        for (int i = 1; i <= 6; i++) append(inbox, "m" + i);
        mailboxes().expunge(inbox.id(), List.of(3L));

        assertThat(mailboxes().listMessages(inbox.id(), new UidRange(2, 5))).extracting(MessageMeta::uid).containsExactly(2L, 4L, 5L);
        assertThat(mailboxes().listMessages(inbox.id(), new UidRange(6, Long.MAX_VALUE))).extracting(MessageMeta::uid).containsExactly(6L);
        assertThat(mailboxes().listMessages(inbox.id(), new UidRange(7, 100))).isEmpty();
        assertThat(uids(inbox)).containsExactly(1L, 2L, 4L, 5L, 6L);
    }

    @Test
    default void flagsAreAddedRemovedAndReplaced() {
        Account alice = account("alice@example.org");
        Mailbox inbox = inbox(alice);
        append(inbox, "a");
        append(inbox, "b", Flags.SEEN);

        FlagUpdate added = mailboxes().storeFlags(inbox.id(), List.of(1L, 2L, 99L), FlagOperation.ADD, Set.of("\\Seen", "$Todo"),
                OptionalLong.empty());
        assertThat(added.changed()).extracting(FlagUpdate.Changed::uid).containsExactly(1L, 2L);
        assertThat(added.changed().get(0).flags()).containsExactlyInAnyOrder(Flags.SEEN, "$Todo");
        assertThat(added.notModified()).isEmpty();

        FlagUpdate removed = mailboxes().storeFlags(inbox.id(), List.of(1L), FlagOperation.REMOVE, Set.of(Flags.SEEN),
                OptionalLong.empty());
        assertThat(removed.changed().get(0).flags()).containsExactly("$Todo");

        mailboxes().storeFlags(inbox.id(), List.of(2L), FlagOperation.REPLACE, Set.of(Flags.FLAGGED), OptionalLong.empty());
        List<MessageMeta> metas = mailboxes().listMessages(inbox.id(), UidRange.all());
        assertThat(metas.get(0).flags()).containsExactly("$Todo");
        assertThat(metas.get(1).flags()).containsExactly(Flags.FLAGGED);
        assertThat(mailboxes().status(inbox.id()).unseen()).isEqualTo(2);

        // A store that changes nothing leaves MODSEQ alone.
        long modSeq = mailboxes().status(inbox.id()).highestModSeq();
        FlagUpdate none = mailboxes().storeFlags(inbox.id(), List.of(2L), FlagOperation.ADD, Set.of(Flags.FLAGGED), OptionalLong.empty());
        assertThat(none.changed()).isEmpty();
        assertThat(mailboxes().status(inbox.id()).highestModSeq()).isEqualTo(modSeq);
    }

    @Test
    default void unchangedSinceLeavesNewerMessagesAloneAndReportsThem() {
        Account alice = account("alice@example.org");
        Mailbox inbox = inbox(alice);
        append(inbox, "a");
        append(inbox, "b");
        long seen = mailboxes().status(inbox.id()).highestModSeq();
        mailboxes().storeFlags(inbox.id(), List.of(2L), FlagOperation.ADD, Set.of("$Other"), OptionalLong.empty());

        FlagUpdate cond = mailboxes().storeFlags(inbox.id(), List.of(1L, 2L), FlagOperation.ADD, Set.of(Flags.DELETED),
                OptionalLong.of(seen));

        assertThat(cond.changed()).extracting(FlagUpdate.Changed::uid).containsExactly(1L);
        assertThat(cond.notModified()).containsExactly(2L);
        assertThat(mailboxes().listMessages(inbox.id(), UidRange.of(2)).get(0).flags()).containsExactly("$Other");
    }

    @Test
    default void expungeRemovesOnlyTheGivenExistingMessages() {
        Account alice = account("alice@example.org");
        Mailbox inbox = inbox(alice);
        for (int i = 1; i <= 4; i++) append(inbox, "m" + i);
        long before = mailboxes().status(inbox.id()).highestModSeq();

        ExpungeResult r = mailboxes().expunge(inbox.id(), List.of(2L, 4L, 17L));

        assertThat(r.uids()).containsExactly(2L, 4L);
        assertThat(r.modSeq()).isGreaterThan(before);
        assertThat(uids(inbox)).containsExactly(1L, 3L);
        assertFails(StoreException.Kind.NOT_FOUND, "UID 2", () -> mailboxes().openMessage(inbox.id(), 2));
        ExpungeResult nothing = mailboxes().expunge(inbox.id(), List.of(2L));
        assertThat(nothing.uids()).isEmpty();
        assertThat(mailboxes().status(inbox.id()).highestModSeq()).isEqualTo(r.modSeq());
    }

    /**
     * RFC 9051 §6.4.3: EXPUNGE removes the messages that have \Deleted set. A session lists them
     * first; one whose \Deleted another session cleared since then stays, and keywords that merely
     * contain the word do not count.
     */
    @Test
    default void expungeDeletedRemovesOnlyMessagesStillMarkedDeleted() {
        Account alice = account("alice@example.org");
        Mailbox inbox = inbox(alice);
        for (int i = 1; i <= 4; i++) append(inbox, "m" + i);
        mailboxes().storeFlags(inbox.id(), List.of(1L, 2L), FlagOperation.ADD, Set.of(Flags.DELETED), OptionalLong.empty());
        mailboxes().storeFlags(inbox.id(), List.of(3L), FlagOperation.ADD, Set.of("$NotDeleted", "Deleted"), OptionalLong.empty());
        // Listed as deleted by one session; another clears message 2's \Deleted before the expunge.
        List<Long> listed = List.of(1L, 2L, 3L);
        mailboxes().storeFlags(inbox.id(), List.of(2L), FlagOperation.REMOVE, Set.of(Flags.DELETED), OptionalLong.empty());

        ExpungeResult r = mailboxes().expungeDeleted(inbox.id(), listed);

        assertThat(r.uids()).containsExactly(1L);
        assertThat(uids(inbox)).containsExactly(2L, 3L, 4L);
        // POP3's DELE removes whatever the flags say.
        assertThat(mailboxes().expunge(inbox.id(), List.of(4L)).uids()).containsExactly(4L);
    }

    @Test
    default void expungedSinceListsTheUidsRemovedAfterAModSeq() {
        Account alice = account("alice@example.org");
        Mailbox inbox = inbox(alice);
        Mailbox trash = mailboxes().getMailbox(alice.id(), "Trash").orElseThrow();
        for (int i = 1; i <= 5; i++) append(inbox, "m" + i);
        long start = mailboxes().status(inbox.id()).highestModSeq();
        assertThat(mailboxes().expungedSince(inbox.id(), start)).isEmpty();

        long first = mailboxes().expunge(inbox.id(), List.of(1L, 3L)).modSeq();
        mailboxes().storeFlags(inbox.id(), List.of(2L), FlagOperation.ADD, Set.of(Flags.SEEN), OptionalLong.empty());
        long flagged = mailboxes().status(inbox.id()).highestModSeq();
        mailboxes().move(inbox.id(), List.of(4L), trash.id());

        assertThat(mailboxes().expungedSince(inbox.id(), 0)).containsExactly(1L, 3L, 4L);
        assertThat(mailboxes().expungedSince(inbox.id(), start)).containsExactly(1L, 3L, 4L);
        assertThat(mailboxes().expungedSince(inbox.id(), first - 1)).containsExactly(1L, 3L, 4L);
        assertThat(mailboxes().expungedSince(inbox.id(), first)).containsExactly(4L);
        assertThat(mailboxes().expungedSince(inbox.id(), flagged)).containsExactly(4L);
        assertThat(mailboxes().expungedSince(inbox.id(), mailboxes().status(inbox.id()).highestModSeq())).isEmpty();
        // The target of the move lost nothing; an expunge of nothing remembers nothing.
        assertThat(mailboxes().expungedSince(trash.id(), 0)).isEmpty();
        mailboxes().expunge(inbox.id(), List.of(1L, 99L));
        assertThat(mailboxes().expungedSince(inbox.id(), 0)).containsExactly(1L, 3L, 4L);
        assertFails(StoreException.Kind.NOT_FOUND, "mailbox", () -> mailboxes().expungedSince(987_654L, 0));
    }

    @Test
    default void expungedUidsOfADeletedMailboxDoNotReachItsSuccessor() {
        Account alice = account("alice@example.org");
        Mailbox old = mailboxes().createMailbox(alice.id(), "Projects");
        append(old, "a");
        mailboxes().expunge(old.id(), List.of(1L));
        mailboxes().deleteMailbox(old.id());
        Mailbox again = mailboxes().createMailbox(alice.id(), "Projects");
        assertThat(mailboxes().expungedSince(again.id(), 0)).isEmpty();
    }

    @Test
    default void copyMapsUidsAndKeepsFlagsDatesAndBodies() {
        Account alice = account("alice@example.org");
        Mailbox inbox = inbox(alice);
        Mailbox archive = mailboxes().getMailbox(alice.id(), "Archive").orElseThrow();
        append(archive, "already there");
        append(inbox, "one", Flags.SEEN);
        append(inbox, "two");
        append(inbox, "three", "$Keep");

        CopyResult r = mailboxes().copy(inbox.id(), List.of(3L, 1L, 42L), archive.id());

        assertThat(r.targetMailboxId()).isEqualTo(archive.id());
        assertThat(r.targetUidValidity()).isEqualTo(archive.uidValidity());
        assertThat(r.uids()).containsExactly(Map.entry(1L, 2L), Map.entry(3L, 3L));
        assertThat(read(archive, 2)).isEqualTo("one");
        assertThat(read(archive, 3)).isEqualTo("three");
        List<MessageMeta> copied = mailboxes().listMessages(archive.id(), new UidRange(2, 3));
        assertThat(copied.get(0).flags()).containsExactly(Flags.SEEN);
        assertThat(copied.get(1).flags()).containsExactly("$Keep");
        assertThat(copied.get(0).internalDate()).isEqualTo(Instant.parse("2024-05-01T10:15:30Z"));
        assertThat(copied.get(0).modSeq()).isEqualTo(mailboxes().status(archive.id()).highestModSeq());
        assertThat(uids(inbox)).containsExactly(1L, 2L, 3L);

        CopyResult none = mailboxes().copy(inbox.id(), List.of(99L), archive.id());
        assertThat(none.uids()).isEmpty();
        assertFails(StoreException.Kind.NOT_FOUND, "mailbox", () -> mailboxes().copy(inbox.id(), List.of(1L), archive.id() + 999));
    }

    @Test
    default void moveCopiesThenExpungesTheSource() {
        Account alice = account("alice@example.org");
        Mailbox inbox = inbox(alice);
        Mailbox trash = mailboxes().getMailbox(alice.id(), "Trash").orElseThrow();
        append(inbox, "keep");
        append(inbox, "bin", Flags.DELETED);
        long quotaBefore = mailboxes().quota(alice.id()).usedBytes();

        CopyResult r = mailboxes().move(inbox.id(), List.of(2L), trash.id());

        assertThat(r.uids()).containsExactly(Map.entry(2L, 1L));
        assertThat(uids(inbox)).containsExactly(1L);
        assertThat(read(trash, 1)).isEqualTo("bin");
        assertThat(mailboxes().listMessages(trash.id(), UidRange.all()).get(0).flags()).containsExactly(Flags.DELETED);
        assertThat(mailboxes().quota(alice.id()).usedBytes()).isEqualTo(quotaBefore);

        // Moving within one mailbox gives the message a new UID.
        CopyResult self = mailboxes().move(inbox.id(), List.of(1L), inbox.id());
        assertThat(self.uids()).containsExactly(Map.entry(1L, 3L));
        assertThat(uids(inbox)).containsExactly(3L);
        assertThat(read(inbox, 3)).isEqualTo("keep");
    }

    @Test
    default void deliverStoresOneMessageInSeveralAccountsMailboxes() {
        Account alice = account("alice@example.org");
        Account bob = account("bob@example.org");
        Mailbox aliceInbox = inbox(alice);
        Mailbox bobInbox = inbox(bob);
        append(bobInbox, "older");
        Instant date = Instant.parse("2024-01-02T03:04:05Z");

        List<AppendResult> results = mailboxes().deliver(List.of(aliceInbox.id(), bobInbox.id()),
                "Subject: hi all\r\n\r\nbody".getBytes(UTF_8), Set.of(), date);

        assertThat(results).extracting(AppendResult::mailboxId).containsExactly(aliceInbox.id(), bobInbox.id());
        assertThat(results).extracting(AppendResult::uid).containsExactly(1L, 2L);
        assertThat(results.get(0).blobId()).isEqualTo(results.get(1).blobId());
        assertThat(read(aliceInbox, 1)).isEqualTo("Subject: hi all\r\n\r\nbody");
        assertThat(read(bobInbox, 2)).isEqualTo("Subject: hi all\r\n\r\nbody");
        assertThat(mailboxes().listMessages(bobInbox.id(), UidRange.of(2)).get(0).internalDate()).isEqualTo(date);
        assertThat(mailboxes().quota(alice.id()).usedMessages()).isEqualTo(1);
        assertThat(mailboxes().quota(bob.id()).usedMessages()).isEqualTo(2);
        assertFails(StoreException.Kind.INVALID, "at least one", () -> mailboxes().deliver(List.of(), new byte[1], Set.of(), null));
    }

    /**
     * A recipient named twice in one delivery (two aliases of one mailbox) gets the message twice,
     * each with its own UID and MODSEQ (RFC 9051 §2.3.1.1: UIDs strictly ascending).
     */
    @Test
    default void aDeliveryNamingOneMailboxTwiceStoresTwoMessagesWithTheirOwnUidsAndModSeqs() {
        Account alice = account("alice@example.org");
        Mailbox inbox = inbox(alice);
        append(inbox, "older");
        long before = mailboxes().status(inbox.id()).highestModSeq();

        List<AppendResult> results = mailboxes().deliver(List.of(inbox.id(), inbox.id()),
                "Subject: twice\r\n\r\nbody".getBytes(UTF_8), Set.of(), null);

        assertThat(results).extracting(AppendResult::uid).containsExactly(2L, 3L);
        assertThat(results.get(1).modSeq()).isGreaterThan(results.get(0).modSeq());
        assertThat(results.get(0).modSeq()).isGreaterThan(before);
        assertThat(mailboxes().status(inbox.id()).messages()).isEqualTo(3);
        assertThat(mailboxes().status(inbox.id()).uidNext()).isEqualTo(4);
        assertThat(mailboxes().status(inbox.id()).highestModSeq()).isEqualTo(results.get(1).modSeq());
        assertThat(read(inbox, 3)).isEqualTo("Subject: twice\r\n\r\nbody");
    }

    // ------------------------------------------------------------------ quota

    @Test
    default void quotaCountsEveryCopyAndIsReleasedByExpunge() {
        Account alice = account("alice@example.org");
        Mailbox inbox = inbox(alice);
        Mailbox archive = mailboxes().getMailbox(alice.id(), "Archive").orElseThrow();
        append(inbox, "0123456789");
        mailboxes().copy(inbox.id(), List.of(1L), archive.id());

        Quota q = mailboxes().quota(alice.id());
        assertThat(q.accountId()).isEqualTo(alice.id());
        assertThat(q.limitBytes()).isEmpty();
        assertThat(q.usedBytes()).isEqualTo(20);
        assertThat(q.usedMessages()).isEqualTo(2);

        mailboxes().expunge(inbox.id(), List.of(1L));
        mailboxes().deleteMailbox(archive.id());
        assertThat(mailboxes().quota(alice.id()).usedBytes()).isZero();
        assertThat(mailboxes().quota(alice.id()).usedMessages()).isZero();
        assertFails(StoreException.Kind.NOT_FOUND, "account", () -> mailboxes().quota(alice.id() + 99));
    }

    /**
     * An expunge naming messages that are gone already (another session removed them first)
     * releases only what it removed: the account's count of messages stays the number it holds.
     */
    @Test
    default void expungeReleasesOnlyTheMessagesItRemoved() {
        Account alice = account("alice@example.org");
        Mailbox inbox = inbox(alice);
        for (int i = 1; i <= 4; i++) append(inbox, "m" + i);

        mailboxes().expunge(inbox.id(), List.of(2L, 4L, 17L));
        assertThat(mailboxes().quota(alice.id()).usedMessages()).isEqualTo(2);
        mailboxes().expunge(inbox.id(), List.of(2L, 3L));
        assertThat(mailboxes().quota(alice.id()).usedMessages()).isEqualTo(1);
        assertThat(mailboxes().quota(alice.id()).usedBytes()).isEqualTo(2);
    }

    @Test
    default void appendAndCopyOverQuotaAreRefusedAndChangeNothing() {
        Account alice = account("alice@example.org");
        directory().setQuota(alice.id(), OptionalLong.of(15));
        Mailbox inbox = inbox(alice);
        Mailbox archive = mailboxes().getMailbox(alice.id(), "Archive").orElseThrow();
        append(inbox, "0123456789");
        MailboxStatus before = mailboxes().status(inbox.id());

        assertThatThrownBy(() -> append(inbox, "0123456789")).isInstanceOfSatisfying(StoreException.class, e -> {
            assertThat(e.kind()).isEqualTo(StoreException.Kind.QUOTA_EXCEEDED);
            assertThat(e.isTemporary()).isFalse();
            assertThat(e.getMessage()).contains("alice@example.org").contains("15");
        });
        assertFails(StoreException.Kind.QUOTA_EXCEEDED, "quota", () -> mailboxes().copy(inbox.id(), List.of(1L), archive.id()));

        assertThat(mailboxes().status(inbox.id())).isEqualTo(before);
        assertThat(mailboxes().status(archive.id()).messages()).isZero();
        assertThat(mailboxes().quota(alice.id()).usedBytes()).isEqualTo(10);
        // Exactly filling the quota is allowed; moving within the account needs no room.
        append(inbox, "01234");
        mailboxes().move(inbox.id(), List.of(1L), archive.id());
        assertThat(mailboxes().quota(alice.id()).usedBytes()).isEqualTo(15);
    }

    @Test
    default void deliveryIsAllOrNothingWhenOneRecipientIsOverQuota() {
        Account alice = account("alice@example.org");
        Account bob = account("bob@example.org");
        directory().setQuota(bob.id(), OptionalLong.of(3));

        assertFails(StoreException.Kind.QUOTA_EXCEEDED, "bob@example.org",
                () -> mailboxes().deliver(List.of(inbox(alice).id(), inbox(bob).id()), "too big".getBytes(UTF_8), Set.of(), null));

        assertThat(mailboxes().status(inbox(alice).id()).messages()).isZero();
        assertThat(mailboxes().status(inbox(alice).id()).uidNext()).isEqualTo(1);
        assertThat(mailboxes().quota(alice.id()).usedBytes()).isZero();
    }

    // ------------------------------------------------------------------ notifications

    @Test
    default void eventsArriveInCommitOrderOnAStoreThread() {
        Account alice = account("alice@example.org");
        Mailbox work = mailboxes().createMailbox(alice.id(), "Work");
        List<StoreEvent> seen = new CopyOnWriteArrayList<>();
        Set<Thread> threads = Collections.synchronizedSet(new HashSet<>());
        mailboxes().subscribe(work.id(), e -> {
            threads.add(Thread.currentThread());
            seen.add(e);
        });

        AppendResult a = append(work, "a");
        AppendResult b = append(work, "b");
        FlagUpdate f = mailboxes().storeFlags(work.id(), List.of(a.uid()), FlagOperation.ADD, Set.of(Flags.SEEN), OptionalLong.empty());
        ExpungeResult x = mailboxes().expunge(work.id(), List.of(b.uid()));
        mailboxes().renameMailbox(work.id(), "Job");
        mailboxes().deleteMailbox(work.id());

        await().atMost(EVENT_WAIT).until(() -> seen.size() >= 6);
        assertThat(seen).containsExactly(
                new StoreEvent.MessageAdded(work.id(), new TreeSet<>(Set.of(a.uid())), a.modSeq()),
                new StoreEvent.MessageAdded(work.id(), new TreeSet<>(Set.of(b.uid())), b.modSeq()),
                new StoreEvent.FlagsChanged(work.id(), new TreeSet<>(Set.of(a.uid())), f.changed().get(0).modSeq()),
                new StoreEvent.MessagesExpunged(work.id(), new TreeSet<>(Set.of(b.uid())), x.modSeq()),
                new StoreEvent.MailboxRenamed(work.id(), "Work", "Job"),
                new StoreEvent.MailboxDeleted(work.id(), "Job"));
        assertThat(threads).doesNotContain(Thread.currentThread());
    }

    @Test
    default void listenersSeeOnlyTheirMailboxAndStopWhenClosed() {
        Account alice = account("alice@example.org");
        Mailbox inbox = inbox(alice);
        Mailbox sent = mailboxes().getMailbox(alice.id(), "Sent").orElseThrow();
        List<StoreEvent> closedOne = new CopyOnWriteArrayList<>();
        List<StoreEvent> inboxEvents = new CopyOnWriteArrayList<>();
        List<StoreEvent> sentEvents = new CopyOnWriteArrayList<>();
        EventSubscription closing = mailboxes().subscribe(inbox.id(), closedOne::add);
        mailboxes().subscribe(inbox.id(), inboxEvents::add);
        mailboxes().subscribe(sent.id(), sentEvents::add);
        mailboxes().subscribe(inbox.id(), e -> {
            throw new IllegalStateException("a failing listener must not stop the others");
        });
        closing.close();

        append(inbox, "in");
        mailboxes().copy(inbox.id(), List.of(1L), sent.id());
        append(inbox, "in again");

        await().atMost(EVENT_WAIT).until(() -> inboxEvents.size() >= 2 && !sentEvents.isEmpty());
        assertThat(inboxEvents).allSatisfy(e -> assertThat(e).isInstanceOf(StoreEvent.MessageAdded.class));
        assertThat(sentEvents).singleElement().isEqualTo(
                new StoreEvent.MessageAdded(sent.id(), new TreeSet<>(Set.of(1L)), mailboxes().status(sent.id()).highestModSeq()));
        assertThat(closedOne).isEmpty();
        assertFails(StoreException.Kind.NOT_FOUND, "mailbox", () -> mailboxes().subscribe(sent.id() + 999, e -> {}));
    }

    /**
     * A deleted mailbox's id may be given to a new one (SQLite reuses the highest rowid). A
     * listener of the new mailbox hears nothing of the old one, even when the old one's events
     * are still on their way, and goes on hearing its own: a session that selects a mailbox right
     * after another was deleted must not lose its subscription to the old one's deletion.
     */
    @Test
    default void aListenerHearsOnlyWhatIsPublishedAfterItSubscribes() throws InterruptedException {
        Account alice = account("alice@example.org");
        Mailbox old = mailboxes().createMailbox(alice.id(), "Old");
        CountDownLatch holding = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        mailboxes().subscribe(old.id(), e -> {
            holding.countDown();
            try {
                release.await();
            } catch (InterruptedException interrupted) {
                Thread.currentThread().interrupt();
            }
        });
        try {
            append(old, "holds the event thread");
            assertThat(holding.await(EVENT_WAIT.toSeconds(), java.util.concurrent.TimeUnit.SECONDS)).isTrue();
            mailboxes().deleteMailbox(old.id());
            Mailbox fresh = mailboxes().createMailbox(alice.id(), "New");
            List<StoreEvent> heard = new CopyOnWriteArrayList<>();
            mailboxes().subscribe(fresh.id(), heard::add);
            AppendResult first = append(fresh, "first");
            release.countDown();
            AppendResult second = append(fresh, "second");

            await().atMost(EVENT_WAIT).until(() -> heard.size() >= 2);
            assertThat(heard).containsExactly(
                    new StoreEvent.MessageAdded(fresh.id(), new TreeSet<>(Set.of(first.uid())), first.modSeq()),
                    new StoreEvent.MessageAdded(fresh.id(), new TreeSet<>(Set.of(second.uid())), second.modSeq()));
        } finally {
            release.countDown();
        }
    }

    @Test
    default void accountListenersHearTheirAccountsMailboxesAndSubscriptionsInCommitOrder() {
        Account alice = account("alice@example.org");
        Account bob = account("bob@example.org");
        List<AccountEvent> seen = new CopyOnWriteArrayList<>();
        List<AccountEvent> bobs = new CopyOnWriteArrayList<>();
        mailboxes().subscribeAccount(alice.id(), seen::add);
        mailboxes().subscribeAccount(bob.id(), bobs::add);

        Mailbox child = mailboxes().createMailbox(alice.id(), "Lists/ietf");
        long lists = mailboxes().getMailbox(alice.id(), "Lists").orElseThrow().id();
        AppendResult a = append(child, "a");
        FlagUpdate f = mailboxes().storeFlags(child.id(), List.of(a.uid()), FlagOperation.ADD, Set.of(Flags.SEEN), OptionalLong.empty());
        ExpungeResult x = mailboxes().expunge(child.id(), List.of(a.uid()));
        mailboxes().subscribeMailbox(alice.id(), "Lists/ietf");
        mailboxes().subscribeMailbox(alice.id(), "Lists/ietf"); // no change, no event
        mailboxes().unsubscribeMailbox(alice.id(), "Nowhere"); // no change, no event
        mailboxes().renameMailbox(lists, "Groups");
        mailboxes().unsubscribeMailbox(alice.id(), "Groups/ietf");
        mailboxes().deleteMailbox(child.id());
        append(inbox(bob), "for bob");

        await().atMost(EVENT_WAIT).until(() -> seen.size() >= 12 && !bobs.isEmpty());
        long id = alice.id();
        assertThat(seen).containsExactly(
                new AccountEvent.MailboxCreated(id, lists, "Lists"),
                new AccountEvent.MailboxCreated(id, child.id(), "Lists/ietf"),
                new AccountEvent.MailboxChanged(id, new StoreEvent.MessageAdded(child.id(), new TreeSet<>(Set.of(a.uid())), a.modSeq())),
                new AccountEvent.MailboxChanged(id, new StoreEvent.FlagsChanged(child.id(), new TreeSet<>(Set.of(a.uid())),
                        f.changed().get(0).modSeq())),
                new AccountEvent.MailboxChanged(id, new StoreEvent.MessagesExpunged(child.id(), new TreeSet<>(Set.of(a.uid())),
                        x.modSeq())),
                new AccountEvent.SubscriptionChanged(id, "Lists/ietf", true),
                new AccountEvent.MailboxChanged(id, new StoreEvent.MailboxRenamed(lists, "Lists", "Groups")),
                new AccountEvent.MailboxChanged(id, new StoreEvent.MailboxRenamed(child.id(), "Lists/ietf", "Groups/ietf")),
                new AccountEvent.SubscriptionChanged(id, "Lists/ietf", false),
                new AccountEvent.SubscriptionChanged(id, "Groups/ietf", true),
                new AccountEvent.SubscriptionChanged(id, "Groups/ietf", false),
                new AccountEvent.MailboxChanged(id, new StoreEvent.MailboxDeleted(child.id(), "Groups/ietf")));
        assertThat(bobs).singleElement().isInstanceOfSatisfying(AccountEvent.MailboxChanged.class,
                e -> assertThat(e.change().mailboxId()).isEqualTo(inbox(bob).id()));
        assertFails(StoreException.Kind.NOT_FOUND, "account", () -> mailboxes().subscribeAccount(bob.id() + 999, e -> {}));
    }

    @Test
    default void aMailboxsListenersHearAChangeBeforeItsAccountsAndClosedAccountListenersHearNothing() {
        Account alice = account("alice@example.org");
        Mailbox inbox = inbox(alice);
        List<String> order = new CopyOnWriteArrayList<>();
        List<AccountEvent> closedOne = new CopyOnWriteArrayList<>();
        mailboxes().subscribeAccount(alice.id(), e -> order.add("account"));
        mailboxes().subscribe(inbox.id(), e -> order.add("mailbox"));
        mailboxes().subscribeAccount(alice.id(), e -> {
            throw new IllegalStateException("a failing listener must not stop the others");
        });
        mailboxes().subscribeAccount(alice.id(), closedOne::add).close();

        append(inbox, "one");
        append(inbox, "two");
        Mailbox renamed = mailboxes().renameMailbox(inbox.id(), "Old mail"); // RFC 9051 §6.3.6: a new mailbox takes INBOX's messages

        // Renaming INBOX: the new mailbox is created (account), takes the messages (account) and
        // INBOX loses them (mailbox, then account).
        await().atMost(EVENT_WAIT).until(() -> order.size() >= 8);
        assertThat(order).containsExactly("mailbox", "account", "mailbox", "account", "account", "account", "mailbox", "account");
        assertThat(closedOne).isEmpty();
        assertThat(renamed.name()).isEqualTo("Old mail");
    }

    @Test
    default void concurrentAppendsGetDistinctIncreasingUidsAndOrderedEvents() throws Exception {
        Account alice = account("alice@example.org");
        Mailbox inbox = inbox(alice);
        int threads = 8;
        int perThread = 25;
        List<StoreEvent> events = new CopyOnWriteArrayList<>();
        mailboxes().subscribe(inbox.id(), events::add);
        CountDownLatch start = new CountDownLatch(1);
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            List<Future<List<AppendResult>>> futures = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int thread = t;
                futures.add(pool.submit(() -> {
                    start.await();
                    List<AppendResult> mine = new ArrayList<>();
                    for (int i = 0; i < perThread; i++) mine.add(append(inbox, "thread " + thread + " message " + i));
                    return mine;
                }));
            }
            start.countDown();
            List<Long> all = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                List<AppendResult> mine = futures.get(t).get();
                assertThat(mine).extracting(AppendResult::uid).isSorted().doesNotHaveDuplicates();
                for (int i = 0; i < perThread; i++) {
                    assertThat(read(inbox, mine.get(i).uid())).isEqualTo("thread " + t + " message " + i);
                    all.add(mine.get(i).uid());
                }
            }
            assertThat(all).doesNotHaveDuplicates().hasSize(threads * perThread);
            assertThat(uids(inbox)).containsExactlyInAnyOrderElementsOf(all).isSorted();
        } finally {
            pool.shutdownNow();
        }
        await().atMost(EVENT_WAIT).until(() -> events.size() >= threads * perThread);
        List<Long> eventUids = events.stream().flatMap(e -> ((StoreEvent.MessageAdded) e).uids().stream()).toList();
        List<Long> eventModSeqs = events.stream().map(e -> ((StoreEvent.MessageAdded) e).modSeq()).toList();
        assertThat(eventUids).isSorted().doesNotHaveDuplicates().hasSize(threads * perThread);
        assertThat(eventModSeqs).isSorted().doesNotHaveDuplicates();
    }

    /** A MOVE is one change in each mailbox: the source hears the expunge, the target the new message. */
    @Test
    default void moveTellsTheSourceOfItsExpungeAndTheTargetOfItsNewMessage() {
        Account alice = account("alice@example.org");
        Mailbox inbox = inbox(alice);
        Mailbox trash = mailboxes().getMailbox(alice.id(), "Trash").orElseThrow();
        append(inbox, "keep");
        append(inbox, "bin");
        append(trash, "already there");
        List<StoreEvent> inboxHeard = new CopyOnWriteArrayList<>();
        List<StoreEvent> trashHeard = new CopyOnWriteArrayList<>();
        mailboxes().subscribe(inbox.id(), inboxHeard::add);
        mailboxes().subscribe(trash.id(), trashHeard::add);

        CopyResult r = mailboxes().move(inbox.id(), List.of(2L), trash.id());

        long inboxModSeq = mailboxes().status(inbox.id()).highestModSeq();
        long trashModSeq = mailboxes().status(trash.id()).highestModSeq();
        await().atMost(EVENT_WAIT).until(() -> !inboxHeard.isEmpty() && !trashHeard.isEmpty());
        assertThat(inboxHeard).containsExactly(new StoreEvent.MessagesExpunged(inbox.id(), new TreeSet<>(Set.of(2L)), inboxModSeq));
        assertThat(trashHeard).containsExactly(
                new StoreEvent.MessageAdded(trash.id(), new TreeSet<>(Set.of(r.uids().get(2L))), trashModSeq));
        assertThat(mailboxes().publishedModSeq(inbox.id())).isEqualTo(inboxModSeq);
        assertThat(mailboxes().publishedModSeq(trash.id())).isEqualTo(trashModSeq);
    }

    /** {@link Mailboxes#publishedModSeq}: 0 while nothing of the mailbox has been published. */
    @Test
    default void publishedModSeqIsZeroUntilTheMailboxChanges() {
        Account alice = account("alice@example.org");
        Mailbox work = mailboxes().createMailbox(alice.id(), "Work");
        assertThat(mailboxes().publishedModSeq(work.id())).isZero();
        AppendResult a = append(work, "a");
        assertThat(mailboxes().publishedModSeq(work.id())).isEqualTo(a.modSeq()).isPositive();
    }

    @Test
    default void publishedModSeqCoversEveryWriteThatReturned() {
        Account alice = account("alice@example.org");
        Mailbox work = mailboxes().createMailbox(alice.id(), "Work");
        List<StoreEvent> heard = new CopyOnWriteArrayList<>();
        mailboxes().subscribe(work.id(), heard::add);
        long before = mailboxes().publishedModSeq(work.id());

        AppendResult a = append(work, "a");
        assertThat(mailboxes().publishedModSeq(work.id())).isEqualTo(a.modSeq());
        FlagUpdate f = mailboxes().storeFlags(work.id(), List.of(a.uid()), FlagOperation.ADD, Set.of("$Label1"), OptionalLong.empty());
        ExpungeResult x = mailboxes().expunge(work.id(), List.of(a.uid()));
        long published = mailboxes().publishedModSeq(work.id());
        assertThat(published).isEqualTo(x.modSeq()).isGreaterThan(f.changed().get(0).modSeq()).isGreaterThan(before);

        // What a session does before answering: wait until its listener has heard up to the published MODSEQ.
        await().atMost(EVENT_WAIT).until(() -> heard.stream().mapToLong(StoreEvent::modSeqOf).max().orElse(0) >= published);
        assertThat(heard).hasSize(3);
    }

    @Test
    default void messageAddedNamesTheKeywordsOfTheNewMessages() {
        Account alice = account("alice@example.org");
        Mailbox inbox = inbox(alice);
        Mailbox work = mailboxes().createMailbox(alice.id(), "Work");
        List<StoreEvent> heard = new CopyOnWriteArrayList<>();
        mailboxes().subscribe(work.id(), heard::add);
        append(inbox, "one", "\\Seen", "$Forwarded");
        append(inbox, "two", "Project-X");
        AppendResult plain = append(work, "plain", "\\Flagged");
        mailboxes().copy(inbox.id(), List.of(1L, 2L), work.id());

        await().atMost(EVENT_WAIT).until(() -> heard.size() >= 2);
        assertThat(heard).containsExactly(
                new StoreEvent.MessageAdded(work.id(), new TreeSet<>(Set.of(plain.uid())), plain.modSeq(), Set.of()),
                new StoreEvent.MessageAdded(work.id(), new TreeSet<>(Set.of(2L, 3L)), mailboxes().status(work.id()).highestModSeq(),
                        Set.of("$Forwarded", "Project-X")));
    }

    @Test
    default void recentMessagesAreClaimedOnceAndDurably() {
        Account alice = account("alice@example.org");
        Mailbox work = mailboxes().createMailbox(alice.id(), "Work");
        assertThat(mailboxes().firstRecentUid(work.id())).isEqualTo(1);
        long one = append(work, "one").uid();
        long two = append(work, "two").uid();
        assertThat(mailboxes().firstRecentUid(work.id())).isEqualTo(one);

        // The first session claims both; the second finds nothing left.
        assertThat(mailboxes().claimRecent(work.id(), two)).isEqualTo(one);
        assertThat(mailboxes().claimRecent(work.id(), two)).isEqualTo(two + 1);
        long three = append(work, "three").uid();
        assertThat(mailboxes().firstRecentUid(work.id())).isEqualTo(three);
        assertThat(mailboxes().claimRecent(work.id(), three)).isEqualTo(three);
        assertThat(mailboxes().firstRecentUid(work.id())).isEqualTo(three + 1);
        assertFails(StoreException.Kind.NOT_FOUND, "mailbox", () -> mailboxes().claimRecent(work.id() + 999, 1));
    }

    /** RFC 3501 §2.3.2: a message is recent in one session only, however many claim it at once. */
    @Test
    default void concurrentClaimsOfRecentMessagesTakeEachMessageOnce() throws Exception {
        Account alice = account("alice@example.org");
        Mailbox work = mailboxes().createMailbox(alice.id(), "Work");
        List<Long> uids = new ArrayList<>();
        for (int i = 0; i < 30; i++) uids.add(append(work, "message " + i).uid());
        int threads = 6;
        CountDownLatch start = new CountDownLatch(1);
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            List<Future<List<Long>>> futures = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                futures.add(pool.submit(() -> {
                    start.await();
                    List<Long> mine = new ArrayList<>();
                    for (long upTo : uids) {
                        long first = mailboxes().claimRecent(work.id(), upTo);
                        for (long uid = first; uid <= upTo; uid++) mine.add(uid);
                    }
                    return mine;
                }));
            }
            start.countDown();
            List<Long> claimed = new ArrayList<>();
            for (Future<List<Long>> f : futures) claimed.addAll(f.get());
            assertThat(claimed).doesNotHaveDuplicates().containsExactlyInAnyOrderElementsOf(uids);
            assertThat(mailboxes().firstRecentUid(work.id())).isEqualTo(uids.getLast() + 1);
        } finally {
            pool.shutdownNow();
        }
    }

    // ------------------------------------------------------------------ structure and text

    @Test
    default void structureIsStoredAtDeliveryAndCopiedWithTheMessage() {
        Mailbox inbox = inbox(account("structure@example.com"));
        String msg = "From: a@example.org\r\nSubject: s\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\n"
                + "--B\r\n\r\none\r\n--B--\r\n";
        long uid = append(inbox, msg).uid();
        var parsed = org.castellan.protocol.imap.MessageStructure.parse(msg.getBytes(UTF_8));
        var stored = mailboxes().structure(inbox.id(), uid).orElseThrow();
        assertThat(stored.bodyStructure(true, false)).isEqualTo(parsed.bodyStructure(true, false));
        assertThat(stored.envelope(false)).isEqualTo(parsed.envelope(false));
        Mailbox other = mailboxes().createMailbox(inbox.accountId(), "Other");
        long copied = mailboxes().copy(inbox.id(), List.of(uid), other.id()).uids().get(uid);
        assertThat(mailboxes().structure(other.id(), copied).orElseThrow().envelope(false)).isEqualTo(parsed.envelope(false));
        assertThat(mailboxes().structure(inbox.id(), uid + 100)).isEmpty();
    }

    /**
     * What SEARCH on header fields reads (RFC 9051 §6.4.4): the structures of many messages in one
     * call are those read one by one, top-level fields only, with encoded words, groups and dates
     * as they came; a UID without a message is left out, and a missing mailbox is NOT_FOUND.
     */
    @Test
    default void structuresReadTogetherAreThoseReadOneByOne() {
        Mailbox inbox = inbox(account("headers@example.com"));
        long encoded = append(inbox, "Subject: =?UTF-8?Q?Gr=C3=BC?=\r\n =?UTF-8?Q?=C3=9Fe?= aus\r\n\tK=?ISO-8859-1?Q?=F6ln?=\r\n"
                + "Date: Thu, 1 Feb 2024 23:30:00 -0800 (PST)\r\n\r\nSubject: not a header\r\n").uid();
        long twice = append(inbox, "Subject: first\r\nsubject: second\r\nDate: yesterday\r\n\r\nbody\r\n").uid();
        long gone = append(inbox, "Subject: expunged\r\n\r\nx\r\n").uid();
        long group = append(inbox, "From: Team: \"Eve, E.\" <eve@example.com> (work), =?UTF-8?Q?J=C3=B6rg?= <j@example.net>;\r\n"
                + "To: undisclosed-recipients:;\r\n\r\nbody\r\n").uid();
        // A forwarded message: its Subject and From are the inner message's, not the outer's.
        long nested = append(inbox, "From: outer@example.org\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\n--B\r\n"
                + "Content-Type: message/rfc822\r\n\r\nFrom: inner@example.net\r\nSubject: inner\r\n\r\ninside\r\n--B--\r\n").uid();
        long noHeaders = append(inbox, "\r\njust a body\r\n").uid();
        mailboxes().expunge(inbox.id(), List.of(gone));

        java.util.SortedSet<Long> asked = new TreeSet<>(List.of(encoded, twice, gone, group, nested, noHeaders, noHeaders + 100));
        Map<Long, org.castellan.protocol.imap.MessageStructure> read = mailboxes().structures(inbox.id(), asked);
        assertThat(read.keySet()).containsExactlyInAnyOrder(encoded, twice, group, nested, noHeaders);
        for (long uid : read.keySet()) {
            var one = mailboxes().structure(inbox.id(), uid).orElseThrow();
            var together = read.get(uid);
            assertThat(together.envelope(false)).isEqualTo(one.envelope(false));
            assertThat(together.bodyStructure(true, false)).isEqualTo(one.bodyStructure(true, false));
            for (String field : List.of("Subject", "Date", "From", "To")) {
                assertThat(together.headers(field)).as("%s of %d", field, uid).isEqualTo(one.headers(field));
            }
        }
        var decode = (java.util.function.Function<String, String>) org.castellan.protocol.imap.MessageStructure::decodeWords;
        assertThat(read.get(encoded).headers("Subject")).map(decode).singleElement().asString().contains("Grüße aus").contains("Köln");
        assertThat(read.get(encoded).header("Date")).hasValueSatisfying(d -> assertThat(d).startsWith("Thu, 1 Feb 2024 23:30:00 -0800"));
        assertThat(read.get(twice).headers("SUBJECT")).containsExactly("first", "second");
        assertThat(read.get(group).addressText("FROM")).containsExactly("Team: Eve, E. <eve@example.com>, Jörg <j@example.net>;");
        assertThat(read.get(nested).headers("Subject")).isEmpty();
        assertThat(read.get(nested).addressText("FROM")).containsExactly("outer@example.org");
        assertThat(read.get(noHeaders).headers("Subject")).isEmpty();
        assertThat(read.get(noHeaders).header("Date")).isEmpty();

        assertThat(mailboxes().structures(inbox.id(), new TreeSet<>())).isEmpty();
        assertFails(StoreException.Kind.NOT_FOUND, "mailbox", () -> mailboxes().structures(inbox.id() + 1000, new TreeSet<>(List.of(encoded))));
    }

    @Test
    default void textSearchTogetherWithItsScanListMatchesEveryMessageOnce() {
        Mailbox inbox = inbox(account("text@example.com"));
        long hit = append(inbox, "Subject: Findme\r\n\r\nbody words\r\n").uid();
        long miss = append(inbox, "Subject: other\r\n\r\nnothing\r\n").uid();
        TextMatches m = mailboxes().searchText(inbox.id(), false, "FINDME");
        assertThat(m.matching()).doesNotContain(miss);
        assertThat(m.unindexed().contains(hit) || m.matching().contains(hit)).isTrue();
        Set<Long> both = new TreeSet<>(m.matching());
        both.addAll(m.unindexed());
        assertThat(both).isSubsetOf(uids(inbox));
        assertThat(mailboxes().searchText(inbox.id(), true, "Findme").matching()).isEmpty(); // only in the header
    }
}
