package org.castellan.security.auth;

import org.castellan.testkit.ScramClient;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import org.castellan.testkit.TestPki;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;
import org.castellan.testkit.MutableClock;

class AuthServiceTest {

    private static final String ALICE = TestPki.CLIENT_EMAIL; // alice@example.org, named by the test client certificate
    private static final String ALICE_PASSWORD = "correct horse battery";
    private static final String BOB = "bob@example.org";
    private static final String BOB_PASSWORD = "staple";
    private static final InetAddress HOST_A = address("192.0.2.1");
    private static final InetAddress HOST_A2 = address("192.0.2.2");
    private static final InetAddress HOST_A3 = address("192.0.2.3");
    private static final InetAddress HOST_B = address("198.51.100.7");
    private static final byte[] EXPORTER = "thirty-two bytes of tls-exporter".getBytes(StandardCharsets.US_ASCII);

    @TempDir
    static Path pkiDirectory;
    private static X509Certificate clientCertificate;

    private final MapCredentialStore store = new MapCredentialStore().add(ALICE, ALICE_PASSWORD).add(BOB, BOB_PASSWORD);
    private final MutableClock clock = new MutableClock(Instant.parse("2026-01-05T09:00:00Z"));
    private AuthService service;

    @BeforeAll
    static void pki() {
        clientCertificate = TestPki.create(pkiDirectory).client().certificate();
    }

    @AfterEach
    void close() {
        if (service != null) service.close();
    }

    private AuthService service(AuthSettings settings) {
        service = new AuthService(store, settings, clock);
        return service;
    }

    /** Limiter numbers small enough to reach in a test, with no delays unless asked. */
    private static AuthSettings limits(int free, int blockAfter, Duration firstDelay, Duration maxDelay) {
        return new AuthSettings(4096, 100, free, blockAfter, 10, 100, firstDelay, maxDelay,
                Duration.ofMinutes(15), Duration.ofHours(1), 1000, 2);
    }

    private static AuthSettings noDelays(int free, int blockAfter) {
        return limits(free, blockAfter, Duration.ZERO, Duration.ZERO);
    }

    private static InetAddress address(String literal) {
        try {
            return InetAddress.getByName(literal);
        } catch (java.net.UnknownHostException e) {
            throw new IllegalArgumentException(e);
        }
    }

    private static AuthContext tls(InetAddress remote) {
        return new AuthContext("imaps", "imap", remote, true, false, Optional.empty(), Optional.empty());
    }

    private static AuthContext plaintext(InetAddress remote, boolean cleartextAllowed) {
        return new AuthContext("imap", "imap", remote, false, cleartextAllowed, Optional.empty(), Optional.empty());
    }

    private static AuthContext bound(InetAddress remote) {
        return new AuthContext("imaps", "imap", remote, true, false,
                Optional.of(new ChannelBinding(ChannelBinding.TLS_EXPORTER, EXPORTER)), Optional.empty());
    }

    private static AuthContext withCertificate(InetAddress remote) {
        return new AuthContext("imaps", "imap", remote, true, false, Optional.empty(), Optional.of(clientCertificate));
    }

    private static SaslStep result(CompletionStage<SaslStep> stage) throws Exception {
        return stage.toCompletableFuture().get(20, TimeUnit.SECONDS);
    }

    private static Optional<byte[]> plain(String user, String password) {
        return Optional.of(("\0" + user + "\0" + password).getBytes(StandardCharsets.UTF_8));
    }

    private SaslStep plainLogin(AuthContext ctx, String user, String password) throws Exception {
        return result(service.start(ctx, "PLAIN", plain(user, password)));
    }

    private static SaslStep.Failure failure(FailureKind kind) {
        return new SaslStep.Failure(kind);
    }

    private static void assertSuccess(SaslStep step, String account, String mechanism) {
        assertThat(step).isInstanceOf(SaslStep.Success.class);
        SaslStep.Success success = (SaslStep.Success) step;
        assertThat(success.account()).isEqualTo(account);
        assertThat(success.mechanism()).isEqualTo(mechanism);
    }

    // --- policy ---------------------------------------------------------------------------------

    @Test
    void mechanismsOfferedDependOnTlsCleartextBindingAndCertificate() {
        service(AuthSettings.defaults());
        assertThat(service.mechanisms(plaintext(HOST_A, false))).isEmpty();
        assertThat(service.passwordAllowed(plaintext(HOST_A, false))).isFalse();
        assertThat(service.mechanisms(plaintext(HOST_A, true))).containsExactly("SCRAM-SHA-256", "PLAIN", "LOGIN");
        assertThat(service.passwordAllowed(plaintext(HOST_A, true))).isTrue();
        assertThat(service.mechanisms(tls(HOST_A))).containsExactly("SCRAM-SHA-256", "PLAIN", "LOGIN");
        assertThat(service.passwordAllowed(tls(HOST_A))).isTrue();
        assertThat(service.mechanisms(bound(HOST_A)))
                .containsExactly("SCRAM-SHA-256-PLUS", "SCRAM-SHA-256", "PLAIN", "LOGIN");
        assertThat(service.mechanisms(withCertificate(HOST_A)))
                .containsExactly("SCRAM-SHA-256", "PLAIN", "LOGIN", "EXTERNAL");
    }

    @Test
    void noCredentialIsAcceptedWithoutTlsUnlessTheListenerAllowsCleartext() throws Exception {
        service(AuthSettings.defaults());
        AuthContext closed = plaintext(HOST_A, false);
        assertThat(plainLogin(closed, ALICE, ALICE_PASSWORD)).isEqualTo(failure(FailureKind.ENCRYPTION_REQUIRED));
        assertThat(result(service.start(closed, "LOGIN", Optional.empty()))).isEqualTo(failure(FailureKind.ENCRYPTION_REQUIRED));
        assertThat(result(service.start(closed, "SCRAM-SHA-256", Optional.empty())))
                .isEqualTo(failure(FailureKind.ENCRYPTION_REQUIRED));
        assertThat(result(service.login(closed, ALICE, ALICE_PASSWORD.toCharArray(), "USER")))
                .isEqualTo(failure(FailureKind.ENCRYPTION_REQUIRED));
        // Refused before the store is asked: no password was hashed.
        assertThat(service.stats().passwordHashes()).isZero();

        assertSuccess(plainLogin(plaintext(HOST_A, true), ALICE, ALICE_PASSWORD), ALICE, "PLAIN");
    }

    @Test
    void mechanismsNotOfferedHereAreUnavailable() throws Exception {
        service(AuthSettings.defaults());
        assertThat(result(service.start(tls(HOST_A), "CRAM-MD5", Optional.empty())))
                .isEqualTo(failure(FailureKind.MECHANISM_UNAVAILABLE));
        assertThat(result(service.start(tls(HOST_A), "SCRAM-SHA-256-PLUS", Optional.empty())))
                .isEqualTo(failure(FailureKind.MECHANISM_UNAVAILABLE));
        assertThat(result(service.start(tls(HOST_A), "EXTERNAL", Optional.empty())))
                .isEqualTo(failure(FailureKind.MECHANISM_UNAVAILABLE));
        assertThat(result(service.start(tls(HOST_A), "\r\nBOGUS", Optional.empty())))
                .isEqualTo(failure(FailureKind.MECHANISM_UNAVAILABLE));
    }

    // --- PLAIN, LOGIN, password commands --------------------------------------------------------

    @Test
    void plainLogsInAndTheSecondLoginSkipsPbkdf2() throws Exception {
        service(AuthSettings.defaults());
        assertSuccess(plainLogin(tls(HOST_A), ALICE, ALICE_PASSWORD), ALICE, "PLAIN");
        assertThat(service.stats().passwordHashes()).isEqualTo(1);
        assertThat(service.stats().cacheHits()).isZero();

        assertSuccess(plainLogin(tls(HOST_A), "Alice@Example.ORG", ALICE_PASSWORD), ALICE, "PLAIN");
        assertThat(service.stats().passwordHashes()).isEqualTo(1);
        assertThat(service.stats().cacheHits()).isEqualTo(1);

        // A wrong password is never answered from the cache.
        assertThat(plainLogin(tls(HOST_A), ALICE, "correct horse battery!")).isEqualTo(failure(FailureKind.INVALID_CREDENTIALS));
        assertThat(service.stats().passwordHashes()).isEqualTo(2);
    }

    @Test
    void aChangedSecretMissesTheCache() throws Exception {
        service(AuthSettings.defaults());
        assertSuccess(plainLogin(tls(HOST_A), ALICE, ALICE_PASSWORD), ALICE, "PLAIN");
        store.add(ALICE, "new password");
        assertThat(plainLogin(tls(HOST_A), ALICE, ALICE_PASSWORD)).isEqualTo(failure(FailureKind.INVALID_CREDENTIALS));
        assertSuccess(plainLogin(tls(HOST_A), ALICE, "new password"), ALICE, "PLAIN");
        assertThat(service.stats().cacheHits()).isZero();
    }

    @Test
    void unknownUserAndWrongPasswordLookAlike() throws Exception {
        service(AuthSettings.defaults());
        assertThat(plainLogin(tls(HOST_A), "nobody@example.org", ALICE_PASSWORD))
                .isEqualTo(plainLogin(tls(HOST_B), ALICE, "wrong"))
                .isEqualTo(failure(FailureKind.INVALID_CREDENTIALS));
        // The unknown user cost a PBKDF2 run too, so it takes as long.
        assertThat(service.stats().passwordHashes()).isEqualTo(2);
    }

    @Test
    void plainAuthzidMustBeEmptyOrTheAccount() throws Exception {
        service(AuthSettings.defaults());
        byte[] self = (ALICE + "\0" + ALICE + "\0" + ALICE_PASSWORD).getBytes(StandardCharsets.UTF_8);
        assertSuccess(result(service.start(tls(HOST_A), "PLAIN", Optional.of(self))), ALICE, "PLAIN");
        byte[] proxy = (BOB + "\0" + ALICE + "\0" + ALICE_PASSWORD).getBytes(StandardCharsets.UTF_8);
        assertThat(result(service.start(tls(HOST_A), "PLAIN", Optional.of(proxy))))
                .isEqualTo(failure(FailureKind.INVALID_CREDENTIALS));
    }

    @Test
    void plainWithoutInitialResponseAndMalformedInput() throws Exception {
        service(AuthSettings.defaults());
        SaslStep first = result(service.start(tls(HOST_A), "plain", Optional.empty()));
        assertThat(first).isInstanceOf(SaslStep.Challenge.class);
        SaslStep.Challenge challenge = (SaslStep.Challenge) first;
        assertThat(challenge.data()).isEmpty();
        assertSuccess(result(challenge.exchange().respond(plain(ALICE, ALICE_PASSWORD).get())), ALICE, "PLAIN");
        // The exchange is over; further input is a protocol error, not a login.
        assertThat(result(challenge.exchange().respond(plain(ALICE, ALICE_PASSWORD).get())))
                .isEqualTo(failure(FailureKind.MALFORMED));

        assertThat(result(service.start(tls(HOST_A), "PLAIN", Optional.of("alice".getBytes(StandardCharsets.UTF_8)))))
                .isEqualTo(failure(FailureKind.MALFORMED));
        assertThat(result(service.start(tls(HOST_A), "PLAIN", Optional.of(new byte[0]))))
                .isEqualTo(failure(FailureKind.MALFORMED));
        assertThat(service.stats().failures()).as("malformed input is not a guess").isZero();
    }

    @Test
    void loginPromptsAndChecksLikePlain() throws Exception {
        service(AuthSettings.defaults());
        SaslStep.Challenge user = (SaslStep.Challenge) result(service.start(tls(HOST_A), "LOGIN", Optional.empty()));
        assertThat(new String(user.data(), StandardCharsets.US_ASCII)).isEqualTo("Username:");
        SaslStep.Challenge pass = (SaslStep.Challenge) result(user.exchange().respond(BOB.getBytes(StandardCharsets.UTF_8)));
        assertThat(new String(pass.data(), StandardCharsets.US_ASCII)).isEqualTo("Password:");
        assertSuccess(result(pass.exchange().respond(BOB_PASSWORD.getBytes(StandardCharsets.UTF_8))), BOB, "LOGIN");
    }

    @Test
    void passwordCommandUsesTheSamePathAndLeavesTheCallersArrayAlone() throws Exception {
        service(AuthSettings.defaults());
        char[] password = ALICE_PASSWORD.toCharArray();
        assertSuccess(result(service.login(tls(HOST_A), ALICE, password, "USER")), ALICE, "USER");
        assertThat(new String(password)).isEqualTo(ALICE_PASSWORD);
        assertThat(result(service.login(tls(HOST_A), ALICE, "nope".toCharArray(), "LOGIN")))
                .isEqualTo(failure(FailureKind.INVALID_CREDENTIALS));
        assertThat(result(service.login(tls(HOST_A), "", "x".toCharArray(), "LOGIN")))
                .isEqualTo(failure(FailureKind.MALFORMED));
        assertThat(service.stats().cacheHits()).isZero();
        assertSuccess(result(service.login(tls(HOST_A), ALICE, password, "LOGIN")), ALICE, "LOGIN");
        assertThat(service.stats().cacheHits()).isEqualTo(1);
    }

    @Test
    void anUnavailableStoreIsTemporaryAndNotCounted() throws Exception {
        service(noDelays(0, 1));
        store.down(true);
        assertThat(plainLogin(tls(HOST_A), ALICE, ALICE_PASSWORD)).isEqualTo(failure(FailureKind.TEMPORARY));
        assertThat(result(service.start(tls(HOST_A), "SCRAM-SHA-256",
                Optional.of(("n,,n=" + ALICE + ",r=abc").getBytes(StandardCharsets.UTF_8)))))
                .isEqualTo(failure(FailureKind.TEMPORARY));
        store.down(false);
        store.addRaw(BOB, "SCRAM-SHA-256$not-a-secret");
        assertThat(plainLogin(tls(HOST_A), BOB, BOB_PASSWORD)).isEqualTo(failure(FailureKind.TEMPORARY));
        assertThat(service.blocks()).isEmpty();
        assertSuccess(plainLogin(tls(HOST_A), ALICE, ALICE_PASSWORD), ALICE, "PLAIN");
    }

    // --- SCRAM ----------------------------------------------------------------------------------

    private SaslStep scram(AuthContext ctx, String mechanism, ScramClient client) throws Exception {
        SaslStep first = result(service.start(ctx, mechanism, Optional.of(client.clientFirst())));
        if (!(first instanceof SaslStep.Challenge challenge)) return first;
        return result(challenge.exchange().respond(client.clientFinal(challenge.data())));
    }

    @Test
    void scramLogsInAndTheClientVerifiesTheServer() throws Exception {
        service(AuthSettings.defaults());
        ScramClient client = ScramClient.plain(ALICE, ALICE_PASSWORD, "fyko+d2lbbFgONRv9qkxdawL");
        SaslStep step = scram(tls(HOST_A), "SCRAM-SHA-256", client);
        assertSuccess(step, ALICE, "SCRAM-SHA-256");
        assertThat(client.serverFinalValid(((SaslStep.Success) step).serverFinal())).isTrue();

        ScramClient wrong = ScramClient.plain(ALICE, "battery horse correct", "abc");
        assertThat(scram(tls(HOST_A), "SCRAM-SHA-256", wrong)).isEqualTo(failure(FailureKind.INVALID_CREDENTIALS));
        assertThat(service.stats().passwordHashes()).as("SCRAM costs the server no PBKDF2").isZero();
    }

    @Test
    void scramWithoutInitialResponse() throws Exception {
        service(AuthSettings.defaults());
        ScramClient client = ScramClient.plain(BOB, BOB_PASSWORD, "abc");
        SaslStep.Challenge empty = (SaslStep.Challenge) result(service.start(tls(HOST_A), "SCRAM-SHA-256", Optional.empty()));
        assertThat(empty.data()).isEmpty();
        SaslStep.Challenge first = (SaslStep.Challenge) result(empty.exchange().respond(client.clientFirst()));
        assertSuccess(result(first.exchange().respond(client.clientFinal(first.data()))), BOB, "SCRAM-SHA-256");
    }

    @Test
    void scramPlusBindsToThisConnection() throws Exception {
        service(AuthSettings.defaults());
        ScramClient client = new ScramClient(ALICE, ALICE_PASSWORD, "abc", "p=tls-exporter,,", EXPORTER);
        assertSuccess(scram(bound(HOST_A), "SCRAM-SHA-256-PLUS", client), ALICE, "SCRAM-SHA-256-PLUS");

        // A relay has its own TLS connection to us, so its binding data differ from the client's.
        ScramClient relayed = new ScramClient(ALICE, ALICE_PASSWORD, "abc", "p=tls-exporter,,",
                "thirty-two bytes of another conn".getBytes(StandardCharsets.US_ASCII));
        assertThat(scram(bound(HOST_A), "SCRAM-SHA-256-PLUS", relayed)).isEqualTo(failure(FailureKind.INVALID_CREDENTIALS));
    }

    @Test
    void scramDowngradeIsDetected() throws Exception {
        service(AuthSettings.defaults());
        ScramClient stripped = new ScramClient(ALICE, ALICE_PASSWORD, "abc", "y,,", new byte[0]);
        assertThat(scram(bound(HOST_A), "SCRAM-SHA-256", stripped)).isEqualTo(failure(FailureKind.INVALID_CREDENTIALS));
        // Where -PLUS was not offered, "y" is an honest answer.
        ScramClient honest = new ScramClient(ALICE, ALICE_PASSWORD, "abc", "y,,", new byte[0]);
        assertSuccess(scram(tls(HOST_A), "SCRAM-SHA-256", honest), ALICE, "SCRAM-SHA-256");
    }

    @Test
    void scramUnknownUserGetsAStableFakeSalt() throws Exception {
        service(AuthSettings.defaults());
        String known = serverFirst(ALICE);
        String unknown = serverFirst("nobody@example.org");
        String shape = "r=abc[A-Za-z0-9+/]{24},s=[A-Za-z0-9+/]{22}==,i=4096";
        assertThat(known).matches(shape);
        assertThat(unknown).matches(shape);
        assertThat(salt(serverFirst("nobody@example.org"))).isEqualTo(salt(unknown));
        assertThat(salt(serverFirst("NOBODY@example.org"))).isEqualTo(salt(unknown));
        assertThat(salt(serverFirst("someone@example.org"))).isNotEqualTo(salt(unknown));
        String storedSalt = ScramSecret.parse(store.find(ALICE).orElseThrow().secret()).encode().split("[:$]")[2];
        assertThat(salt(known)).isEqualTo("s=" + storedSalt);

        ScramClient client = ScramClient.plain("nobody@example.org", ALICE_PASSWORD, "abc");
        assertThat(scram(tls(HOST_A), "SCRAM-SHA-256", client)).isEqualTo(failure(FailureKind.INVALID_CREDENTIALS));
    }

    private String serverFirst(String user) throws Exception {
        SaslStep step = result(service.start(tls(HOST_A), "SCRAM-SHA-256",
                Optional.of(("n,,n=" + user + ",r=abc").getBytes(StandardCharsets.UTF_8))));
        SaslStep.Challenge challenge = (SaslStep.Challenge) step;
        result(challenge.exchange().abort());
        return new String(challenge.data(), StandardCharsets.UTF_8);
    }

    private static String salt(String serverFirst) {
        return serverFirst.split(",")[1];
    }

    @Test
    void abortCountsAsNothing() throws Exception {
        service(noDelays(0, 1));
        SaslStep.Challenge challenge = (SaslStep.Challenge) result(service.start(tls(HOST_A), "LOGIN", Optional.empty()));
        assertThat(result(challenge.exchange().abort())).isEqualTo(failure(FailureKind.ABORTED));
        assertThat(result(challenge.exchange().respond(new byte[] {'x'}))).isEqualTo(failure(FailureKind.MALFORMED));
        assertThat(service.stats().failures()).isZero();
        assertThat(service.blocks()).isEmpty();
    }

    // --- EXTERNAL -------------------------------------------------------------------------------

    @Test
    void externalAuthenticatesTheCertificatesAccount() throws Exception {
        service(AuthSettings.defaults());
        assertSuccess(result(service.start(withCertificate(HOST_A), "EXTERNAL", Optional.of(new byte[0]))), ALICE, "EXTERNAL");
        assertSuccess(result(service.start(withCertificate(HOST_A), "EXTERNAL",
                Optional.of("ALICE@example.org".getBytes(StandardCharsets.UTF_8)))), ALICE, "EXTERNAL");
        assertThat(result(service.start(withCertificate(HOST_A), "EXTERNAL",
                Optional.of(BOB.getBytes(StandardCharsets.UTF_8))))).isEqualTo(failure(FailureKind.INVALID_CREDENTIALS));

        SaslStep.Challenge empty = (SaslStep.Challenge) result(service.start(withCertificate(HOST_A), "EXTERNAL", Optional.empty()));
        assertThat(empty.data()).isEmpty();
        assertSuccess(result(empty.exchange().respond(new byte[0])), ALICE, "EXTERNAL");
    }

    @Test
    void externalFailsWhenTheCertificateNamesNoAccount() throws Exception {
        service = new AuthService(new MapCredentialStore().add(BOB, BOB_PASSWORD), AuthSettings.defaults(), clock);
        assertThat(result(service.start(withCertificate(HOST_A), "EXTERNAL", Optional.of(new byte[0]))))
                .isEqualTo(failure(FailureKind.INVALID_CREDENTIALS));
    }

    @Test
    void externalPrefersTheAccountTheCertificateIsBoundTo() throws Exception {
        // The certificate names alice, but the operator bound it to bob: the binding decides.
        store.bind(clientCertificate, BOB);
        service(AuthSettings.defaults());
        assertSuccess(result(service.start(withCertificate(HOST_A), "EXTERNAL", Optional.of(new byte[0]))), BOB, "EXTERNAL");
        assertThat(result(service.start(withCertificate(HOST_A), "EXTERNAL",
                Optional.of(ALICE.getBytes(StandardCharsets.UTF_8))))).isEqualTo(failure(FailureKind.INVALID_CREDENTIALS));
    }

    @Test
    void externalAcceptsABoundCertificateThatNamesNoAccount() throws Exception {
        // alice is not an account here, so the names in the certificate lead nowhere; the binding does.
        MapCredentialStore bobOnly = new MapCredentialStore().add(BOB, BOB_PASSWORD).bind(clientCertificate, BOB);
        service = new AuthService(bobOnly, AuthSettings.defaults(), clock);
        assertSuccess(result(service.start(withCertificate(HOST_A), "EXTERNAL", Optional.of(new byte[0]))), BOB, "EXTERNAL");
    }

    @Test
    void fingerprintsAreReadInTheFormsPeoplePaste() {
        String hex = CertificateFingerprint.sha256(clientCertificate);
        assertThat(hex).matches("[0-9a-f]{64}");
        String colons = hex.toUpperCase(java.util.Locale.ROOT).replaceAll("(..)(?!$)", "$1:");
        assertThat(CertificateFingerprint.parse(colons)).isEqualTo(hex);
        assertThat(CertificateFingerprint.parse("sha256 Fingerprint=" + colons)).isEqualTo(hex);
        assertThat(CertificateFingerprint.parse("sha256:" + hex)).isEqualTo(hex);
        assertThat(CertificateFingerprint.parse(" " + hex + "\n")).isEqualTo(hex);
        for (String bad : new String[] {"", hex.substring(1), hex + "00", "zz" + hex.substring(2), "sha1:" + hex}) {
            assertThatThrownBy(() -> CertificateFingerprint.parse(bad)).as(bad)
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("64 hex digits");
        }
    }

    // --- limiter --------------------------------------------------------------------------------

    private void failPlain(AuthContext ctx, String user) throws Exception {
        long before = service.stats().failures();
        // The failure is counted before the (possibly delayed) reply: wait for the count, not the reply.
        service.start(ctx, "PLAIN", plain(user, "wrong password"));
        await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(5))
                .until(() -> service.stats().failures() == before + 1);
    }

    @Test
    void delaysGrowFromTheFirstFailureBeyondTheFreeOnesAndAreCapped() throws Exception {
        service(AuthSettings.defaults());
        List<Long> delays = new java.util.ArrayList<>();
        for (int i = 0; i < 9; i++) {
            delays.add(service.pendingDelay(tls(HOST_A), Optional.of(ALICE)).toMillis());
            failPlain(tls(HOST_A), ALICE);
        }
        assertThat(delays).containsExactly(0L, 0L, 0L, 250L, 500L, 1000L, 2000L, 4000L, 4000L);
    }

    @Test
    void aDelayedReplyArrivesLaterAndSaysHowLongInTheLog() throws Exception {
        service(limits(1, 50, Duration.ofMillis(40), Duration.ofMillis(40)));
        ListAppender<ILoggingEvent> log = capture();
        failPlain(tls(HOST_A), ALICE);
        assertThat(service.pendingDelay(tls(HOST_A), Optional.of(ALICE))).isEqualTo(Duration.ofMillis(40));
        CompletionStage<SaslStep> reply = service.start(tls(HOST_A), "PLAIN", plain(ALICE, ALICE_PASSWORD));
        await().atMost(Duration.ofSeconds(20)).until(() -> reply.toCompletableFuture().isDone());
        assertSuccess(result(reply), ALICE, "PLAIN");
        assertThat(messages(log)).last().asString().contains("result=OK").contains("delay=40ms");
    }

    @Test
    void aBlockedSourceGetsTemporaryWithoutLookingAtCredentials() throws Exception {
        service(noDelays(1, 3));
        for (int i = 0; i < 3; i++) failPlain(tls(HOST_A), ALICE);
        assertThat(service.blocks()).extracting(Block::source, Block::account)
                .containsExactlyInAnyOrder(
                        org.assertj.core.groups.Tuple.tuple("192.0.2.1/32", Optional.empty()),
                        org.assertj.core.groups.Tuple.tuple("192.0.2.0/24", Optional.of(ALICE)));
        assertThat(service.blocks()).allSatisfy(b -> assertThat(b.until()).isEqualTo(clock.instant().plus(Duration.ofMinutes(15))));

        long hashes = service.stats().passwordHashes();
        assertThat(plainLogin(tls(HOST_A), ALICE, ALICE_PASSWORD)).isEqualTo(failure(FailureKind.TEMPORARY));
        assertThat(plainLogin(tls(HOST_A), BOB, BOB_PASSWORD)).isEqualTo(failure(FailureKind.TEMPORARY));
        assertThat(service.stats().passwordHashes()).isEqualTo(hashes);
        assertThat(service.stats().blockedAttempts()).isEqualTo(2);

        // Same /24, other host: only the pair (alice, 192.0.2.0/24) is blocked.
        assertThat(plainLogin(tls(HOST_A2), ALICE, ALICE_PASSWORD)).isEqualTo(failure(FailureKind.TEMPORARY));
        assertSuccess(plainLogin(tls(HOST_A2), BOB, BOB_PASSWORD), BOB, "PLAIN");
        // Not per account alone: alice elsewhere is unaffected.
        assertSuccess(plainLogin(tls(HOST_B), ALICE, ALICE_PASSWORD), ALICE, "PLAIN");

        clock.advance(Duration.ofMinutes(15).plusSeconds(1));
        assertThat(service.blocks()).isEmpty();
        assertSuccess(plainLogin(tls(HOST_A), ALICE, ALICE_PASSWORD), ALICE, "PLAIN");
    }

    @Test
    void scramIsBlockedOnceTheNameIsKnown() throws Exception {
        service(noDelays(1, 2));
        failPlain(tls(HOST_A), ALICE);
        failPlain(tls(HOST_A2), ALICE);
        // The pair (alice, 192.0.2.0/24) is blocked, host .3 is not: SCRAM refuses at client-first.
        SaslStep step = result(service.start(tls(HOST_A3), "SCRAM-SHA-256",
                Optional.of(("n,,n=" + ALICE + ",r=abc").getBytes(StandardCharsets.UTF_8))));
        assertThat(step).isEqualTo(failure(FailureKind.TEMPORARY));
        assertSuccess(scram(tls(HOST_A3), "SCRAM-SHA-256", ScramClient.plain(BOB, BOB_PASSWORD, "abc")), BOB, "SCRAM-SHA-256");
    }

    @Test
    void clearBlocksLiftsThemForTheCommandLine() throws Exception {
        service(noDelays(1, 2));
        failPlain(tls(HOST_A), ALICE);
        failPlain(tls(HOST_A), BOB);
        failPlain(tls(HOST_B), BOB);
        failPlain(tls(HOST_B), BOB);
        assertThat(service.blocks()).extracting(Block::source)
                .containsExactlyInAnyOrder("192.0.2.1/32", "198.51.100.7/32", "198.51.100.0/24");
        assertThat(service.clearBlocks(HOST_A)).isEqualTo(1);
        assertThat(service.blocks()).extracting(Block::source).containsExactlyInAnyOrder("198.51.100.7/32", "198.51.100.0/24");
        assertSuccess(plainLogin(tls(HOST_A), ALICE, ALICE_PASSWORD), ALICE, "PLAIN");
        assertThat(service.clearBlocks()).isEqualTo(2);
        assertThat(service.blocks()).isEmpty();
        assertSuccess(plainLogin(tls(HOST_B), BOB, BOB_PASSWORD), BOB, "PLAIN");
    }

    @Test
    void aNetworkIsBlockedWhenItsHostsTogetherFailTooOften() throws Exception {
        service(new AuthSettings(4096, 100, 10, 50, 2, 4, Duration.ZERO, Duration.ZERO,
                Duration.ofMinutes(15), Duration.ofHours(1), 1000, 2));
        failPlain(tls(HOST_A), "x1@example.org");
        failPlain(tls(HOST_A), "x2@example.org");
        failPlain(tls(HOST_A2), "x3@example.org");
        failPlain(tls(HOST_A2), "x4@example.org");
        assertThat(service.blocks()).extracting(Block::source).containsExactly("192.0.2.0/24");
        assertThat(plainLogin(tls(HOST_A3), BOB, BOB_PASSWORD)).isEqualTo(failure(FailureKind.TEMPORARY));
        assertSuccess(plainLogin(tls(HOST_B), BOB, BOB_PASSWORD), BOB, "PLAIN");
    }

    @Test
    void sourcesAreCountedIndependently() throws Exception {
        service(AuthSettings.defaults());
        for (int i = 0; i < 5; i++) failPlain(tls(HOST_A), "guess" + i + "@example.org");
        assertThat(service.pendingDelay(tls(HOST_A), Optional.empty())).isEqualTo(Duration.ofMillis(1000));
        // Another host of the same /24 shares only the network count, still within its free failures.
        assertThat(service.pendingDelay(tls(HOST_A2), Optional.empty())).isZero();
        assertThat(service.pendingDelay(tls(HOST_B), Optional.empty())).isZero();
    }

    @Test
    void ipv6IsCountedPerSlash64() throws Exception {
        service(noDelays(1, 3));
        failPlain(tls(address("2001:db8:1:2::1")), ALICE);
        failPlain(tls(address("2001:db8:1:2::1")), ALICE);
        failPlain(tls(address("2001:db8:1:2:aaaa::7")), ALICE);
        assertThat(service.blocks()).extracting(Block::source).contains("2001:db8:1:2::/64");
        assertThat(plainLogin(tls(address("2001:db8:1:2::ffff")), BOB, BOB_PASSWORD)).isEqualTo(failure(FailureKind.TEMPORARY));
        assertSuccess(plainLogin(tls(address("2001:db8:1:3::1")), ALICE, ALICE_PASSWORD), ALICE, "PLAIN");
    }

    @Test
    void failuresAreForgottenAfterAWhile() throws Exception {
        service(AuthSettings.defaults());
        for (int i = 0; i < 4; i++) failPlain(tls(HOST_A), ALICE);
        assertThat(service.pendingDelay(tls(HOST_A), Optional.of(ALICE))).isEqualTo(Duration.ofMillis(500));
        clock.advance(AuthSettings.DEFAULT_FAILURE_MEMORY.plusSeconds(1));
        assertThat(service.pendingDelay(tls(HOST_A), Optional.of(ALICE))).isZero();
    }

    @Test
    void successForgetsTheAccountsFailuresFromThatNetworkOnly() throws Exception {
        service(noDelays(1, 4));
        for (int i = 0; i < 3; i++) failPlain(tls(HOST_A), ALICE);
        assertSuccess(plainLogin(tls(HOST_A), ALICE, ALICE_PASSWORD), ALICE, "PLAIN");
        failPlain(tls(HOST_A), ALICE);
        // The host reached four failures; the pair restarted at one after the success.
        assertThat(service.blocks()).extracting(Block::source, Block::account)
                .containsExactly(org.assertj.core.groups.Tuple.tuple("192.0.2.1/32", Optional.empty()));
    }

    @Test
    void aCertificateHolderIsNeverLockedOutByOthersFailures() throws Exception {
        service(limits(1, 3, Duration.ofSeconds(2), Duration.ofSeconds(2)));
        for (int i = 0; i < 3; i++) failPlain(tls(HOST_A), ALICE);
        assertThat(plainLogin(tls(HOST_A), ALICE, ALICE_PASSWORD)).isEqualTo(failure(FailureKind.TEMPORARY));

        AuthContext device = withCertificate(HOST_A);
        assertThat(service.pendingDelay(device, Optional.of(ALICE))).isZero();
        assertSuccess(result(service.start(device, "EXTERNAL", Optional.of(new byte[0]))), ALICE, "EXTERNAL");
        assertSuccess(plainLogin(device, ALICE, ALICE_PASSWORD), ALICE, "PLAIN");
    }

    @Test
    void aCertificateHoldersOwnFailuresStillCountAgainstItsCertificate() throws Exception {
        service(noDelays(1, 2));
        AuthContext device = withCertificate(HOST_A);
        failPlain(device, ALICE);
        failPlain(device, ALICE);
        assertThat(service.blocks()).singleElement().satisfies(b -> assertThat(b.source()).startsWith("certificate sha256:"));
        assertThat(plainLogin(device, ALICE, ALICE_PASSWORD)).isEqualTo(failure(FailureKind.TEMPORARY));
        assertSuccess(plainLogin(tls(HOST_A), ALICE, ALICE_PASSWORD), ALICE, "PLAIN");
    }

    // --- the log --------------------------------------------------------------------------------

    private static ListAppender<ILoggingEvent> capture() {
        Logger logger = (Logger) LoggerFactory.getLogger(AuthService.class);
        ListAppender<ILoggingEvent> appender = new ListAppender<>();
        appender.start();
        logger.addAppender(appender);
        return appender;
    }

    private static List<String> messages(ListAppender<ILoggingEvent> appender) {
        return appender.list.stream().map(ILoggingEvent::getFormattedMessage).toList();
    }

    @Test
    void oneLinePerAttemptWithoutPasswordsPayloadsOrSecrets() throws Exception {
        service(AuthSettings.defaults());
        ListAppender<ILoggingEvent> log = capture();
        try {
            AuthContext inSession = new AuthContext("imaps", "imap", HOST_A, true, false, Optional.empty(), Optional.empty(),
                    Optional.empty(), CertificateForPassword.NO, "3f");
            assertSuccess(plainLogin(inSession, ALICE, ALICE_PASSWORD), ALICE, "PLAIN");
            assertThat(plainLogin(tls(HOST_A), BOB, "hunter2-is-wrong")).isEqualTo(failure(FailureKind.INVALID_CREDENTIALS));
            assertThat(plainLogin(tls(HOST_A), "not an address\r\nFAKE result=OK", "x")).isEqualTo(failure(FailureKind.INVALID_CREDENTIALS));
            ScramClient client = ScramClient.plain(ALICE, ALICE_PASSWORD, "abc");
            assertSuccess(scram(withCertificate(HOST_B), "SCRAM-SHA-256", client), ALICE, "SCRAM-SHA-256");
            assertThat(result(service.start(plaintext(HOST_A, false), "PLAIN", plain(ALICE, ALICE_PASSWORD))))
                    .isEqualTo(failure(FailureKind.ENCRYPTION_REQUIRED));

            List<String> lines = messages(log);
            assertThat(lines).hasSize(5);
            // The first word is the connection's id, so that the line joins its session's lines.
            assertThat(lines.get(0)).isEqualTo("3f auth listener=imaps protocol=imap remote=192.0.2.1 mechanism=PLAIN"
                    + " user=alice@example.org result=OK cert=no delay=0ms");
            assertThat(lines.get(1)).isEqualTo("- auth listener=imaps protocol=imap remote=192.0.2.1 mechanism=PLAIN"
                    + " user=bob@example.org result=INVALID_CREDENTIALS reason=wrong-password cert=no delay=0ms");
            assertThat(lines.get(2)).contains(" user=- result=INVALID_CREDENTIALS").doesNotContain("\n", "FAKE");
            assertThat(lines.get(3)).contains("remote=198.51.100.7 mechanism=SCRAM-SHA-256 user=alice@example.org result=OK cert=yes");
            assertThat(lines.get(4)).contains("result=ENCRYPTION_REQUIRED reason=no-tls");

            String secret = store.find(ALICE).orElseThrow().secret();
            String payload = Base64.getEncoder().encodeToString(plain(ALICE, ALICE_PASSWORD).get());
            for (String line : lines) {
                assertThat(line).doesNotContain(ALICE_PASSWORD, "hunter2", payload, secret, secret.split("\\$")[2]);
            }
        } finally {
            ((Logger) LoggerFactory.getLogger(AuthService.class)).detachAppender(log);
        }
    }
}
