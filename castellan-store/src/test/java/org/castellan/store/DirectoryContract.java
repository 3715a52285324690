package org.castellan.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.castellan.store.StoreAssertions.assertFails;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.castellan.protocol.mail.EmailAddress;
import org.junit.jupiter.api.Test;

/**
 * The behaviour every {@link Directory} must have: domains, accounts and credentials, app
 * passwords, enrollment tokens and requests, certificate bindings, aliases and routes. An
 * implementation's test implements this interface and returns a fresh, empty directory from
 * {@link #directory()} for each test (and closes it afterwards).
 */
public interface DirectoryContract extends DirectoryFixture {

    // ------------------------------------------------------------------ domains

    @Test
    default void domainsAreCreatedListedFoundAndDeleted() {
        Domain d = directory().createDomain("Example.ORG");
        directory().createDomain("example.com");

        assertThat(d.name()).isEqualTo("example.org");
        assertThat(directory().listDomains()).extracting(Domain::name).containsExactly("example.com", "example.org");
        assertThat(directory().getDomain("EXAMPLE.org")).contains(d);

        directory().deleteDomain("example.org");
        assertThat(directory().getDomain("example.org")).isEmpty();
        assertFails(StoreException.Kind.NOT_FOUND, "example.org", () -> directory().deleteDomain("example.org"));
    }

    @Test
    default void badOrDuplicateDomainsAreRefused() {
        directory().createDomain("example.org");
        assertFails(StoreException.Kind.ALREADY_EXISTS, "example.org", () -> directory().createDomain("EXAMPLE.org"));
        assertFails(StoreException.Kind.INVALID, "not a valid domain", () -> directory().createDomain("bad..domain"));
        assertFails(StoreException.Kind.INVALID, "not a valid domain", () -> directory().createDomain("-x.org"));
    }

    @Test
    default void domainWithAccountsOrAliasesCannotBeDeleted() {
        Account alice = account("alice@example.org");
        assertFails(StoreException.Kind.INVALID, "1 account", () -> directory().deleteDomain("example.org"));

        directory().deleteAccount(alice.id());
        directory().createAlias(EmailAddress.of("info@example.org"), EmailAddress.of("someone@elsewhere.net"));
        assertFails(StoreException.Kind.INVALID, "1 alias", () -> directory().deleteDomain("example.org"));

        directory().deleteAlias(EmailAddress.of("info@example.org"));
        directory().deleteDomain("example.org");
        assertThat(directory().listDomains()).isEmpty();
    }

    // ------------------------------------------------------------------ blocks and revocations

    /** A block of one source is kept until it ends; the same source blocked again keeps the later end. */
    @Test
    default void blocksAreKeptUntilTheyEndOrAreLifted() {
        // putBlock drops the blocks that have ended by the store's clock: the blocks must end after it.
        Instant now = Instant.ofEpochSecond(Instant.now().getEpochSecond());
        directory().putBlock(new LoginBlock("192.0.2.7/32", Optional.empty(), 10, now.plusSeconds(900)));
        directory().putBlock(new LoginBlock("192.0.2.0/24", Optional.of("alice@example.org"), 10, now.plusSeconds(600)));
        directory().putBlock(new LoginBlock("198.51.100.0/24", Optional.empty(), 40, now.plusSeconds(300)));
        directory().putBlock(new LoginBlock("192.0.2.7/32", Optional.empty(), 11, now.plusSeconds(60)));

        assertThat(directory().listBlocks(now)).containsExactly(
                new LoginBlock("198.51.100.0/24", Optional.empty(), 40, now.plusSeconds(300)),
                new LoginBlock("192.0.2.0/24", Optional.of("alice@example.org"), 10, now.plusSeconds(600)),
                new LoginBlock("192.0.2.7/32", Optional.empty(), 11, now.plusSeconds(900)));
        assertThat(directory().listBlocks(now.plusSeconds(601))).extracting(LoginBlock::source).containsExactly("192.0.2.7/32");

        assertThat(directory().deleteBlocks(Set.of("192.0.2.7/32", "192.0.2.0/24"))).isEqualTo(2);
        assertThat(directory().listBlocks(now)).extracting(LoginBlock::source).containsExactly("198.51.100.0/24");
        assertThat(directory().deleteAllBlocks()).isEqualTo(1);
        assertThat(directory().listBlocks(now)).isEmpty();
    }

    /** A revocation is kept once, however many nodes record it. */
    @Test
    default void aRevocationIsKeptOnce() {
        Instant at = Instant.parse("2026-12-07T10:00:00Z");
        CertificateRevocation r = new CertificateRevocation("CN=Castellan Device CA,O=Example", "1f3a", at, "keyCompromise");
        assertThat(directory().recordRevocation(r)).isTrue();
        assertThat(directory().recordRevocation(new CertificateRevocation(r.issuer(), "1f3a", at.plusSeconds(5), "superseded")))
                .isFalse();
        CertificateRevocation other = new CertificateRevocation("CN=Castellan User CA,O=Example", "1f3a", at.plusSeconds(1),
                "unspecified");
        assertThat(directory().recordRevocation(other)).isTrue();
        assertThat(directory().listRevocations()).containsExactly(r, other);
    }

    // ------------------------------------------------------------------ accounts

    /**
     * Sessions, caches and other nodes hold an account by its id: a deleted account's id given to
     * the next new account would hand the old account's open sessions the new one's mail.
     */
    @Test
    default void anIdOfADeletedAccountIsNeverGivenAgain() {
        account("alice@example.org");
        Account newest = account("bob@example.org");
        directory().deleteAccount(newest.id());
        Account next = account("carol@example.org");
        assertThat(next.id()).isGreaterThan(newest.id());
        directory().deleteAccount(next.id());
        assertThat(account("bob@example.org").id()).isGreaterThan(next.id());
    }

    @Test
    default void accountNeedsAnExistingDomainAndAFreeAddress() {
        assertFails(StoreException.Kind.NOT_FOUND, "domain example.org",
                () -> directory().createAccount(EmailAddress.of("a@example.org"), "secret", OptionalLong.empty()));
        account("a@example.org");
        assertFails(StoreException.Kind.ALREADY_EXISTS, "a@example.org",
                () -> directory().createAccount(EmailAddress.of("A@Example.org"), "secret", OptionalLong.empty()));
        assertFails(StoreException.Kind.INVALID, "credential",
                () -> directory().createAccount(EmailAddress.of("b@example.org"), " ", OptionalLong.empty()));
        assertFails(StoreException.Kind.INVALID, "negative",
                () -> directory().createAccount(EmailAddress.of("b@example.org"), "s", OptionalLong.of(-1)));
    }

    @Test
    default void accountsAreFoundCaseInsensitivelyAndById() {
        Account alice = account("Alice@Example.org");

        assertThat(directory().getAccount(EmailAddress.of("ALICE@example.ORG"))).contains(alice);
        assertThat(directory().getAccount(alice.id())).contains(alice);
        assertThat(alice.address().toString()).isEqualTo("Alice@example.org");
        assertThat(alice.credential()).isEqualTo("SCRAM-SHA-256$4096:c2FsdA==$stored:server");
        assertThat(alice.quotaBytes()).isEmpty();
        assertThat(directory().getAccount(EmailAddress.of("bob@example.org"))).isEmpty();
        assertThat(directory().getAccount(alice.id() + 1000)).isEmpty();
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

        assertThat(directory().listAccounts()).extracting(a -> a.address().toString())
                .containsExactly("a@one.org", "b@one.org", "c@two.org");
        assertThat(directory().listAccounts("ONE.org")).extracting(a -> a.address().toString())
                .containsExactly("a@one.org", "b@one.org");
        assertThat(directory().listAccounts("three.org")).isEmpty();
    }

    @Test
    default void anAccountIsPlacedOnANodeAndBackOnTheDefault() {
        Account alice = account("alice@example.org");
        Account bob = account("bob@example.org");
        assertThat(directory().placement(alice.id())).isEmpty();

        directory().setPlacement(alice.id(), java.util.Optional.of("mailbox-2"));
        assertThat(directory().placement(alice.id())).hasValue("mailbox-2");
        assertThat(directory().placement(bob.id())).isEmpty();

        directory().setPlacement(alice.id(), java.util.Optional.empty());
        assertThat(directory().placement(alice.id())).isEmpty();
        assertFails(StoreException.Kind.INVALID, "DNS label",
                () -> directory().setPlacement(alice.id(), java.util.Optional.of("node one")));
        assertFails(StoreException.Kind.INVALID, "DNS label",
                () -> directory().setPlacement(alice.id(), java.util.Optional.of("-node")));
        assertFails(StoreException.Kind.NOT_FOUND, "account",
                () -> directory().setPlacement(alice.id() + 99, java.util.Optional.of("mailbox-1")));
        assertFails(StoreException.Kind.NOT_FOUND, "account", () -> directory().placement(alice.id() + 99));
    }

    @Test
    default void credentialAndQuotaCanBeChanged() {
        Account alice = account("alice@example.org");

        directory().setCredential(alice.id(), "new-secret");
        directory().setQuota(alice.id(), OptionalLong.of(5000));
        Account changed = directory().getAccount(alice.id()).orElseThrow();
        assertThat(changed.credential()).isEqualTo("new-secret");
        assertThat(changed.quotaBytes()).hasValue(5000);

        directory().setQuota(alice.id(), OptionalLong.empty());
        assertThat(directory().getAccount(alice.id()).orElseThrow().quotaBytes()).isEmpty();
        assertFails(StoreException.Kind.NOT_FOUND, "account", () -> directory().setCredential(alice.id() + 99, "x"));
        assertFails(StoreException.Kind.NOT_FOUND, "account", () -> directory().setQuota(alice.id() + 99, OptionalLong.empty()));
    }

    @Test
    default void aCredentialIsReplacedOnlyWhileItIsStillTheExpectedOne() {
        Account alice = account("alice@example.org");
        String first = alice.credential();

        assertThat(directory().replaceCredential(alice.id(), first, "rehashed")).isTrue();
        assertThat(directory().getAccount(alice.id()).orElseThrow().credential()).isEqualTo("rehashed");

        // A password change came in between: the stale replacement must not undo it.
        directory().setCredential(alice.id(), "changed by the operator");
        assertThat(directory().replaceCredential(alice.id(), "rehashed", "stale")).isFalse();
        assertThat(directory().getAccount(alice.id()).orElseThrow().credential()).isEqualTo("changed by the operator");
        assertThat(directory().replaceCredential(alice.id() + 99, "x", "y")).isFalse();
    }

    // ------------------------------------------------------------------ app passwords

    @Test
    default void appPasswordsAreCreatedListedAndRevokedPerAccount() {
        Account alice = account("alice@example.org");
        Account bob = account("bob@example.org");
        AppPassword phone = directory().createAppPassword(alice.id(), "phone", "SCRAM-SHA-256$4096:cGhvbmU=$s:k", Set.of("imap", "smtp"));
        AppPassword laptop = directory().createAppPassword(alice.id(), "laptop", "SCRAM-SHA-256$4096:bGFwdG9w$s:k", Set.of("pop3"));

        assertThat(directory().listAppPasswords(alice.id())).containsExactly(phone, laptop);
        assertThat(phone.scope()).containsExactlyInAnyOrder("imap", "smtp");
        assertThat(phone.credential()).isEqualTo("SCRAM-SHA-256$4096:cGhvbmU=$s:k");
        assertThat(phone.toString()).contains("phone").doesNotContain("cGhvbmU");
        assertThat(directory().listAppPasswords(bob.id())).isEmpty();

        // One account cannot revoke another's.
        assertFails(StoreException.Kind.NOT_FOUND, "app password", () -> directory().revokeAppPassword(bob.id(), phone.id()));
        directory().revokeAppPassword(alice.id(), phone.id());
        assertThat(directory().listAppPasswords(alice.id())).containsExactly(laptop);
        assertFails(StoreException.Kind.NOT_FOUND, "app password", () -> directory().revokeAppPassword(alice.id(), phone.id()));
    }

    @Test
    default void anAppPasswordsSelectorIsUniquePerAccount() {
        Account alice = account("alice@example.org");
        Account bob = account("bob@example.org");
        AppPassword phone = directory().createAppPassword(alice.id(), "phone", "x", Optional.of("7Hqa"), Set.of("imap"));
        assertThat(phone.selector()).contains("7Hqa");
        assertThat(directory().listAppPasswords(alice.id())).containsExactly(phone);
        assertFails(StoreException.Kind.INVALID, "selector",
                () -> directory().createAppPassword(alice.id(), "tablet", "x", Optional.of("7Hqa"), Set.of("imap")));
        assertThat(directory().createAppPassword(bob.id(), "phone", "x", Optional.of("7Hqa"), Set.of("imap")).selector())
                .as("another account's").contains("7Hqa");
        assertFails(StoreException.Kind.INVALID, "selector",
                () -> directory().createAppPassword(alice.id(), "l", "x", Optional.of("x".repeat(17)), Set.of("imap")));

        // Without a selector (made before selectors existed), any number of them.
        AppPassword old = directory().createAppPassword(alice.id(), "old laptop", "x", Set.of("pop3"));
        directory().createAppPassword(alice.id(), "old phone", "x", Set.of("pop3"));
        assertThat(old.selector()).isEmpty();
        assertThat(directory().listAppPasswords(alice.id())).extracting(AppPassword::selector)
                .containsExactly(Optional.of("7Hqa"), Optional.empty(), Optional.empty());
    }

    @Test
    default void badAppPasswordsAreRefused() {
        Account alice = account("alice@example.org");
        assertFails(StoreException.Kind.INVALID, "label", () -> directory().createAppPassword(alice.id(), " ", "x", Set.of("imap")));
        assertFails(StoreException.Kind.INVALID, "scope", () -> directory().createAppPassword(alice.id(), "l", "x", Set.of()));
        assertFails(StoreException.Kind.INVALID, "credential", () -> directory().createAppPassword(alice.id(), "l", "", Set.of("imap")));
        assertFails(StoreException.Kind.NOT_FOUND, "account", () -> directory().createAppPassword(alice.id() + 1000, "l", "x", Set.of("imap")));
        for (int i = 0; i < Directory.MAX_APP_PASSWORDS; i++) directory().createAppPassword(alice.id(), "app " + i, "x", Set.of("imap"));
        assertFails(StoreException.Kind.INVALID, "revoke one", () -> directory().createAppPassword(alice.id(), "one more", "x", Set.of("imap")));
    }

    @Test
    default void deletingAnAccountRemovesItsAppPasswords() {
        Account alice = account("alice@example.org");
        directory().createAppPassword(alice.id(), "phone", "x", Set.of("imap"));
        directory().deleteAccount(alice.id());
        assertFails(StoreException.Kind.NOT_FOUND, "account", () -> directory().listAppPasswords(alice.id()));
        Account again = account("alice@example.org");
        assertThat(directory().listAppPasswords(again.id())).isEmpty();
    }

    // ------------------------------------------------------------------ enrollment tokens

    String TOKEN_HASH = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";

    @Test
    default void anEnrollmentTokenIsUsedOnceAndNotAfterItExpires() {
        Account alice = account("alice@example.org");
        Instant now = Instant.now();
        EnrollmentToken token = directory().createEnrollmentToken(alice.id(), "et-0123456789abcdef", TOKEN_HASH, "laptop", "device",
                now.plus(Duration.ofHours(1)));
        assertThat(directory().findEnrollmentToken("et-0123456789abcdef")).contains(token);
        assertThat(token.used()).isEmpty();

        assertThat(directory().useEnrollmentToken(token.id(), now)).isTrue();
        assertThat(directory().useEnrollmentToken(token.id(), now)).as("a replay").isFalse();
        assertThat(directory().findEnrollmentToken(token.id()).orElseThrow().used()).isPresent();

        directory().createEnrollmentToken(alice.id(), "et-00000000", TOKEN_HASH, "phone", "user", now.plus(Duration.ofMinutes(1)));
        assertThat(directory().useEnrollmentToken("et-00000000", now.plus(Duration.ofMinutes(2)))).as("expired").isFalse();
        assertThat(directory().useEnrollmentToken("et-ffffffff", now)).as("unknown").isFalse();

        assertFails(StoreException.Kind.ALREADY_EXISTS, "exists", () -> directory().createEnrollmentToken(alice.id(),
                token.id(), TOKEN_HASH, "laptop", "device", now.plus(Duration.ofHours(1))));
        assertFails(StoreException.Kind.INVALID, "id", () -> directory().createEnrollmentToken(alice.id(), "laptop",
                TOKEN_HASH, "laptop", "device", now.plus(Duration.ofHours(1))));
        assertFails(StoreException.Kind.INVALID, "device or user", () -> directory().createEnrollmentToken(alice.id(),
                "et-12345678", TOKEN_HASH, "laptop", "server", now.plus(Duration.ofHours(1))));

        directory().deleteAccount(alice.id());
        assertThat(directory().findEnrollmentToken(token.id())).isEmpty();
    }

    /** {@link Directory#useEnrollmentToken}: of calls at once, one wins (the token is spent once). */
    @Test
    default void anEnrollmentTokenUsedByManyAtOnceIsSpentByOne() throws Exception {
        Account alice = account("alice@example.org");
        Instant now = Instant.now();
        directory().createEnrollmentToken(alice.id(), "et-0123456789abcdef", TOKEN_HASH, "laptop", "device",
                now.plus(Duration.ofHours(1)));
        assertThat(atOnce(8, () -> directory().useEnrollmentToken("et-0123456789abcdef", now))).containsOnlyOnce(true);
        assertThat(directory().findEnrollmentToken("et-0123456789abcdef").orElseThrow().used()).isPresent();
    }

    /** Runs {@code call} on {@code threads} threads released together; their answers. */
    private <T> List<T> atOnce(int threads, Callable<T> call) throws Exception {
        CountDownLatch start = new CountDownLatch(1);
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            List<Future<T>> futures = new ArrayList<>();
            for (int i = 0; i < threads; i++) {
                futures.add(pool.submit(() -> {
                    start.await();
                    return call.call();
                }));
            }
            start.countDown();
            List<T> answers = new ArrayList<>();
            for (Future<T> f : futures) answers.add(f.get());
            return answers;
        } finally {
            pool.shutdownNow();
        }
    }

    // ------------------------------------------------------------------ enrollment requests

    @Test
    default void anEnrollmentRequestIsFoundByItsAccountAndKeyAndDecidedOnce() {
        Account alice = account("alice@example.org");
        Account bob = account("bob@example.org");
        byte[] csr = "MIIB...".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        EnrollmentRequest kept = directory().createEnrollmentRequest(alice.id(), "er-0123abcd", "device", "laptop", "EC", TOKEN_HASH, csr);
        assertThat(kept.state()).isEqualTo(EnrollmentRequest.State.PENDING);
        assertThat(directory().findOpenEnrollmentRequest(alice.id(), "device", "laptop", TOKEN_HASH)).map(EnrollmentRequest::id)
                .contains("er-0123abcd");
        assertThat(directory().findOpenEnrollmentRequest(bob.id(), "device", "laptop", TOKEN_HASH)).as("another account").isEmpty();
        assertThat(directory().findOpenEnrollmentRequest(alice.id(), "user", "laptop", TOKEN_HASH)).as("another kind").isEmpty();
        assertThat(directory().listEnrollmentRequests(EnrollmentRequest.State.PENDING)).extracting(EnrollmentRequest::id)
                .containsExactly("er-0123abcd");
        assertThat(directory().findEnrollmentRequest("er-0123abcd").orElseThrow().csr()).isEqualTo(csr);

        Instant now = Instant.now();
        assertThat(directory().moveEnrollmentRequest("er-0123abcd", EnrollmentRequest.State.PENDING, EnrollmentRequest.State.DENIED,
                "not ours", now)).isTrue();
        assertThat(directory().moveEnrollmentRequest("er-0123abcd", EnrollmentRequest.State.PENDING, EnrollmentRequest.State.APPROVED,
                null, now)).as("decided once").isFalse();
        EnrollmentRequest denied = directory().findEnrollmentRequest("er-0123abcd").orElseThrow();
        assertThat(denied.state()).isEqualTo(EnrollmentRequest.State.DENIED);
        assertThat(denied.reason()).contains("not ours");
        assertThat(denied.decidedAt()).isPresent();
        assertThat(directory().listEnrollmentRequests(EnrollmentRequest.State.PENDING)).isEmpty();

        assertFails(StoreException.Kind.ALREADY_EXISTS, "exists", () -> directory().createEnrollmentRequest(alice.id(),
                "er-0123abcd", "device", "laptop", "EC", TOKEN_HASH, csr));
        assertFails(StoreException.Kind.INVALID, "id", () -> directory().createEnrollmentRequest(alice.id(),
                "laptop", "device", "laptop", "EC", TOKEN_HASH, csr));
        assertFails(StoreException.Kind.INVALID, "device or user", () -> directory().createEnrollmentRequest(alice.id(),
                "er-00000000", "server", "laptop", "EC", TOKEN_HASH, csr));
        assertFails(StoreException.Kind.NOT_FOUND, "account", () -> directory().createEnrollmentRequest(bob.id() + 1000,
                "er-00000000", "device", "laptop", "EC", TOKEN_HASH, csr));

        directory().deleteAccount(alice.id());
        assertThat(directory().findEnrollmentRequest("er-0123abcd")).isEmpty();
    }

    /**
     * A request is issued once, by whichever call moves it first; once issued it is no longer the
     * open request a client's repeat finds, and of several open ones the latest is found.
     */
    @Test
    default void anEnrollmentRequestIsIssuedOnceAndThenNoLongerOpen() throws Exception {
        Account alice = account("alice@example.org");
        byte[] csr = "MIIB...".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        directory().createEnrollmentRequest(alice.id(), "er-00000001", "device", "laptop", "EC", TOKEN_HASH, csr);
        directory().createEnrollmentRequest(alice.id(), "er-00000002", "device", "laptop", "EC", TOKEN_HASH, csr);
        assertThat(directory().findOpenEnrollmentRequest(alice.id(), "device", "laptop", TOKEN_HASH))
                .map(EnrollmentRequest::id).as("the latest").contains("er-00000002");

        Instant now = Instant.now();
        assertThat(directory().moveEnrollmentRequest("er-00000002", EnrollmentRequest.State.PENDING,
                EnrollmentRequest.State.APPROVED, null, now)).isTrue();
        assertThat(atOnce(8, () -> directory().moveEnrollmentRequest("er-00000002", EnrollmentRequest.State.APPROVED,
                EnrollmentRequest.State.ISSUED, null, now))).containsOnlyOnce(true);
        assertThat(directory().findEnrollmentRequest("er-00000002").orElseThrow().state()).isEqualTo(EnrollmentRequest.State.ISSUED);
        assertThat(directory().listEnrollmentRequests(EnrollmentRequest.State.ISSUED)).extracting(EnrollmentRequest::id)
                .containsExactly("er-00000002");
        assertThat(directory().findOpenEnrollmentRequest(alice.id(), "device", "laptop", TOKEN_HASH))
                .map(EnrollmentRequest::id).as("issued is not open").contains("er-00000001");
        assertThat(directory().listEnrollmentRequests(EnrollmentRequest.State.PENDING)).extracting(EnrollmentRequest::id)
                .containsExactly("er-00000001");
    }

    // ------------------------------------------------------------------ certificate bindings

    String CARD = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
    String PHONE = "60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752";

    @Test
    default void certificatesAreBoundFoundListedAndUnbound() {
        Account alice = account("alice@example.org");
        Account bob = account("bob@example.org");
        CertificateBinding card = directory().bindCertificate(alice.id(), CARD, "smart card");
        CertificateBinding phone = directory().bindCertificate(bob.id(), PHONE, "phone");

        assertThat(directory().findCertificateBinding(CARD)).contains(card);
        assertThat(card.accountId()).isEqualTo(alice.id());
        assertThat(directory().listCertificateBindings(alice.id())).containsExactly(card);
        assertThat(directory().listCertificateBindings()).containsExactlyInAnyOrder(card, phone);

        // One certificate belongs to one account: binding it again, to anyone, is refused.
        assertFails(StoreException.Kind.ALREADY_EXISTS, "already bound", () -> directory().bindCertificate(bob.id(), CARD, "stolen"));
        assertFails(StoreException.Kind.ALREADY_EXISTS, "already bound", () -> directory().bindCertificate(alice.id(), CARD, "again"));

        directory().unbindCertificate(CARD);
        assertThat(directory().findCertificateBinding(CARD)).isEmpty();
        assertThat(directory().listCertificateBindings(alice.id())).isEmpty();
        assertFails(StoreException.Kind.NOT_FOUND, "not bound", () -> directory().unbindCertificate(CARD));
        // Free again, it may now go to another account.
        assertThat(directory().bindCertificate(bob.id(), CARD, "bob's card").accountId()).isEqualTo(bob.id());
    }

    @Test
    default void badCertificateBindingsAreRefused() {
        Account alice = account("alice@example.org");
        assertFails(StoreException.Kind.INVALID, "fingerprint", () -> directory().bindCertificate(alice.id(), CARD.toUpperCase(), "card"));
        assertFails(StoreException.Kind.INVALID, "fingerprint", () -> directory().bindCertificate(alice.id(), CARD.substring(2), "card"));
        assertFails(StoreException.Kind.INVALID, "fingerprint", () -> directory().bindCertificate(alice.id(), "sha256:" + CARD, "card"));
        assertFails(StoreException.Kind.INVALID, "label", () -> directory().bindCertificate(alice.id(), CARD, " "));
        assertFails(StoreException.Kind.NOT_FOUND, "account", () -> directory().bindCertificate(alice.id() + 1000, CARD, "card"));
        assertFails(StoreException.Kind.NOT_FOUND, "account", () -> directory().listCertificateBindings(alice.id() + 1000));
        assertThat(directory().findCertificateBinding("not a fingerprint")).isEmpty();
        assertThat(directory().listCertificateBindings()).isEmpty();
    }

    @Test
    default void deletingAnAccountRemovesItsCertificateBindings() {
        Account alice = account("alice@example.org");
        directory().bindCertificate(alice.id(), CARD, "card");
        directory().deleteAccount(alice.id());
        assertThat(directory().findCertificateBinding(CARD)).isEmpty();
        // A new account of the same address does not inherit the old one's certificate.
        Account again = account("alice@example.org");
        assertThat(directory().listCertificateBindings(again.id())).isEmpty();
    }

    // ------------------------------------------------------------------ aliases

    @Test
    default void aliasesResolveThroughChainsToTheLocalAccount() {
        Account alice = account("alice@example.org");
        directory().createAlias(EmailAddress.of("Postmaster@example.org"), EmailAddress.of("admin@example.org"));
        directory().createAlias(EmailAddress.of("admin@example.org"), EmailAddress.of("ALICE@example.org"));

        assertThat(directory().resolveRecipient(EmailAddress.of("postmaster@EXAMPLE.org"))).contains(alice);
        assertThat(directory().resolveRecipient(EmailAddress.of("alice@example.org"))).contains(alice);
        assertThat(directory().resolveRecipient(EmailAddress.of("nobody@example.org"))).isEmpty();
        assertThat(directory().listAliases()).extracting(a -> a.address().key())
                .containsExactly("admin@example.org", "postmaster@example.org");
    }

    @Test
    default void routesFollowAliasesAndAreKnownUntilTheDirectoryChanges() {
        Account alice = account("alice@example.org");
        directory().createAlias(EmailAddress.of("info@example.org"), EmailAddress.of("alice@example.org"));
        // That this is the account's INBOX is MailboxesContract's to check.
        long inbox = directory().route(alice.address()).orElseThrow().inboxId();
        EmailAddress info = EmailAddress.of("Info@Example.org");

        assertThat(directory().knownRoute(info)).isEmpty();
        Route route = directory().route(info).orElseThrow();
        assertThat(route).isEqualTo(new Route(alice.id(), alice.address(), inbox, OptionalLong.empty()));
        assertThat(directory().knownRoute(EmailAddress.of("info@example.org"))).contains(route);
        assertThat(directory().route(EmailAddress.of("nobody@example.org"))).isEmpty();
        assertThat(directory().knownRoute(EmailAddress.of("nobody@example.org"))).isEmpty();

        directory().setQuota(alice.id(), OptionalLong.of(1_000_000));
        assertThat(directory().knownRoute(info)).as("a quota changes the route").isEmpty();
        assertThat(directory().route(info).orElseThrow().quotaBytes()).hasValue(1_000_000);

        directory().deleteAlias(EmailAddress.of("info@example.org"));
        assertThat(directory().knownRoute(info)).as("a deleted alias leads nowhere at once").isEmpty();
        assertThat(directory().route(info)).isEmpty();
    }

    /** docs/store.md "Routes": a committed change retires every remembered route, an account's deletion too. */
    @Test
    default void aDeletedAccountsRouteIsForgottenAtOnce() {
        Account alice = account("alice@example.org");
        Route route = directory().route(alice.address()).orElseThrow();
        assertThat(directory().knownRoute(alice.address())).contains(route);

        directory().deleteAccount(alice.id());
        assertThat(directory().knownRoute(alice.address())).isEmpty();
        assertThat(directory().route(alice.address())).isEmpty();

        Account again = account("alice@example.org");
        assertThat(directory().route(alice.address()).orElseThrow().accountId()).isEqualTo(again.id());
    }

    @Test
    default void aliasToAnAddressElsewhereHasNoLocalAccount() {
        account("alice@example.org");
        Alias fwd = directory().createAlias(EmailAddress.of("fwd@example.org"), EmailAddress.of("someone@elsewhere.net"));

        assertThat(fwd.target()).isEqualTo(EmailAddress.of("someone@elsewhere.net"));
        assertThat(directory().resolveRecipient(EmailAddress.of("fwd@example.org"))).isEmpty();
    }

    @Test
    default void aliasLoopsAndOverlongChainsAreReported() {
        directory().createDomain("example.org");
        directory().createAlias(EmailAddress.of("a@example.org"), EmailAddress.of("b@example.org"));
        directory().createAlias(EmailAddress.of("b@example.org"), EmailAddress.of("c@example.org"));
        directory().createAlias(EmailAddress.of("c@example.org"), EmailAddress.of("A@example.org"));
        assertFails(StoreException.Kind.INVALID, "loop", () -> directory().resolveRecipient(EmailAddress.of("a@example.org")));

        for (int i = 0; i <= Directory.MAX_ALIAS_DEPTH; i++) {
            directory().createAlias(EmailAddress.of("hop" + i + "@example.org"), EmailAddress.of("hop" + (i + 1) + "@example.org"));
        }
        account("hop" + (Directory.MAX_ALIAS_DEPTH + 1) + "@example.org");
        assertFails(StoreException.Kind.INVALID, "longer than", () -> directory().resolveRecipient(EmailAddress.of("hop0@example.org")));
        assertThat(directory().resolveRecipient(EmailAddress.of("hop1@example.org"))).isPresent();
    }

    @Test
    default void aliasesAreValidated() {
        account("alice@example.org");
        assertFails(StoreException.Kind.INVALID, "itself",
                () -> directory().createAlias(EmailAddress.of("x@example.org"), EmailAddress.of("X@example.org")));
        assertFails(StoreException.Kind.ALREADY_EXISTS, "account",
                () -> directory().createAlias(EmailAddress.of("Alice@example.org"), EmailAddress.of("x@elsewhere.net")));
        assertFails(StoreException.Kind.NOT_FOUND, "domain",
                () -> directory().createAlias(EmailAddress.of("x@unknown.org"), EmailAddress.of("alice@example.org")));
        directory().createAlias(EmailAddress.of("x@example.org"), EmailAddress.of("alice@example.org"));
        assertFails(StoreException.Kind.ALREADY_EXISTS, "alias",
                () -> directory().createAlias(EmailAddress.of("X@example.org"), EmailAddress.of("alice@example.org")));
        assertFails(StoreException.Kind.ALREADY_EXISTS, "alias",
                () -> directory().createAccount(EmailAddress.of("x@example.org"), "s", OptionalLong.empty()));
        assertFails(StoreException.Kind.NOT_FOUND, "alias", () -> directory().deleteAlias(EmailAddress.of("y@example.org")));
    }
}
