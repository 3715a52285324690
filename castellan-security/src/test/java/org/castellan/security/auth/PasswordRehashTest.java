package org.castellan.security.auth;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import org.castellan.testkit.ScramClient;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.castellan.testkit.MutableClock;

/**
 * A password secret with another iteration count than configured (an account made under an older
 * default that SCRAM clients refuse) is derived anew at the next successful password login, the
 * only moment the server holds the password; SCRAM, failed logins and app passwords leave it.
 */
class PasswordRehashTest {

    private static final String ALICE = "alice@example.org";
    private static final String PASSWORD = "correct horse battery";
    /** The old default, which Cyrus SASL refuses: above {@link ScramSecret#MAX_INTEROPERABLE_ITERATIONS}. */
    private static final int LEGACY_ITERATIONS = 600_000;
    private static final int CONFIGURED = 4096;
    private static final InetAddress HOST = InetAddress.getLoopbackAddress();

    private final String legacy = ScramSecret.derive(PASSWORD.toCharArray(), LEGACY_ITERATIONS).encode();
    private final MapCredentialStore store = new MapCredentialStore().addRaw(ALICE, legacy);
    private final AuthService service = new AuthService(store, new AuthSettings(CONFIGURED, 100, 3, 20, 10, 100,
            Duration.ZERO, Duration.ZERO, Duration.ofMinutes(15), Duration.ofHours(1), 1000, 2),
            new MutableClock(Instant.parse("2026-01-05T09:00:00Z")));

    @AfterEach
    void close() {
        service.close();
    }

    private static AuthContext tls() {
        return new AuthContext("imaps", "imap", HOST, true, false, Optional.empty(), Optional.empty());
    }

    private static SaslStep result(CompletionStage<SaslStep> stage) throws Exception {
        return stage.toCompletableFuture().get(20, TimeUnit.SECONDS);
    }

    private SaslStep plain(String password) throws Exception {
        return result(service.start(tls(), "PLAIN", Optional.of(("\0" + ALICE + "\0" + password).getBytes(StandardCharsets.UTF_8))));
    }

    private SaslStep scram() throws Exception {
        ScramClient client = ScramClient.plain(ALICE, PASSWORD, "rOprNGfwEbeRWgbNEkqO");
        SaslStep first = result(service.start(tls(), "SCRAM-SHA-256", Optional.of(client.clientFirst())));
        assertThat(first).isInstanceOf(SaslStep.Challenge.class);
        SaslStep.Challenge challenge = (SaslStep.Challenge) first;
        assertThat(new String(challenge.data(), StandardCharsets.UTF_8)).endsWith(",i=" + store(ALICE).iterations());
        return result(challenge.exchange().respond(client.clientFinal(challenge.data())));
    }

    private ScramSecret store(String account) {
        return ScramSecret.parse(store.secret(account));
    }

    @Test
    void aPlainLoginRederivesTheSecretWithTheConfiguredCountAndScramThenUsesIt() throws Exception {
        assertThat(plain("not the password")).isInstanceOf(SaslStep.Failure.class);
        assertThat(store.secret(ALICE)).as("a failed login changes nothing").isEqualTo(legacy);

        assertThat(plain(PASSWORD)).isInstanceOf(SaslStep.Success.class);
        ScramSecret fresh = store(ALICE);
        assertThat(fresh.iterations()).isEqualTo(CONFIGURED);
        assertThat(fresh.verifyPassword(PASSWORD.toCharArray())).isTrue();
        assertThat(fresh.salt()).isNotEqualTo(ScramSecret.parse(legacy).salt());

        // SCRAM (RFC 5802 §5.1) now names the new count in server-first, and the same password proves it.
        assertThat(scram()).isInstanceOf(SaslStep.Success.class);
        String now = store.secret(ALICE);
        assertThat(plain(PASSWORD)).isInstanceOf(SaslStep.Success.class);
        assertThat(store.secret(ALICE)).as("a secret at the configured count is left alone").isEqualTo(now);
    }

    @Test
    void scramAndAppPasswordLoginsLeaveTheMainSecretAsItIs() throws Exception {
        store.addApp(ALICE, 7, "an app password of twenty", Set.of("imap"));
        assertThat(scram()).isInstanceOf(SaslStep.Success.class);
        assertThat(plain("an app password of twenty")).isInstanceOf(SaslStep.Success.class);
        assertThat(store.secret(ALICE)).isEqualTo(legacy);
    }
}
