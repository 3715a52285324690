package org.castellan.store;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

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
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.castellan.protocol.mail.EmailAddress;
import org.junit.jupiter.api.Test;

/**
 * The behaviour every {@link MailStore} implementation must have. An implementation's test
 * implements this interface and returns a fresh, empty store from {@link #store()} for each test
 * (and closes it afterwards).
 */
public interface MailStoreContract {

    /** An empty store, the same instance for the whole of one test. */
    MailStore store();

    Duration EVENT_WAIT = Duration.ofSeconds(10);

    // ------------------------------------------------------------------ helpers

    default Account account(String address) {
        EmailAddress a = EmailAddress.of(address);
        if (store().getDomain(a.domain()).isEmpty()) store().createDomain(a.domain());
        return store().createAccount(a, "SCRAM-SHA-256$4096:c2FsdA==$stored:server", OptionalLong.empty());
    }

    default Mailbox inbox(Account account) {
        return store().getMailbox(account.id(), "INBOX").orElseThrow();
    }

    default AppendResult append(Mailbox mailbox, String content, String... flags) {
        return store().append(mailbox.id(), content.getBytes(UTF_8), Set.of(flags), Instant.parse("2024-05-01T10:15:30Z"));
    }

    default String read(Mailbox mailbox, long uid) {
        try (InputStream in = store().openMessage(mailbox.id(), uid)) {
            return new String(in.readAllBytes(), UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    default List<Long> uids(Mailbox mailbox) {
        return store().listMessages(mailbox.id(), UidRange.all()).stream().map(MessageMeta::uid).toList();
    }

    static void assertFails(StoreException.Kind kind, String messagePart, ThrowingCallable call) {
        assertThatThrownBy(call).isInstanceOfSatisfying(StoreException.class, e -> {
            assertThat(e.kind()).isEqualTo(kind);
            assertThat(e.getMessage()).containsIgnoringCase(messagePart);
        });
    }

    // ------------------------------------------------------------------ domains

    @Test
    default void domainsAreCreatedListedFoundAndDeleted() {
        Domain d = store().createDomain("Example.ORG");
        store().createDomain("example.com");

        assertThat(d.name()).isEqualTo("example.org");
        assertThat(store().listDomains()).extracting(Domain::name).containsExactly("example.com", "example.org");
        assertThat(store().getDomain("EXAMPLE.org")).contains(d);

        store().deleteDomain("example.org");
        assertThat(store().getDomain("example.org")).isEmpty();
        assertFails(StoreException.Kind.NOT_FOUND, "example.org", () -> store().deleteDomain("example.org"));
    }

    @Test
    default void badOrDuplicateDomainsAreRefused() {
        store().createDomain("example.org");
        assertFails(StoreException.Kind.ALREADY_EXISTS, "example.org", () -> store().createDomain("EXAMPLE.org"));
        assertFails(StoreException.Kind.INVALID, "not a valid domain", () -> store().createDomain("bad..domain"));
        assertFails(StoreException.Kind.INVALID, "not a valid domain", () -> store().createDomain("-x.org"));
    }

    @Test
    default void domainWithAccountsOrAliasesCannotBeDeleted() {
        Account alice = account("alice@example.org");
        assertFails(StoreException.Kind.INVALID, "1 account", () -> store().deleteDomain("example.org"));

        store().deleteAccount(alice.id());
        store().createAlias(EmailAddress.of("info@example.org"), EmailAddress.of("someone@elsewhere.net"));
        assertFails(StoreException.Kind.INVALID, "1 alias", () -> store().deleteDomain("example.org"));

        store().deleteAlias(EmailAddress.of("info@example.org"));
        store().deleteDomain("example.org");
        assertThat(store().listDomains()).isEmpty();
    }

    // ------------------------------------------------------------------ accounts

    @Test
    default void accountNeedsAnExistingDomainAndAFreeAddress() {
        assertFails(StoreException.Kind.NOT_FOUND, "domain example.org",
                () -> store().createAccount(EmailAddress.of("a@example.org"), "secret", OptionalLong.empty()));
        account("a@example.org");
        assertFails(StoreException.Kind.ALREADY_EXISTS, "a@example.org",
                () -> store().createAccount(EmailAddress.of("A@Example.org"), "secret", OptionalLong.empty()));
        assertFails(StoreException.Kind.INVALID, "credential",
                () -> store().createAccount(EmailAddress.of("b@example.org"), " ", OptionalLong.empty()));
        assertFails(StoreException.Kind.INVALID, "negative",
                () -> store().createAccount(EmailAddress.of("b@example.org"), "s", OptionalLong.of(-1)));
    }

    @Test
    default void accountsAreFoundCaseInsensitivelyAndById() {
        Account alice = account("Alice@Example.org");

        assertThat(store().getAccount(EmailAddress.of("ALICE@example.ORG"))).contains(alice);
        assertThat(store().getAccount(alice.id())).contains(alice);
        assertThat(alice.address().toString()).isEqualTo("Alice@example.org");
        assertThat(alice.credential()).isEqualTo("SCRAM-SHA-256$4096:c2FsdA==$stored:server");
        assertThat(alice.quotaBytes()).isEmpty();
        assertThat(store().getAccount(EmailAddress.of("bob@example.org"))).isEmpty();
        assertThat(store().getAccount(alice.id() + 1000)).isEmpty();
    }

    @Test
    default void accountToStringLeavesTheCredentialOut() {
        Account alice = account("alice@example.org");
        assertThat(alice.toString()).contains("alice@example.org").doesNotContain("SCRAM").doesNotContain("stored");
    }

    @Test
    default void accountsAreListedAllOrPerDomain() {
        account("b@one.org");
        account("a@one.org");
        account("c@two.org");

        assertThat(store().listAccounts()).extracting(a -> a.address().toString())
                .containsExactly("a@one.org", "b@one.org", "c@two.org");
        assertThat(store().listAccounts("ONE.org")).extracting(a -> a.address().toString())
                .containsExactly("a@one.org", "b@one.org");
        assertThat(store().listAccounts("three.org")).isEmpty();
    }

    @Test
    default void credentialAndQuotaCanBeChanged() {
        Account alice = account("alice@example.org");

        store().setCredential(alice.id(), "new-secret");
        store().setQuota(alice.id(), OptionalLong.of(5000));
        Account changed = store().getAccount(alice.id()).orElseThrow();
        assertThat(changed.credential()).isEqualTo("new-secret");
        assertThat(changed.quotaBytes()).hasValue(5000);

        store().setQuota(alice.id(), OptionalLong.empty());
        assertThat(store().getAccount(alice.id()).orElseThrow().quotaBytes()).isEmpty();
        assertFails(StoreException.Kind.NOT_FOUND, "account", () -> store().setCredential(alice.id() + 99, "x"));
        assertFails(StoreException.Kind.NOT_FOUND, "account", () -> store().setQuota(alice.id() + 99, OptionalLong.empty()));
    }

    @Test
    default void aCredentialIsReplacedOnlyWhileItIsStillTheExpectedOne() {
        Account alice = account("alice@example.org");
        String first = alice.credential();

        assertThat(store().replaceCredential(alice.id(), first, "rehashed")).isTrue();
        assertThat(store().getAccount(alice.id()).orElseThrow().credential()).isEqualTo("rehashed");

        // A password change came in between: the stale replacement must not undo it.
        store().setCredential(alice.id(), "changed by the operator");
        assertThat(store().replaceCredential(alice.id(), "rehashed", "stale")).isFalse();
        assertThat(store().getAccount(alice.id()).orElseThrow().credential()).isEqualTo("changed by the operator");
        assertThat(store().replaceCredential(alice.id() + 99, "x", "y")).isFalse();
    }

    @Test
    default void newAccountHasInboxAndSpecialUseMailboxesAllSubscribed() {
        Account alice = account("alice@example.org");

        List<Mailbox> boxes = store().listMailboxes(alice.id());
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
        assertThat(store().listSubscriptions(alice.id())).hasSize(6);
    }

    @Test
    default void deletingAnAccountRemovesItsMailboxesAndMessages() {
        Account alice = account("alice@example.org");
        Account bob = account("bob@example.org");
        Mailbox inbox = inbox(alice);
        append(inbox, "Subject: shared\r\n\r\nsame body");
        append(inbox(bob), "Subject: shared\r\n\r\nsame body");

        store().deleteAccount(alice.id());

        assertThat(store().getAccount(alice.id())).isEmpty();
        assertThat(store().getMailbox(inbox.id())).isEmpty();
        assertFails(StoreException.Kind.NOT_FOUND, "mailbox", () -> store().status(inbox.id()));
        assertFails(StoreException.Kind.NOT_FOUND, "account", () -> store().listMailboxes(alice.id()));
        // Bob's copy of the identical body is untouched.
        assertThat(read(inbox(bob), 1)).isEqualTo("Subject: shared\r\n\r\nsame body");
        // The address is free again.
        assertThat(account("alice@example.org").id()).isNotEqualTo(alice.id());
        assertFails(StoreException.Kind.NOT_FOUND, "account", () -> store().deleteAccount(alice.id()));
    }

    // ------------------------------------------------------------------ app passwords

    @Test
    default void appPasswordsAreCreatedListedAndRevokedPerAccount() {
        Account alice = account("alice@example.org");
        Account bob = account("bob@example.org");
        AppPassword phone = store().createAppPassword(alice.id(), "phone", "SCRAM-SHA-256$4096:cGhvbmU=$s:k", Set.of("imap", "smtp"));
        AppPassword laptop = store().createAppPassword(alice.id(), "laptop", "SCRAM-SHA-256$4096:bGFwdG9w$s:k", Set.of("pop3"));

        assertThat(store().listAppPasswords(alice.id())).containsExactly(phone, laptop);
        assertThat(phone.scope()).containsExactlyInAnyOrder("imap", "smtp");
        assertThat(phone.credential()).isEqualTo("SCRAM-SHA-256$4096:cGhvbmU=$s:k");
        assertThat(phone.toString()).contains("phone").doesNotContain("cGhvbmU");
        assertThat(store().listAppPasswords(bob.id())).isEmpty();

        // One account cannot revoke another's.
        assertFails(StoreException.Kind.NOT_FOUND, "app password", () -> store().revokeAppPassword(bob.id(), phone.id()));
        store().revokeAppPassword(alice.id(), phone.id());
        assertThat(store().listAppPasswords(alice.id())).containsExactly(laptop);
        assertFails(StoreException.Kind.NOT_FOUND, "app password", () -> store().revokeAppPassword(alice.id(), phone.id()));
    }

    @Test
    default void anAppPasswordsSelectorIsUniquePerAccount() {
        Account alice = account("alice@example.org");
        Account bob = account("bob@example.org");
        AppPassword phone = store().createAppPassword(alice.id(), "phone", "x", Optional.of("7Hqa"), Set.of("imap"));
        assertThat(phone.selector()).contains("7Hqa");
        assertThat(store().listAppPasswords(alice.id())).containsExactly(phone);
        assertFails(StoreException.Kind.INVALID, "selector",
                () -> store().createAppPassword(alice.id(), "tablet", "x", Optional.of("7Hqa"), Set.of("imap")));
        assertThat(store().createAppPassword(bob.id(), "phone", "x", Optional.of("7Hqa"), Set.of("imap")).selector())
                .as("another account's").contains("7Hqa");
        assertFails(StoreException.Kind.INVALID, "selector",
                () -> store().createAppPassword(alice.id(), "l", "x", Optional.of("x".repeat(17)), Set.of("imap")));

        // Without a selector (made before selectors existed), any number of them.
        AppPassword old = store().createAppPassword(alice.id(), "old laptop", "x", Set.of("pop3"));
        store().createAppPassword(alice.id(), "old phone", "x", Set.of("pop3"));
        assertThat(old.selector()).isEmpty();
        assertThat(store().listAppPasswords(alice.id())).extracting(AppPassword::selector)
                .containsExactly(Optional.of("7Hqa"), Optional.empty(), Optional.empty());
    }

    @Test
    default void badAppPasswordsAreRefused() {
        Account alice = account("alice@example.org");
        assertFails(StoreException.Kind.INVALID, "label", () -> store().createAppPassword(alice.id(), " ", "x", Set.of("imap")));
        assertFails(StoreException.Kind.INVALID, "scope", () -> store().createAppPassword(alice.id(), "l", "x", Set.of()));
        assertFails(StoreException.Kind.INVALID, "credential", () -> store().createAppPassword(alice.id(), "l", "", Set.of("imap")));
        assertFails(StoreException.Kind.NOT_FOUND, "account", () -> store().createAppPassword(alice.id() + 1000, "l", "x", Set.of("imap")));
        for (int i = 0; i < MailStore.MAX_APP_PASSWORDS; i++) store().createAppPassword(alice.id(), "app " + i, "x", Set.of("imap"));
        assertFails(StoreException.Kind.INVALID, "revoke one", () -> store().createAppPassword(alice.id(), "one more", "x", Set.of("imap")));
    }

    @Test
    default void deletingAnAccountRemovesItsAppPasswords() {
        Account alice = account("alice@example.org");
        store().createAppPassword(alice.id(), "phone", "x", Set.of("imap"));
        store().deleteAccount(alice.id());
        assertFails(StoreException.Kind.NOT_FOUND, "account", () -> store().listAppPasswords(alice.id()));
        Account again = account("alice@example.org");
        assertThat(store().listAppPasswords(again.id())).isEmpty();
    }

    // ------------------------------------------------------------------ URLAUTH access keys

    @Test
    default void accessKeysAreMadeOncePerMailboxAndResetOnRequest() {
        Account alice = account("alice@example.org");
        Mailbox inbox = inbox(alice);
        Mailbox sent = store().getMailbox(alice.id(), "Sent").orElseThrow();
        // RFC 4467 §7: none until a URL is first authorized.
        assertThat(store().accessKey(inbox.id())).isEmpty();

        byte[] key = store().ensureAccessKey(inbox.id());
        assertThat(key).hasSize(MailStore.ACCESS_KEY_BYTES);
        assertThat(store().ensureAccessKey(inbox.id())).isEqualTo(key);
        assertThat(store().accessKey(inbox.id())).hasValueSatisfying(k -> assertThat(k).isEqualTo(key));
        byte[] other = store().ensureAccessKey(sent.id());
        assertThat(other).isNotEqualTo(key);

        // RESETKEY mailbox: that mailbox's key goes, and a new one is never the old one.
        store().resetAccessKey(inbox.id());
        assertThat(store().accessKey(inbox.id())).isEmpty();
        assertThat(store().accessKey(sent.id())).isPresent();
        assertThat(store().ensureAccessKey(inbox.id())).isNotEqualTo(key);

        // RESETKEY: every key of the account goes, nobody else's.
        Account bob = account("bob@example.org");
        byte[] bobs = store().ensureAccessKey(inbox(bob).id());
        store().resetAccessKeys(alice.id());
        assertThat(store().accessKey(inbox.id())).isEmpty();
        assertThat(store().accessKey(sent.id())).isEmpty();
        assertThat(store().accessKey(inbox(bob).id())).hasValueSatisfying(k -> assertThat(k).isEqualTo(bobs));
    }

    @Test
    default void accessKeysGoWithTheirMailboxAndNeedOne() {
        Account alice = account("alice@example.org");
        Mailbox work = store().createMailbox(alice.id(), "Work");
        byte[] key = store().ensureAccessKey(work.id());
        store().deleteMailbox(work.id());
        assertFails(StoreException.Kind.NOT_FOUND, "mailbox", () -> store().accessKey(work.id()));
        assertFails(StoreException.Kind.NOT_FOUND, "mailbox", () -> store().ensureAccessKey(work.id()));
        assertFails(StoreException.Kind.NOT_FOUND, "mailbox", () -> store().resetAccessKey(work.id()));
        assertFails(StoreException.Kind.NOT_FOUND, "account", () -> store().resetAccessKeys(alice.id() + 1000));
        // A new mailbox of the same name is another mailbox: URLs for the old one stay dead.
        Mailbox again = store().createMailbox(alice.id(), "Work");
        assertThat(store().accessKey(again.id())).isEmpty();
        assertThat(store().ensureAccessKey(again.id())).isNotEqualTo(key);
    }

    // ------------------------------------------------------------------ enrollment tokens

    String TOKEN_HASH = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";

    @Test
    default void anEnrollmentTokenIsUsedOnceAndNotAfterItExpires() {
        Account alice = account("alice@example.org");
        Instant now = Instant.now();
        EnrollmentToken token = store().createEnrollmentToken(alice.id(), "et-0123456789abcdef", TOKEN_HASH, "laptop", "device",
                now.plus(Duration.ofHours(1)));
        assertThat(store().findEnrollmentToken("et-0123456789abcdef")).contains(token);
        assertThat(token.used()).isEmpty();

        assertThat(store().useEnrollmentToken(token.id(), now)).isTrue();
        assertThat(store().useEnrollmentToken(token.id(), now)).as("a replay").isFalse();
        assertThat(store().findEnrollmentToken(token.id()).orElseThrow().used()).isPresent();

        store().createEnrollmentToken(alice.id(), "et-00000000", TOKEN_HASH, "phone", "user", now.plus(Duration.ofMinutes(1)));
        assertThat(store().useEnrollmentToken("et-00000000", now.plus(Duration.ofMinutes(2)))).as("expired").isFalse();
        assertThat(store().useEnrollmentToken("et-ffffffff", now)).as("unknown").isFalse();

        assertFails(StoreException.Kind.ALREADY_EXISTS, "exists", () -> store().createEnrollmentToken(alice.id(),
                token.id(), TOKEN_HASH, "laptop", "device", now.plus(Duration.ofHours(1))));
        assertFails(StoreException.Kind.INVALID, "id", () -> store().createEnrollmentToken(alice.id(), "laptop",
                TOKEN_HASH, "laptop", "device", now.plus(Duration.ofHours(1))));
        assertFails(StoreException.Kind.INVALID, "device or user", () -> store().createEnrollmentToken(alice.id(),
                "et-12345678", TOKEN_HASH, "laptop", "server", now.plus(Duration.ofHours(1))));

        store().deleteAccount(alice.id());
        assertThat(store().findEnrollmentToken(token.id())).isEmpty();
    }

    // ------------------------------------------------------------------ enrollment requests

    @Test
    default void anEnrollmentRequestIsFoundByItsAccountAndKeyAndDecidedOnce() {
        Account alice = account("alice@example.org");
        Account bob = account("bob@example.org");
        byte[] csr = "MIIB...".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        EnrollmentRequest kept = store().createEnrollmentRequest(alice.id(), "er-0123abcd", "device", "laptop", "EC", TOKEN_HASH, csr);
        assertThat(kept.state()).isEqualTo(EnrollmentRequest.State.PENDING);
        assertThat(store().findOpenEnrollmentRequest(alice.id(), "device", "laptop", TOKEN_HASH)).map(EnrollmentRequest::id)
                .contains("er-0123abcd");
        assertThat(store().findOpenEnrollmentRequest(bob.id(), "device", "laptop", TOKEN_HASH)).as("another account").isEmpty();
        assertThat(store().findOpenEnrollmentRequest(alice.id(), "user", "laptop", TOKEN_HASH)).as("another kind").isEmpty();
        assertThat(store().listEnrollmentRequests(EnrollmentRequest.State.PENDING)).extracting(EnrollmentRequest::id)
                .containsExactly("er-0123abcd");
        assertThat(store().findEnrollmentRequest("er-0123abcd").orElseThrow().csr()).isEqualTo(csr);

        Instant now = Instant.now();
        assertThat(store().moveEnrollmentRequest("er-0123abcd", EnrollmentRequest.State.PENDING, EnrollmentRequest.State.DENIED,
                "not ours", now)).isTrue();
        assertThat(store().moveEnrollmentRequest("er-0123abcd", EnrollmentRequest.State.PENDING, EnrollmentRequest.State.APPROVED,
                null, now)).as("decided once").isFalse();
        EnrollmentRequest denied = store().findEnrollmentRequest("er-0123abcd").orElseThrow();
        assertThat(denied.state()).isEqualTo(EnrollmentRequest.State.DENIED);
        assertThat(denied.reason()).contains("not ours");
        assertThat(denied.decidedAt()).isPresent();
        assertThat(store().listEnrollmentRequests(EnrollmentRequest.State.PENDING)).isEmpty();

        assertFails(StoreException.Kind.ALREADY_EXISTS, "exists", () -> store().createEnrollmentRequest(alice.id(),
                "er-0123abcd", "device", "laptop", "EC", TOKEN_HASH, csr));
        assertFails(StoreException.Kind.INVALID, "id", () -> store().createEnrollmentRequest(alice.id(),
                "laptop", "device", "laptop", "EC", TOKEN_HASH, csr));
        assertFails(StoreException.Kind.INVALID, "device or user", () -> store().createEnrollmentRequest(alice.id(),
                "er-00000000", "server", "laptop", "EC", TOKEN_HASH, csr));
        assertFails(StoreException.Kind.NOT_FOUND, "account", () -> store().createEnrollmentRequest(bob.id() + 1000,
                "er-00000000", "device", "laptop", "EC", TOKEN_HASH, csr));

        store().deleteAccount(alice.id());
        assertThat(store().findEnrollmentRequest("er-0123abcd")).isEmpty();
    }

    // ------------------------------------------------------------------ certificate bindings

    String CARD = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
    String PHONE = "60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752";

    @Test
    default void certificatesAreBoundFoundListedAndUnbound() {
        Account alice = account("alice@example.org");
        Account bob = account("bob@example.org");
        CertificateBinding card = store().bindCertificate(alice.id(), CARD, "smart card");
        CertificateBinding phone = store().bindCertificate(bob.id(), PHONE, "phone");

        assertThat(store().findCertificateBinding(CARD)).contains(card);
        assertThat(card.accountId()).isEqualTo(alice.id());
        assertThat(store().listCertificateBindings(alice.id())).containsExactly(card);
        assertThat(store().listCertificateBindings()).containsExactlyInAnyOrder(card, phone);

        // One certificate belongs to one account: binding it again, to anyone, is refused.
        assertFails(StoreException.Kind.ALREADY_EXISTS, "already bound", () -> store().bindCertificate(bob.id(), CARD, "stolen"));
        assertFails(StoreException.Kind.ALREADY_EXISTS, "already bound", () -> store().bindCertificate(alice.id(), CARD, "again"));

        store().unbindCertificate(CARD);
        assertThat(store().findCertificateBinding(CARD)).isEmpty();
        assertThat(store().listCertificateBindings(alice.id())).isEmpty();
        assertFails(StoreException.Kind.NOT_FOUND, "not bound", () -> store().unbindCertificate(CARD));
        // Free again, it may now go to another account.
        assertThat(store().bindCertificate(bob.id(), CARD, "bob's card").accountId()).isEqualTo(bob.id());
    }

    @Test
    default void badCertificateBindingsAreRefused() {
        Account alice = account("alice@example.org");
        assertFails(StoreException.Kind.INVALID, "fingerprint", () -> store().bindCertificate(alice.id(), CARD.toUpperCase(), "card"));
        assertFails(StoreException.Kind.INVALID, "fingerprint", () -> store().bindCertificate(alice.id(), CARD.substring(2), "card"));
        assertFails(StoreException.Kind.INVALID, "fingerprint", () -> store().bindCertificate(alice.id(), "sha256:" + CARD, "card"));
        assertFails(StoreException.Kind.INVALID, "label", () -> store().bindCertificate(alice.id(), CARD, " "));
        assertFails(StoreException.Kind.NOT_FOUND, "account", () -> store().bindCertificate(alice.id() + 1000, CARD, "card"));
        assertFails(StoreException.Kind.NOT_FOUND, "account", () -> store().listCertificateBindings(alice.id() + 1000));
        assertThat(store().findCertificateBinding("not a fingerprint")).isEmpty();
        assertThat(store().listCertificateBindings()).isEmpty();
    }

    @Test
    default void deletingAnAccountRemovesItsCertificateBindings() {
        Account alice = account("alice@example.org");
        store().bindCertificate(alice.id(), CARD, "card");
        store().deleteAccount(alice.id());
        assertThat(store().findCertificateBinding(CARD)).isEmpty();
        // A new account of the same address does not inherit the old one's certificate.
        Account again = account("alice@example.org");
        assertThat(store().listCertificateBindings(again.id())).isEmpty();
    }

    // ------------------------------------------------------------------ auth log

    @Test
    default void authLogKeepsAttemptsNewestFirstAndFiltersByAccount() {
        Instant now = Instant.now().truncatedTo(java.time.temporal.ChronoUnit.MILLIS);
        AuthAttempt first = new AuthAttempt(now, "192.0.2.7", "pop3s", "pop3", "USER", "alice@example.org",
                "INVALID_CREDENTIALS", Optional.of("TLSv1.3"), Optional.empty());
        AuthAttempt second = new AuthAttempt(now.plusMillis(1), "192.0.2.8", "imaps", "imap", "PLAIN", "bob@example.org",
                "OK", Optional.of("TLSv1.3"), Optional.of("sha256:00ff"));
        AuthAttempt third = new AuthAttempt(now.plusMillis(2), "2001:db8::1", "smtp", "smtp", "LOGIN", AuthAttempt.NO_ACCOUNT,
                "MALFORMED", Optional.empty(), Optional.empty());
        store().recordAuthAttempts(List.of(first, second));
        store().recordAuthAttempts(List.of(third));

        assertThat(store().listAuthAttempts(Optional.empty(), 10)).containsExactly(third, second, first);
        assertThat(store().listAuthAttempts(Optional.empty(), 2)).containsExactly(third, second);
        assertThat(store().listAuthAttempts(Optional.of("ALICE@example.org"), 10)).containsExactly(first);
        assertThat(store().listAuthAttempts(Optional.of("carol@example.org"), 10)).isEmpty();
        assertFails(StoreException.Kind.INVALID, "limit", () -> store().listAuthAttempts(Optional.empty(), 0));
    }

    @Test
    default void authLogKeepsTheReasonOfAFailure() {
        Instant now = Instant.now().truncatedTo(java.time.temporal.ChronoUnit.MILLIS);
        AuthAttempt failed = new AuthAttempt(now, "192.0.2.7", "imaps", "imap", "PLAIN", "alice@example.org",
                "INVALID_CREDENTIALS", Optional.of("TLSv1.3"), Optional.empty(), Optional.of("wrong-password"));
        store().recordAuthAttempts(List.of(failed));
        assertThat(store().listAuthAttempts(Optional.empty(), 10)).containsExactly(failed);
        assertThat(store().listAuthAttempts(Optional.empty(), 10).getFirst().reason()).contains("wrong-password");
    }

    @Test
    default void authLogDropsAttemptsOlderThanItsAge() {
        Instant now = Instant.now().truncatedTo(java.time.temporal.ChronoUnit.MILLIS);
        AuthAttempt old = new AuthAttempt(now.minus(MailStore.AUTH_LOG_MAX_AGE).minusSeconds(60), "192.0.2.7", "pop3s",
                "pop3", "USER", "alice@example.org", "OK", Optional.empty(), Optional.empty());
        AuthAttempt fresh = new AuthAttempt(now, "192.0.2.7", "pop3s", "pop3", "USER", "alice@example.org", "OK",
                Optional.empty(), Optional.empty());
        store().recordAuthAttempts(List.of(old, fresh));
        assertThat(store().listAuthAttempts(Optional.empty(), 10)).containsExactly(fresh);
    }

    // ------------------------------------------------------------------ aliases

    @Test
    default void aliasesResolveThroughChainsToTheLocalAccount() {
        Account alice = account("alice@example.org");
        store().createAlias(EmailAddress.of("Postmaster@example.org"), EmailAddress.of("admin@example.org"));
        store().createAlias(EmailAddress.of("admin@example.org"), EmailAddress.of("ALICE@example.org"));

        assertThat(store().resolveRecipient(EmailAddress.of("postmaster@EXAMPLE.org"))).contains(alice);
        assertThat(store().resolveRecipient(EmailAddress.of("alice@example.org"))).contains(alice);
        assertThat(store().resolveRecipient(EmailAddress.of("nobody@example.org"))).isEmpty();
        assertThat(store().listAliases()).extracting(a -> a.address().key())
                .containsExactly("admin@example.org", "postmaster@example.org");
    }

    @Test
    default void routesFollowAliasesAndAreKnownUntilTheDirectoryChanges() {
        Account alice = account("alice@example.org");
        store().createAlias(EmailAddress.of("info@example.org"), EmailAddress.of("alice@example.org"));
        long inbox = store().getMailbox(alice.id(), "INBOX").orElseThrow().id();
        EmailAddress info = EmailAddress.of("Info@Example.org");

        assertThat(store().knownRoute(info)).isEmpty();
        Route route = store().route(info).orElseThrow();
        assertThat(route).isEqualTo(new Route(alice.id(), alice.address(), inbox, OptionalLong.empty()));
        assertThat(store().knownRoute(EmailAddress.of("info@example.org"))).contains(route);
        assertThat(store().route(EmailAddress.of("nobody@example.org"))).isEmpty();
        assertThat(store().knownRoute(EmailAddress.of("nobody@example.org"))).isEmpty();

        store().setQuota(alice.id(), OptionalLong.of(1_000_000));
        assertThat(store().knownRoute(info)).as("a quota changes the route").isEmpty();
        assertThat(store().route(info).orElseThrow().quotaBytes()).hasValue(1_000_000);

        store().deleteAlias(EmailAddress.of("info@example.org"));
        assertThat(store().knownRoute(info)).as("a deleted alias leads nowhere at once").isEmpty();
        assertThat(store().route(info)).isEmpty();
    }

    @Test
    default void aliasToAnAddressElsewhereHasNoLocalAccount() {
        account("alice@example.org");
        Alias fwd = store().createAlias(EmailAddress.of("fwd@example.org"), EmailAddress.of("someone@elsewhere.net"));

        assertThat(fwd.target()).isEqualTo(EmailAddress.of("someone@elsewhere.net"));
        assertThat(store().resolveRecipient(EmailAddress.of("fwd@example.org"))).isEmpty();
    }

    @Test
    default void aliasLoopsAndOverlongChainsAreReported() {
        store().createDomain("example.org");
        store().createAlias(EmailAddress.of("a@example.org"), EmailAddress.of("b@example.org"));
        store().createAlias(EmailAddress.of("b@example.org"), EmailAddress.of("c@example.org"));
        store().createAlias(EmailAddress.of("c@example.org"), EmailAddress.of("A@example.org"));
        assertFails(StoreException.Kind.INVALID, "loop", () -> store().resolveRecipient(EmailAddress.of("a@example.org")));

        for (int i = 0; i <= MailStore.MAX_ALIAS_DEPTH; i++) {
            store().createAlias(EmailAddress.of("hop" + i + "@example.org"), EmailAddress.of("hop" + (i + 1) + "@example.org"));
        }
        account("hop" + (MailStore.MAX_ALIAS_DEPTH + 1) + "@example.org");
        assertFails(StoreException.Kind.INVALID, "longer than", () -> store().resolveRecipient(EmailAddress.of("hop0@example.org")));
        assertThat(store().resolveRecipient(EmailAddress.of("hop1@example.org"))).isPresent();
    }

    @Test
    default void aliasesAreValidated() {
        account("alice@example.org");
        assertFails(StoreException.Kind.INVALID, "itself",
                () -> store().createAlias(EmailAddress.of("x@example.org"), EmailAddress.of("X@example.org")));
        assertFails(StoreException.Kind.ALREADY_EXISTS, "account",
                () -> store().createAlias(EmailAddress.of("Alice@example.org"), EmailAddress.of("x@elsewhere.net")));
        assertFails(StoreException.Kind.NOT_FOUND, "domain",
                () -> store().createAlias(EmailAddress.of("x@unknown.org"), EmailAddress.of("alice@example.org")));
        store().createAlias(EmailAddress.of("x@example.org"), EmailAddress.of("alice@example.org"));
        assertFails(StoreException.Kind.ALREADY_EXISTS, "alias",
                () -> store().createAlias(EmailAddress.of("X@example.org"), EmailAddress.of("alice@example.org")));
        assertFails(StoreException.Kind.ALREADY_EXISTS, "alias",
                () -> store().createAccount(EmailAddress.of("x@example.org"), "s", OptionalLong.empty()));
        assertFails(StoreException.Kind.NOT_FOUND, "alias", () -> store().deleteAlias(EmailAddress.of("y@example.org")));
    }

    // ------------------------------------------------------------------ mailboxes

    @Test
    default void inboxIsCaseInsensitiveAndCannotBeDeleted() {
        Account alice = account("alice@example.org");
        Mailbox inbox = inbox(alice);

        assertThat(store().getMailbox(alice.id(), "inbox")).contains(inbox);
        assertThat(store().getMailbox(alice.id(), "InBoX")).contains(inbox);
        assertThat(inbox.isInbox()).isTrue();
        assertFails(StoreException.Kind.ALREADY_EXISTS, "INBOX", () -> store().createMailbox(alice.id(), "Inbox"));
        assertFails(StoreException.Kind.INVALID, "INBOX", () -> store().deleteMailbox(inbox.id()));

        Mailbox child = store().createMailbox(alice.id(), "inbox/Lists");
        assertThat(child.name()).isEqualTo("INBOX/Lists");
        assertThat(store().getMailbox(alice.id(), "Inbox/Lists")).contains(child);
        // Other names are case-sensitive.
        store().createMailbox(alice.id(), "Work");
        assertThat(store().getMailbox(alice.id(), "work")).isEmpty();
        assertThat(store().createMailbox(alice.id(), "work").name()).isEqualTo("work");
    }

    @Test
    default void mailboxesAreCreatedWithParentsAndSpecialUse() {
        Account alice = account("alice@example.org");
        Mailbox deep = store().createMailbox(alice.id(), "Projects/2024/Q1");
        Mailbox all = store().createMailbox(alice.id(), "All Mail", Optional.of(SpecialUse.ALL));

        assertThat(deep.name()).isEqualTo("Projects/2024/Q1");
        assertThat(deep.subscribed()).isFalse();
        assertThat(store().getMailbox(alice.id(), "Projects")).isPresent();
        assertThat(store().getMailbox(alice.id(), "Projects/2024")).isPresent();
        assertThat(all.specialUse()).contains(SpecialUse.ALL);
        assertThat(store().getMailbox(all.id())).contains(all);
        assertFails(StoreException.Kind.ALREADY_EXISTS, "Projects/2024", () -> store().createMailbox(alice.id(), "Projects/2024"));
        assertFails(StoreException.Kind.NOT_FOUND, "account", () -> store().createMailbox(alice.id() + 99, "X"));
    }

    @Test
    default void badMailboxNamesAreRefused() {
        Account alice = account("alice@example.org");
        for (String bad : List.of("", "/a", "a/", "a//b", "a*", "a%b", "a\u0001b", "x".repeat(MailboxNames.MAX_NAME_LENGTH + 1))) {
            assertFails(StoreException.Kind.INVALID, "mailbox", () -> store().createMailbox(alice.id(), bad));
            assertThat(store().getMailbox(alice.id(), bad)).isEmpty();
        }
        assertThat(store().createMailbox(alice.id(), "Entwürfe/日本").name()).isEqualTo("Entwürfe/日本");
    }

    @Test
    default void renameMovesChildrenAndKeepsUidValidityAndMessages() {
        Account alice = account("alice@example.org");
        Mailbox work = store().createMailbox(alice.id(), "Work");
        Mailbox sub = store().createMailbox(alice.id(), "Work/Reports");
        Mailbox deeper = store().createMailbox(alice.id(), "Work/Reports/Old");
        Mailbox lookalike = store().createMailbox(alice.id(), "Workshop");
        store().subscribeMailbox(alice.id(), "Work/Reports");
        AppendResult kept = append(sub, "report");

        Mailbox renamed = store().renameMailbox(work.id(), "Archive/Jobs/Acme");

        assertThat(renamed.id()).isEqualTo(work.id());
        assertThat(renamed.name()).isEqualTo("Archive/Jobs/Acme");
        assertThat(renamed.uidValidity()).isEqualTo(work.uidValidity());
        assertThat(store().getMailbox(sub.id()).orElseThrow().name()).isEqualTo("Archive/Jobs/Acme/Reports");
        assertThat(store().getMailbox(deeper.id()).orElseThrow().name()).isEqualTo("Archive/Jobs/Acme/Reports/Old");
        assertThat(store().getMailbox(lookalike.id()).orElseThrow().name()).isEqualTo("Workshop");
        assertThat(store().getMailbox(alice.id(), "Archive/Jobs")).isPresent();
        assertThat(store().getMailbox(alice.id(), "Work")).isEmpty();
        assertThat(store().listSubscriptions(alice.id())).contains("Archive/Jobs/Acme/Reports").doesNotContain("Work/Reports");
        assertThat(store().getMailbox(sub.id()).orElseThrow().subscribed()).isTrue();
        assertThat(read(store().getMailbox(sub.id()).orElseThrow(), kept.uid())).isEqualTo("report");
    }

    @Test
    default void renameRefusesTakenNamesAndMovingBelowItself() {
        Account alice = account("alice@example.org");
        Mailbox a = store().createMailbox(alice.id(), "A");
        store().createMailbox(alice.id(), "A/X");
        store().createMailbox(alice.id(), "B/X");
        store().deleteMailbox(store().getMailbox(alice.id(), "B").orElseThrow().id()); // only B/X remains

        assertFails(StoreException.Kind.ALREADY_EXISTS, "Sent", () -> store().renameMailbox(a.id(), "Sent"));
        assertFails(StoreException.Kind.ALREADY_EXISTS, "B/X", () -> store().renameMailbox(a.id(), "B"));
        assertFails(StoreException.Kind.INVALID, "below itself", () -> store().renameMailbox(a.id(), "A/Y"));
        assertFails(StoreException.Kind.ALREADY_EXISTS, "INBOX", () -> store().renameMailbox(a.id(), "inbox"));
        assertThat(store().getMailbox(alice.id(), "A/X")).isPresent(); // nothing half-renamed
    }

    @Test
    default void renamingInboxMovesItsMessagesAndLeavesItEmpty() {
        Account alice = account("alice@example.org");
        Mailbox inbox = inbox(alice);
        append(inbox, "one");
        append(inbox, "two", Flags.SEEN);
        Mailbox child = store().createMailbox(alice.id(), "INBOX/Child");

        Mailbox old = store().renameMailbox(inbox.id(), "Old Mail");

        assertThat(old.id()).isNotEqualTo(inbox.id());
        assertThat(old.name()).isEqualTo("Old Mail");
        assertThat(store().status(inbox.id()).messages()).isZero();
        assertThat(store().status(old.id()).messages()).isEqualTo(2);
        List<MessageMeta> moved = store().listMessages(old.id(), UidRange.all());
        assertThat(moved).extracting(m -> read(old, m.uid())).containsExactly("one", "two");
        assertThat(moved.get(1).flags()).containsExactly(Flags.SEEN);
        assertThat(store().getMailbox(child.id()).orElseThrow().name()).isEqualTo("INBOX/Child");
        assertThat(append(inbox, "three").uid()).isEqualTo(3); // UIDs are never reused
    }

    @Test
    default void deletingAMailboxKeepsItsChildrenAndSubscription() {
        Account alice = account("alice@example.org");
        Mailbox parent = store().createMailbox(alice.id(), "Parent");
        Mailbox child = store().createMailbox(alice.id(), "Parent/Child");
        store().subscribeMailbox(alice.id(), "Parent");
        append(parent, "gone");

        store().deleteMailbox(parent.id());

        assertThat(store().getMailbox(parent.id())).isEmpty();
        assertThat(store().getMailbox(child.id())).isPresent();
        assertThat(store().listSubscriptions(alice.id())).contains("Parent");
        assertFails(StoreException.Kind.NOT_FOUND, "mailbox", () -> store().deleteMailbox(parent.id()));
        assertFails(StoreException.Kind.NOT_FOUND, "mailbox", () -> store().listMessages(parent.id(), UidRange.all()));
    }

    @Test
    default void uidValidityDiffersWhenAMailboxIsDeletedAndCreatedAgain() {
        Account alice = account("alice@example.org");
        Mailbox first = store().createMailbox(alice.id(), "Folder");
        append(first, "a");
        append(first, "b");
        store().deleteMailbox(first.id());

        Mailbox second = store().createMailbox(alice.id(), "Folder");

        assertThat(second.uidValidity()).isNotEqualTo(first.uidValidity());
        MailboxStatus status = store().status(second.id());
        assertThat(status.uidValidity()).isEqualTo(second.uidValidity());
        assertThat(status.messages()).isZero();
        assertThat(status.uidNext()).isEqualTo(1);
        assertThat(first.uidValidity()).isBetween(1L, 0xFFFF_FFFFL);
        assertThat(second.uidValidity()).isBetween(1L, 0xFFFF_FFFFL);
    }

    @Test
    default void subscriptionsAreNamesThatNeedNotExist() {
        Account alice = account("alice@example.org");
        store().unsubscribeMailbox(alice.id(), "Junk");
        store().subscribeMailbox(alice.id(), "Shared/Elsewhere");
        store().subscribeMailbox(alice.id(), "Shared/Elsewhere");
        store().subscribeMailbox(alice.id(), "inbox");

        assertThat(store().listSubscriptions(alice.id()))
                .containsExactly("Archive", "Drafts", "INBOX", "Sent", "Shared/Elsewhere", "Trash");
        assertThat(store().getMailbox(alice.id(), "Junk").orElseThrow().subscribed()).isFalse();
        assertFails(StoreException.Kind.NOT_FOUND, "account", () -> store().subscribeMailbox(alice.id() + 99, "X"));
    }

    // ------------------------------------------------------------------ messages

    @Test
    default void appendedMessageReadsBackByteForByteWithItsMetadata() throws IOException {
        Account alice = account("alice@example.org");
        Mailbox inbox = inbox(alice);
        byte[] body = new byte[70_000];
        new Random(7).nextBytes(body);
        Instant date = Instant.parse("2023-12-24T18:00:00Z");

        AppendResult r = store().append(inbox.id(), new ByteArrayInputStream(body), Set.of("\\seen", "$Important"), date);

        assertThat(r.mailboxId()).isEqualTo(inbox.id());
        assertThat(r.uidValidity()).isEqualTo(inbox.uidValidity());
        assertThat(r.uid()).isEqualTo(1);
        assertThat(r.size()).isEqualTo(body.length);
        try (InputStream in = store().openMessage(inbox.id(), r.uid())) {
            assertThat(in.readAllBytes()).isEqualTo(body);
        }
        MessageMeta meta = store().listMessages(inbox.id(), UidRange.of(1)).get(0);
        assertThat(meta.uid()).isEqualTo(1);
        assertThat(meta.flags()).containsExactlyInAnyOrder(Flags.SEEN, "$Important");
        assertThat(meta.internalDate()).isEqualTo(date);
        assertThat(meta.size()).isEqualTo(body.length);
        assertThat(meta.modSeq()).isEqualTo(r.modSeq());
        assertThat(meta.blobId()).isEqualTo(r.blobId());
        assertFails(StoreException.Kind.NOT_FOUND, "UID 2", () -> store().openMessage(inbox.id(), 2));
        assertFails(StoreException.Kind.NOT_FOUND, "mailbox", () -> store().append(inbox.id() + 999, body, Set.of(), null));
    }

    @Test
    default void appendAllStoresEveryMessageWithConsecutiveUidsInOneChange() throws IOException {
        Account alice = account("alice@example.org");
        Mailbox inbox = inbox(alice);
        append(inbox, "first");
        java.util.Queue<StoreEvent> events = new java.util.concurrent.ConcurrentLinkedQueue<>();
        store().subscribe(inbox.id(), events::add);
        byte[] large = new byte[300_000]; // a body kept as a file next to small ones kept inline
        new Random(3).nextBytes(large);
        Instant date = Instant.parse("2023-01-02T03:04:05Z");

        List<AppendResult> r = store().appendAll(inbox.id(), List.of(
                new NewMessage(() -> new ByteArrayInputStream("Subject: a\r\n\r\none".getBytes(UTF_8)), Set.of(Flags.SEEN), date),
                new NewMessage(() -> new ByteArrayInputStream(large), Set.of(), null),
                new NewMessage(() -> new ByteArrayInputStream("Subject: c\r\n\r\nthree".getBytes(UTF_8)), Set.of("$Work"), date)));

        assertThat(r).extracting(AppendResult::uid).containsExactly(2L, 3L, 4L);
        assertThat(r).extracting(AppendResult::uidValidity).containsOnly(inbox.uidValidity());
        assertThat(r).extracting(AppendResult::modSeq).containsOnly(r.get(0).modSeq());
        assertThat(read(inbox, 2)).isEqualTo("Subject: a\r\n\r\none");
        try (InputStream in = store().openMessage(inbox.id(), 3)) {
            assertThat(in.readAllBytes()).isEqualTo(large);
        }
        List<MessageMeta> metas = store().listMessages(inbox.id(), new UidRange(2, 4));
        assertThat(metas.get(0).flags()).containsExactly(Flags.SEEN);
        assertThat(metas.get(0).internalDate()).isEqualTo(date);
        assertThat(metas.get(2).flags()).containsExactly("$Work");
        assertThat(store().quota(alice.id()).usedMessages()).isEqualTo(4);
        // The first message's event may still reach the listener subscribed after it was appended.
        java.util.function.Supplier<List<StoreEvent.MessageAdded>> ours = () -> events.stream()
                .filter(e -> e instanceof StoreEvent.MessageAdded a && a.uids().stream().anyMatch(uid -> uid > 1))
                .map(e -> (StoreEvent.MessageAdded) e).toList();
        await().atMost(EVENT_WAIT).until(() -> !ours.get().isEmpty());
        assertThat(ours.get()).singleElement().satisfies(e -> assertThat(e.uids()).containsExactly(2L, 3L, 4L));
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

        assertFails(StoreException.Kind.UNAVAILABLE, "", () -> store().appendAll(inbox.id(), List.of(ok, big, unreadable)));
        assertThat(uids(inbox)).isEmpty();
        store().setQuota(alice.id(), OptionalLong.of(25));
        assertFails(StoreException.Kind.QUOTA_EXCEEDED, "", () -> store().appendAll(inbox.id(), List.of(ok, ok, ok)));
        assertThat(uids(inbox)).isEmpty();
        assertThat(store().quota(alice.id()).usedBytes()).isZero();
        assertFails(StoreException.Kind.INVALID, "", () -> store().appendAll(inbox.id(), List.of()));

        assertThat(store().appendAll(inbox.id(), List.of(ok, ok))).extracting(AppendResult::uid).containsExactly(1L, 2L);
    }

    @Test
    default void emptyMessageAndMissingInternalDateAreAccepted() {
        Account alice = account("alice@example.org");
        Instant before = Instant.now().minusSeconds(1);
        AppendResult r = store().append(inbox(alice).id(), new byte[0], Set.of(), null);
        MessageMeta meta = store().listMessages(inbox(alice).id(), UidRange.all()).get(0);
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
        assertThat(store().listMessages(inbox.id(), UidRange.of(r.uid())).get(0).flags())
                .containsExactlyInAnyOrder(Flags.ANSWERED, Flags.FLAGGED, Flags.DELETED, Flags.DRAFT, "$Label1");
    }

    @Test
    default void statusCountsMessagesUnseenSizeAndNextUid() {
        Account alice = account("alice@example.org");
        Mailbox inbox = inbox(alice);
        MailboxStatus empty = store().status(inbox.id());
        assertThat(empty.messages()).isZero();
        assertThat(empty.uidNext()).isEqualTo(1);
        assertThat(empty.totalSize()).isZero();

        append(inbox, "12345", Flags.SEEN);
        append(inbox, "123");
        AppendResult last = append(inbox, "1", "$Work");

        MailboxStatus s = store().status(inbox.id());
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
        long modSeq = store().status(inbox.id()).highestModSeq();
        long lastUid = 0;
        for (int i = 0; i < 5; i++) {
            AppendResult r = append(inbox, "m" + i);
            assertThat(r.uid()).isGreaterThan(lastUid);
            assertThat(r.modSeq()).isGreaterThan(modSeq);
            lastUid = r.uid();
            modSeq = r.modSeq();
        }
        ExpungeResult ex = store().expunge(inbox.id(), List.of(lastUid));
        assertThat(ex.modSeq()).isGreaterThan(modSeq);
        FlagUpdate f = store().storeFlags(inbox.id(), List.of(1L), FlagOperation.ADD, Set.of(Flags.SEEN), OptionalLong.empty());
        assertThat(f.changed().get(0).modSeq()).isGreaterThan(ex.modSeq());

        AppendResult next = append(inbox, "after expunge");
        assertThat(next.uid()).isGreaterThan(lastUid);
        assertThat(next.modSeq()).isGreaterThan(f.changed().get(0).modSeq());
        assertThat(store().status(inbox.id()).highestModSeq()).isEqualTo(next.modSeq());
    }

    @Test
    default void listMessagesHonoursTheUidRange() {
        Account alice = account("alice@example.org");
        Mailbox inbox = inbox(alice);
        for (int i = 1; i <= 6; i++) append(inbox, "m" + i);
        store().expunge(inbox.id(), List.of(3L));

        assertThat(store().listMessages(inbox.id(), new UidRange(2, 5))).extracting(MessageMeta::uid).containsExactly(2L, 4L, 5L);
        assertThat(store().listMessages(inbox.id(), new UidRange(6, Long.MAX_VALUE))).extracting(MessageMeta::uid).containsExactly(6L);
        assertThat(store().listMessages(inbox.id(), new UidRange(7, 100))).isEmpty();
        assertThat(uids(inbox)).containsExactly(1L, 2L, 4L, 5L, 6L);
    }

    @Test
    default void flagsAreAddedRemovedAndReplaced() {
        Account alice = account("alice@example.org");
        Mailbox inbox = inbox(alice);
        append(inbox, "a");
        append(inbox, "b", Flags.SEEN);

        FlagUpdate added = store().storeFlags(inbox.id(), List.of(1L, 2L, 99L), FlagOperation.ADD, Set.of("\\Seen", "$Todo"),
                OptionalLong.empty());
        assertThat(added.changed()).extracting(FlagUpdate.Changed::uid).containsExactly(1L, 2L);
        assertThat(added.changed().get(0).flags()).containsExactlyInAnyOrder(Flags.SEEN, "$Todo");
        assertThat(added.notModified()).isEmpty();

        FlagUpdate removed = store().storeFlags(inbox.id(), List.of(1L), FlagOperation.REMOVE, Set.of(Flags.SEEN),
                OptionalLong.empty());
        assertThat(removed.changed().get(0).flags()).containsExactly("$Todo");

        store().storeFlags(inbox.id(), List.of(2L), FlagOperation.REPLACE, Set.of(Flags.FLAGGED), OptionalLong.empty());
        List<MessageMeta> metas = store().listMessages(inbox.id(), UidRange.all());
        assertThat(metas.get(0).flags()).containsExactly("$Todo");
        assertThat(metas.get(1).flags()).containsExactly(Flags.FLAGGED);
        assertThat(store().status(inbox.id()).unseen()).isEqualTo(2);

        // A store that changes nothing leaves MODSEQ alone.
        long modSeq = store().status(inbox.id()).highestModSeq();
        FlagUpdate none = store().storeFlags(inbox.id(), List.of(2L), FlagOperation.ADD, Set.of(Flags.FLAGGED), OptionalLong.empty());
        assertThat(none.changed()).isEmpty();
        assertThat(store().status(inbox.id()).highestModSeq()).isEqualTo(modSeq);
    }

    @Test
    default void unchangedSinceLeavesNewerMessagesAloneAndReportsThem() {
        Account alice = account("alice@example.org");
        Mailbox inbox = inbox(alice);
        append(inbox, "a");
        append(inbox, "b");
        long seen = store().status(inbox.id()).highestModSeq();
        store().storeFlags(inbox.id(), List.of(2L), FlagOperation.ADD, Set.of("$Other"), OptionalLong.empty());

        FlagUpdate cond = store().storeFlags(inbox.id(), List.of(1L, 2L), FlagOperation.ADD, Set.of(Flags.DELETED),
                OptionalLong.of(seen));

        assertThat(cond.changed()).extracting(FlagUpdate.Changed::uid).containsExactly(1L);
        assertThat(cond.notModified()).containsExactly(2L);
        assertThat(store().listMessages(inbox.id(), UidRange.of(2)).get(0).flags()).containsExactly("$Other");
    }

    @Test
    default void expungeRemovesOnlyTheGivenExistingMessages() {
        Account alice = account("alice@example.org");
        Mailbox inbox = inbox(alice);
        for (int i = 1; i <= 4; i++) append(inbox, "m" + i);
        long before = store().status(inbox.id()).highestModSeq();

        ExpungeResult r = store().expunge(inbox.id(), List.of(2L, 4L, 17L));

        assertThat(r.uids()).containsExactly(2L, 4L);
        assertThat(r.modSeq()).isGreaterThan(before);
        assertThat(uids(inbox)).containsExactly(1L, 3L);
        assertFails(StoreException.Kind.NOT_FOUND, "UID 2", () -> store().openMessage(inbox.id(), 2));
        ExpungeResult nothing = store().expunge(inbox.id(), List.of(2L));
        assertThat(nothing.uids()).isEmpty();
        assertThat(store().status(inbox.id()).highestModSeq()).isEqualTo(r.modSeq());
    }

    @Test
    default void expungedSinceListsTheUidsRemovedAfterAModSeq() {
        Account alice = account("alice@example.org");
        Mailbox inbox = inbox(alice);
        Mailbox trash = store().getMailbox(alice.id(), "Trash").orElseThrow();
        for (int i = 1; i <= 5; i++) append(inbox, "m" + i);
        long start = store().status(inbox.id()).highestModSeq();
        assertThat(store().expungedSince(inbox.id(), start)).isEmpty();

        long first = store().expunge(inbox.id(), List.of(1L, 3L)).modSeq();
        store().storeFlags(inbox.id(), List.of(2L), FlagOperation.ADD, Set.of(Flags.SEEN), OptionalLong.empty());
        long flagged = store().status(inbox.id()).highestModSeq();
        store().move(inbox.id(), List.of(4L), trash.id());

        assertThat(store().expungedSince(inbox.id(), 0)).containsExactly(1L, 3L, 4L);
        assertThat(store().expungedSince(inbox.id(), start)).containsExactly(1L, 3L, 4L);
        assertThat(store().expungedSince(inbox.id(), first - 1)).containsExactly(1L, 3L, 4L);
        assertThat(store().expungedSince(inbox.id(), first)).containsExactly(4L);
        assertThat(store().expungedSince(inbox.id(), flagged)).containsExactly(4L);
        assertThat(store().expungedSince(inbox.id(), store().status(inbox.id()).highestModSeq())).isEmpty();
        // The target of the move lost nothing; an expunge of nothing remembers nothing.
        assertThat(store().expungedSince(trash.id(), 0)).isEmpty();
        store().expunge(inbox.id(), List.of(1L, 99L));
        assertThat(store().expungedSince(inbox.id(), 0)).containsExactly(1L, 3L, 4L);
        assertFails(StoreException.Kind.NOT_FOUND, "mailbox", () -> store().expungedSince(987_654L, 0));
    }

    @Test
    default void expungedUidsOfADeletedMailboxDoNotReachItsSuccessor() {
        Account alice = account("alice@example.org");
        Mailbox old = store().createMailbox(alice.id(), "Projects");
        append(old, "a");
        store().expunge(old.id(), List.of(1L));
        store().deleteMailbox(old.id());
        Mailbox again = store().createMailbox(alice.id(), "Projects");
        assertThat(store().expungedSince(again.id(), 0)).isEmpty();
    }

    @Test
    default void copyMapsUidsAndKeepsFlagsDatesAndBodies() {
        Account alice = account("alice@example.org");
        Mailbox inbox = inbox(alice);
        Mailbox archive = store().getMailbox(alice.id(), "Archive").orElseThrow();
        append(archive, "already there");
        append(inbox, "one", Flags.SEEN);
        append(inbox, "two");
        append(inbox, "three", "$Keep");

        CopyResult r = store().copy(inbox.id(), List.of(3L, 1L, 42L), archive.id());

        assertThat(r.targetMailboxId()).isEqualTo(archive.id());
        assertThat(r.targetUidValidity()).isEqualTo(archive.uidValidity());
        assertThat(r.uids()).containsExactly(Map.entry(1L, 2L), Map.entry(3L, 3L));
        assertThat(read(archive, 2)).isEqualTo("one");
        assertThat(read(archive, 3)).isEqualTo("three");
        List<MessageMeta> copied = store().listMessages(archive.id(), new UidRange(2, 3));
        assertThat(copied.get(0).flags()).containsExactly(Flags.SEEN);
        assertThat(copied.get(1).flags()).containsExactly("$Keep");
        assertThat(copied.get(0).internalDate()).isEqualTo(Instant.parse("2024-05-01T10:15:30Z"));
        assertThat(copied.get(0).modSeq()).isEqualTo(store().status(archive.id()).highestModSeq());
        assertThat(uids(inbox)).containsExactly(1L, 2L, 3L);

        CopyResult none = store().copy(inbox.id(), List.of(99L), archive.id());
        assertThat(none.uids()).isEmpty();
        assertFails(StoreException.Kind.NOT_FOUND, "mailbox", () -> store().copy(inbox.id(), List.of(1L), archive.id() + 999));
    }

    @Test
    default void moveCopiesThenExpungesTheSource() {
        Account alice = account("alice@example.org");
        Mailbox inbox = inbox(alice);
        Mailbox trash = store().getMailbox(alice.id(), "Trash").orElseThrow();
        append(inbox, "keep");
        append(inbox, "bin", Flags.DELETED);
        long quotaBefore = store().quota(alice.id()).usedBytes();

        CopyResult r = store().move(inbox.id(), List.of(2L), trash.id());

        assertThat(r.uids()).containsExactly(Map.entry(2L, 1L));
        assertThat(uids(inbox)).containsExactly(1L);
        assertThat(read(trash, 1)).isEqualTo("bin");
        assertThat(store().listMessages(trash.id(), UidRange.all()).get(0).flags()).containsExactly(Flags.DELETED);
        assertThat(store().quota(alice.id()).usedBytes()).isEqualTo(quotaBefore);

        // Moving within one mailbox gives the message a new UID.
        CopyResult self = store().move(inbox.id(), List.of(1L), inbox.id());
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

        List<AppendResult> results = store().deliver(List.of(aliceInbox.id(), bobInbox.id()),
                "Subject: hi all\r\n\r\nbody".getBytes(UTF_8), Set.of(), date);

        assertThat(results).extracting(AppendResult::mailboxId).containsExactly(aliceInbox.id(), bobInbox.id());
        assertThat(results).extracting(AppendResult::uid).containsExactly(1L, 2L);
        assertThat(results.get(0).blobId()).isEqualTo(results.get(1).blobId());
        assertThat(read(aliceInbox, 1)).isEqualTo("Subject: hi all\r\n\r\nbody");
        assertThat(read(bobInbox, 2)).isEqualTo("Subject: hi all\r\n\r\nbody");
        assertThat(store().listMessages(bobInbox.id(), UidRange.of(2)).get(0).internalDate()).isEqualTo(date);
        assertThat(store().quota(alice.id()).usedMessages()).isEqualTo(1);
        assertThat(store().quota(bob.id()).usedMessages()).isEqualTo(2);
        assertFails(StoreException.Kind.INVALID, "at least one", () -> store().deliver(List.of(), new byte[1], Set.of(), null));
    }

    // ------------------------------------------------------------------ quota

    @Test
    default void quotaCountsEveryCopyAndIsReleasedByExpunge() {
        Account alice = account("alice@example.org");
        Mailbox inbox = inbox(alice);
        Mailbox archive = store().getMailbox(alice.id(), "Archive").orElseThrow();
        append(inbox, "0123456789");
        store().copy(inbox.id(), List.of(1L), archive.id());

        Quota q = store().quota(alice.id());
        assertThat(q.accountId()).isEqualTo(alice.id());
        assertThat(q.limitBytes()).isEmpty();
        assertThat(q.usedBytes()).isEqualTo(20);
        assertThat(q.usedMessages()).isEqualTo(2);

        store().expunge(inbox.id(), List.of(1L));
        store().deleteMailbox(archive.id());
        assertThat(store().quota(alice.id()).usedBytes()).isZero();
        assertThat(store().quota(alice.id()).usedMessages()).isZero();
        assertFails(StoreException.Kind.NOT_FOUND, "account", () -> store().quota(alice.id() + 99));
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

        store().expunge(inbox.id(), List.of(2L, 4L, 17L));
        assertThat(store().quota(alice.id()).usedMessages()).isEqualTo(2);
        store().expunge(inbox.id(), List.of(2L, 3L));
        assertThat(store().quota(alice.id()).usedMessages()).isEqualTo(1);
        assertThat(store().quota(alice.id()).usedBytes()).isEqualTo(2);
    }

    @Test
    default void appendAndCopyOverQuotaAreRefusedAndChangeNothing() {
        Account alice = account("alice@example.org");
        store().setQuota(alice.id(), OptionalLong.of(15));
        Mailbox inbox = inbox(alice);
        Mailbox archive = store().getMailbox(alice.id(), "Archive").orElseThrow();
        append(inbox, "0123456789");
        MailboxStatus before = store().status(inbox.id());

        assertThatThrownBy(() -> append(inbox, "0123456789")).isInstanceOfSatisfying(StoreException.class, e -> {
            assertThat(e.kind()).isEqualTo(StoreException.Kind.QUOTA_EXCEEDED);
            assertThat(e.isTemporary()).isFalse();
            assertThat(e.getMessage()).contains("alice@example.org").contains("15");
        });
        assertFails(StoreException.Kind.QUOTA_EXCEEDED, "quota", () -> store().copy(inbox.id(), List.of(1L), archive.id()));

        assertThat(store().status(inbox.id())).isEqualTo(before);
        assertThat(store().status(archive.id()).messages()).isZero();
        assertThat(store().quota(alice.id()).usedBytes()).isEqualTo(10);
        // Exactly filling the quota is allowed; moving within the account needs no room.
        append(inbox, "01234");
        store().move(inbox.id(), List.of(1L), archive.id());
        assertThat(store().quota(alice.id()).usedBytes()).isEqualTo(15);
    }

    @Test
    default void deliveryIsAllOrNothingWhenOneRecipientIsOverQuota() {
        Account alice = account("alice@example.org");
        Account bob = account("bob@example.org");
        store().setQuota(bob.id(), OptionalLong.of(3));

        assertFails(StoreException.Kind.QUOTA_EXCEEDED, "bob@example.org",
                () -> store().deliver(List.of(inbox(alice).id(), inbox(bob).id()), "too big".getBytes(UTF_8), Set.of(), null));

        assertThat(store().status(inbox(alice).id()).messages()).isZero();
        assertThat(store().status(inbox(alice).id()).uidNext()).isEqualTo(1);
        assertThat(store().quota(alice.id()).usedBytes()).isZero();
    }

    // ------------------------------------------------------------------ notifications

    @Test
    default void eventsArriveInCommitOrderOnAStoreThread() {
        Account alice = account("alice@example.org");
        Mailbox work = store().createMailbox(alice.id(), "Work");
        List<StoreEvent> seen = new CopyOnWriteArrayList<>();
        Set<Thread> threads = Collections.synchronizedSet(new HashSet<>());
        store().subscribe(work.id(), e -> {
            threads.add(Thread.currentThread());
            seen.add(e);
        });

        AppendResult a = append(work, "a");
        AppendResult b = append(work, "b");
        FlagUpdate f = store().storeFlags(work.id(), List.of(a.uid()), FlagOperation.ADD, Set.of(Flags.SEEN), OptionalLong.empty());
        ExpungeResult x = store().expunge(work.id(), List.of(b.uid()));
        store().renameMailbox(work.id(), "Job");
        store().deleteMailbox(work.id());

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
        Mailbox sent = store().getMailbox(alice.id(), "Sent").orElseThrow();
        List<StoreEvent> closedOne = new CopyOnWriteArrayList<>();
        List<StoreEvent> inboxEvents = new CopyOnWriteArrayList<>();
        List<StoreEvent> sentEvents = new CopyOnWriteArrayList<>();
        EventSubscription closing = store().subscribe(inbox.id(), closedOne::add);
        store().subscribe(inbox.id(), inboxEvents::add);
        store().subscribe(sent.id(), sentEvents::add);
        store().subscribe(inbox.id(), e -> {
            throw new IllegalStateException("a failing listener must not stop the others");
        });
        closing.close();

        append(inbox, "in");
        store().copy(inbox.id(), List.of(1L), sent.id());
        append(inbox, "in again");

        await().atMost(EVENT_WAIT).until(() -> inboxEvents.size() >= 2 && !sentEvents.isEmpty());
        assertThat(inboxEvents).allSatisfy(e -> assertThat(e).isInstanceOf(StoreEvent.MessageAdded.class));
        assertThat(sentEvents).singleElement().isEqualTo(
                new StoreEvent.MessageAdded(sent.id(), new TreeSet<>(Set.of(1L)), store().status(sent.id()).highestModSeq()));
        assertThat(closedOne).isEmpty();
        assertFails(StoreException.Kind.NOT_FOUND, "mailbox", () -> store().subscribe(sent.id() + 999, e -> {}));
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
        Mailbox old = store().createMailbox(alice.id(), "Old");
        CountDownLatch holding = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        store().subscribe(old.id(), e -> {
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
            store().deleteMailbox(old.id());
            Mailbox fresh = store().createMailbox(alice.id(), "New");
            List<StoreEvent> heard = new CopyOnWriteArrayList<>();
            store().subscribe(fresh.id(), heard::add);
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
        store().subscribeAccount(alice.id(), seen::add);
        store().subscribeAccount(bob.id(), bobs::add);

        Mailbox child = store().createMailbox(alice.id(), "Lists/ietf");
        long lists = store().getMailbox(alice.id(), "Lists").orElseThrow().id();
        AppendResult a = append(child, "a");
        FlagUpdate f = store().storeFlags(child.id(), List.of(a.uid()), FlagOperation.ADD, Set.of(Flags.SEEN), OptionalLong.empty());
        ExpungeResult x = store().expunge(child.id(), List.of(a.uid()));
        store().subscribeMailbox(alice.id(), "Lists/ietf");
        store().subscribeMailbox(alice.id(), "Lists/ietf"); // no change, no event
        store().unsubscribeMailbox(alice.id(), "Nowhere"); // no change, no event
        store().renameMailbox(lists, "Groups");
        store().unsubscribeMailbox(alice.id(), "Groups/ietf");
        store().deleteMailbox(child.id());
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
        assertFails(StoreException.Kind.NOT_FOUND, "account", () -> store().subscribeAccount(bob.id() + 999, e -> {}));
    }

    @Test
    default void aMailboxsListenersHearAChangeBeforeItsAccountsAndClosedAccountListenersHearNothing() {
        Account alice = account("alice@example.org");
        Mailbox inbox = inbox(alice);
        List<String> order = new CopyOnWriteArrayList<>();
        List<AccountEvent> closedOne = new CopyOnWriteArrayList<>();
        store().subscribeAccount(alice.id(), e -> order.add("account"));
        store().subscribe(inbox.id(), e -> order.add("mailbox"));
        store().subscribeAccount(alice.id(), e -> {
            throw new IllegalStateException("a failing listener must not stop the others");
        });
        store().subscribeAccount(alice.id(), closedOne::add).close();

        append(inbox, "one");
        append(inbox, "two");
        Mailbox renamed = store().renameMailbox(inbox.id(), "Old mail"); // RFC 9051 §6.3.6: a new mailbox takes INBOX's messages

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
        store().subscribe(inbox.id(), events::add);
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

    @Test
    default void publishedModSeqCoversEveryWriteThatReturned() {
        Account alice = account("alice@example.org");
        Mailbox work = store().createMailbox(alice.id(), "Work");
        List<StoreEvent> heard = new CopyOnWriteArrayList<>();
        store().subscribe(work.id(), heard::add);
        long before = store().publishedModSeq(work.id());

        AppendResult a = append(work, "a");
        assertThat(store().publishedModSeq(work.id())).isEqualTo(a.modSeq());
        FlagUpdate f = store().storeFlags(work.id(), List.of(a.uid()), FlagOperation.ADD, Set.of("$Label1"), OptionalLong.empty());
        ExpungeResult x = store().expunge(work.id(), List.of(a.uid()));
        long published = store().publishedModSeq(work.id());
        assertThat(published).isEqualTo(x.modSeq()).isGreaterThan(f.changed().get(0).modSeq()).isGreaterThan(before);

        // What a session does before answering: wait until its listener has heard up to the published MODSEQ.
        await().atMost(EVENT_WAIT).until(() -> heard.stream().mapToLong(StoreEvent::modSeqOf).max().orElse(0) >= published);
        assertThat(heard).hasSize(3);
    }

    @Test
    default void messageAddedNamesTheKeywordsOfTheNewMessages() {
        Account alice = account("alice@example.org");
        Mailbox inbox = inbox(alice);
        Mailbox work = store().createMailbox(alice.id(), "Work");
        List<StoreEvent> heard = new CopyOnWriteArrayList<>();
        store().subscribe(work.id(), heard::add);
        append(inbox, "one", "\\Seen", "$Forwarded");
        append(inbox, "two", "Project-X");
        AppendResult plain = append(work, "plain", "\\Flagged");
        store().copy(inbox.id(), List.of(1L, 2L), work.id());

        await().atMost(EVENT_WAIT).until(() -> heard.size() >= 2);
        assertThat(heard).containsExactly(
                new StoreEvent.MessageAdded(work.id(), new TreeSet<>(Set.of(plain.uid())), plain.modSeq(), Set.of()),
                new StoreEvent.MessageAdded(work.id(), new TreeSet<>(Set.of(2L, 3L)), store().status(work.id()).highestModSeq(),
                        Set.of("$Forwarded", "Project-X")));
    }

    @Test
    default void recentMessagesAreClaimedOnceAndDurably() {
        Account alice = account("alice@example.org");
        Mailbox work = store().createMailbox(alice.id(), "Work");
        assertThat(store().firstRecentUid(work.id())).isEqualTo(1);
        long one = append(work, "one").uid();
        long two = append(work, "two").uid();
        assertThat(store().firstRecentUid(work.id())).isEqualTo(one);

        // The first session claims both; the second finds nothing left.
        assertThat(store().claimRecent(work.id(), two)).isEqualTo(one);
        assertThat(store().claimRecent(work.id(), two)).isEqualTo(two + 1);
        long three = append(work, "three").uid();
        assertThat(store().firstRecentUid(work.id())).isEqualTo(three);
        assertThat(store().claimRecent(work.id(), three)).isEqualTo(three);
        assertThat(store().firstRecentUid(work.id())).isEqualTo(three + 1);
        assertFails(StoreException.Kind.NOT_FOUND, "mailbox", () -> store().claimRecent(work.id() + 999, 1));
    }

    // ------------------------------------------------------------------ structure and text

    @Test
    default void structureIsStoredAtDeliveryAndCopiedWithTheMessage() {
        Mailbox inbox = inbox(account("structure@example.com"));
        String msg = "From: a@example.org\r\nSubject: s\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\n"
                + "--B\r\n\r\none\r\n--B--\r\n";
        long uid = append(inbox, msg).uid();
        var parsed = org.castellan.protocol.imap.MessageStructure.parse(msg.getBytes(UTF_8));
        var stored = store().structure(inbox.id(), uid).orElseThrow();
        assertThat(stored.bodyStructure(true, false)).isEqualTo(parsed.bodyStructure(true, false));
        assertThat(stored.envelope(false)).isEqualTo(parsed.envelope(false));
        Mailbox other = store().createMailbox(inbox.accountId(), "Other");
        long copied = store().copy(inbox.id(), List.of(uid), other.id()).uids().get(uid);
        assertThat(store().structure(other.id(), copied).orElseThrow().envelope(false)).isEqualTo(parsed.envelope(false));
        assertThat(store().structure(inbox.id(), uid + 100)).isEmpty();
    }

    @Test
    default void textSearchTogetherWithItsScanListMatchesEveryMessageOnce() {
        Mailbox inbox = inbox(account("text@example.com"));
        long hit = append(inbox, "Subject: Findme\r\n\r\nbody words\r\n").uid();
        long miss = append(inbox, "Subject: other\r\n\r\nnothing\r\n").uid();
        TextMatches m = store().searchText(inbox.id(), false, "FINDME");
        assertThat(m.matching()).doesNotContain(miss);
        assertThat(m.unindexed().contains(hit) || m.matching().contains(hit)).isTrue();
        Set<Long> both = new TreeSet<>(m.matching());
        both.addAll(m.unindexed());
        assertThat(both).isSubsetOf(uids(inbox));
        assertThat(store().searchText(inbox.id(), true, "Findme").matching()).isEmpty(); // only in the header
    }
}
