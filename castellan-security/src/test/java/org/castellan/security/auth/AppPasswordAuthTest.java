package org.castellan.security.auth;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.castellan.security.auth.internal.LoginLimiter;
import org.castellan.testkit.ScramClient;
import org.castellan.testkit.TestPki;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.castellan.testkit.MutableClock;

/** App passwords in AuthService, and what it tells the auth log. */
class AppPasswordAuthTest {

    private static final String ALICE = "alice@example.org";
    private static final String ALICE_PASSWORD = "correct horse battery";
    private static final String PHONE = "4a6b7c8d9eAbCdEfGhJk";
    private static final InetAddress HOST = InetAddress.getLoopbackAddress();

    @TempDir
    static Path pkiDirectory;
    private static X509Certificate clientCertificate;

    private final MapCredentialStore store = new MapCredentialStore().add(ALICE, ALICE_PASSWORD)
            .addApp(ALICE, 7, PHONE, Set.of("imap", "smtp"));
    private final MutableClock clock = new MutableClock(Instant.parse("2026-01-05T09:00:00Z"));
    private final List<AuthLog.Attempt> attempts = new CopyOnWriteArrayList<>();
    private final AuthService service = new AuthService(store, AuthSettings.defaults(), clock, attempts::add);

    @BeforeAll
    static void pki() {
        clientCertificate = TestPki.create(pkiDirectory).client().certificate();
    }

    @AfterEach
    void close() {
        service.close();
    }

    private static AuthContext over(String protocol) {
        return new AuthContext(protocol + "s", protocol, HOST, true, false, Optional.empty(), Optional.empty(),
                Optional.of("TLSv1.3"));
    }

    private static SaslStep result(CompletionStage<SaslStep> stage) throws Exception {
        return stage.toCompletableFuture().get(20, TimeUnit.SECONDS);
    }

    private SaslStep plain(AuthContext ctx, String password) throws Exception {
        return result(service.start(ctx, "PLAIN", Optional.of(("\0" + ALICE + "\0" + password).getBytes(StandardCharsets.UTF_8))));
    }

    private SaslStep login(AuthContext ctx, String password) throws Exception {
        return result(service.login(ctx, ALICE, password.toCharArray(), "LOGIN"));
    }

    private SaslStep loginMechanism(AuthContext ctx, String password) throws Exception {
        var first = (SaslStep.Challenge) result(service.start(ctx, "LOGIN", Optional.empty()));
        var second = (SaslStep.Challenge) result(first.exchange().respond(ALICE.getBytes(StandardCharsets.UTF_8)));
        return result(second.exchange().respond(password.getBytes(StandardCharsets.UTF_8)));
    }

    private static final SaslStep.Failure INVALID = new SaslStep.Failure(FailureKind.INVALID_CREDENTIALS);

    @Test
    void anAppPasswordWorksForPlainLoginAndPasswordCommandsOnProtocolsInItsScope() throws Exception {
        assertThat(plain(over("imap"), PHONE)).isInstanceOf(SaslStep.Success.class);
        assertThat(loginMechanism(over("smtp"), PHONE)).isInstanceOf(SaslStep.Success.class);
        assertThat(((SaslStep.Success) login(over("imap"), PHONE)).account()).isEqualTo(ALICE);
        // The main password still works everywhere.
        assertThat(login(over("pop3"), ALICE_PASSWORD)).isInstanceOf(SaslStep.Success.class);
    }

    @Test
    void anAppPasswordIsRefusedOutsideItsScope() throws Exception {
        assertThat(login(over("pop3"), PHONE)).isEqualTo(INVALID);
        assertThat(plain(over("pop3"), PHONE)).isEqualTo(INVALID);
    }

    @Test
    void scramUsesOnlyTheMainPassword() throws Exception {
        ScramClient app = ScramClient.plain(ALICE, PHONE, "abc");
        SaslStep first = result(service.start(over("imap"), "SCRAM-SHA-256", Optional.of(app.clientFirst())));
        SaslStep.Challenge challenge = (SaslStep.Challenge) first;
        assertThat(result(challenge.exchange().respond(app.clientFinal(challenge.data())))).isEqualTo(INVALID);
    }

    @Test
    void aRevokedAppPasswordIsRefusedEvenRightAfterACachedLogin() throws Exception {
        assertThat(plain(over("imap"), PHONE)).isInstanceOf(SaslStep.Success.class);
        assertThat(plain(over("imap"), PHONE)).isInstanceOf(SaslStep.Success.class);
        assertThat(service.stats().cacheHits()).as("the second login came from the cache").isGreaterThanOrEqualTo(1);

        store.revokeApp(ALICE, 7);
        assertThat(plain(over("imap"), PHONE)).isEqualTo(INVALID);
        assertThat(login(over("imap"), PHONE)).isEqualTo(INVALID);
        assertThat(login(over("imap"), ALICE_PASSWORD)).isInstanceOf(SaslStep.Success.class);
    }

    @Test
    void everyAttemptReachesTheAuthLogWithoutThePassword() throws Exception {
        AuthContext withCertificate = new AuthContext("imaps", "imap", HOST, true, false, Optional.empty(),
                Optional.of(clientCertificate), Optional.of("TLSv1.3"));
        assertThat(plain(withCertificate, PHONE)).isInstanceOf(SaslStep.Success.class);
        assertThat(login(over("pop3"), "a guess 3x7q")).isEqualTo(INVALID);
        assertThat(result(service.start(over("imap"), "NOPE", Optional.empty())))
                .isEqualTo(new SaslStep.Failure(FailureKind.MECHANISM_UNAVAILABLE));

        assertThat(attempts).hasSize(3);
        AuthLog.Attempt ok = attempts.get(0);
        assertThat(ok).isEqualTo(new AuthLog.Attempt(clock.instant(), HOST.getHostAddress(), "imaps", "imap", "PLAIN",
                Optional.of(ALICE), "OK", Optional.of("TLSv1.3"),
                Optional.of(LoginLimiter.fingerprint(clientCertificate)), Optional.of(7L)));
        AuthLog.Attempt wrong = attempts.get(1);
        assertThat(wrong.listener()).isEqualTo("pop3s");
        assertThat(wrong.mechanism()).isEqualTo("LOGIN");
        assertThat(wrong.account()).contains(ALICE);
        assertThat(wrong.result()).isEqualTo("INVALID_CREDENTIALS");
        assertThat(wrong.certificateSha256()).isEmpty();
        assertThat(wrong.appPassword()).isEmpty();
        assertThat(attempts.get(2).account()).isEmpty();
        assertThat(attempts.get(2).result()).isEqualTo("MECHANISM_UNAVAILABLE");
        assertThat(attempts.toString()).doesNotContain(PHONE, "a guess 3x7q", ALICE_PASSWORD);
    }

    @Test
    void anAuthLogThatThrowsChangesNoOutcome() throws Exception {
        try (AuthService broken = new AuthService(store, AuthSettings.defaults(), clock, a -> {
            throw new IllegalStateException("disk full");
        })) {
            assertThat(result(broken.login(over("imap"), ALICE, PHONE.toCharArray(), "LOGIN")))
                    .isInstanceOf(SaslStep.Success.class);
        }
    }
}
