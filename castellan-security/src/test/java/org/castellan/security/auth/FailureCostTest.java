package org.castellan.security.auth;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.castellan.testkit.MutableClock;

/**
 * Account probing by timing: every way a password login can fail must cost the server the same
 * work, or the time of the reply says which accounts exist and which have app passwords. Asserted
 * by construction, never by a clock: the PBKDF2 runs and their iterations each attempt costs, as
 * {@link AuthService#stats()} counts them.
 */
class FailureCostTest {

    private static final int ITERATIONS = ScramSecret.MIN_ITERATIONS;
    private static final String PASSWORD = "correct horse battery";
    private static final String PLAIN = "plain@example.org";
    private static final String ONE_APP = "one-app@example.org";
    private static final String MANY_APPS = "many-apps@example.org";
    private static final String OLD_APPS = "old-apps@example.org";
    private static final String APP = Passwords.generateAppPassword();

    private final MapCredentialStore store = accounts();
    private final AuthService service = new AuthService(store, new AuthSettings(ITERATIONS, 100, 999, 1000, 999, 1000,
            Duration.ZERO, Duration.ZERO, Duration.ofMinutes(15), Duration.ofHours(1), 1000, 2),
            new MutableClock(Instant.parse("2026-01-05T09:00:00Z")));

    /** The PBKDF2 work of one attempt. */
    private record Cost(long hashes, long iterations) {}

    private static MapCredentialStore accounts() {
        MapCredentialStore store = new MapCredentialStore().add(PLAIN, PASSWORD).add(ONE_APP, PASSWORD)
                .add(MANY_APPS, PASSWORD).add(OLD_APPS, PASSWORD);
        store.addApp(ONE_APP, 1, APP, Set.of("imap"));
        for (int i = 0; i < 20; i++) store.addApp(MANY_APPS, 100 + i, Passwords.generateAppPassword(), Set.of("imap"));
        // Made before selectors: 20 characters, no selector.
        store.addApp(OLD_APPS, 200, Passwords.generate(), Set.of("imap"));
        store.addApp(OLD_APPS, 201, Passwords.generate(), Set.of("imap"));
        return store;
    }

    @AfterEach
    void close() {
        service.close();
    }

    private Cost attempt(String user, String password, SaslStep expected) throws Exception {
        AuthService.Stats before = service.stats();
        AuthContext ctx = new AuthContext("imaps", "imap", InetAddress.getLoopbackAddress(), true, false, Optional.empty(),
                Optional.empty());
        SaslStep step = service.login(ctx, user, password.toCharArray(), "LOGIN").toCompletableFuture().get(20, TimeUnit.SECONDS);
        if (expected instanceof SaslStep.Success) assertThat(step).isInstanceOf(SaslStep.Success.class);
        else assertThat(step).isEqualTo(expected);
        AuthService.Stats after = service.stats();
        return new Cost(after.passwordHashes() - before.passwordHashes(), after.hashIterations() - before.hashIterations());
    }

    private Cost failure(String user, String password) throws Exception {
        return attempt(user, password, new SaslStep.Failure(FailureKind.INVALID_CREDENTIALS));
    }

    /** An app-password-shaped guess whose selector is not {@link #APP}'s. */
    private static String guessedAppPassword() {
        String guess = Passwords.generateAppPassword();
        while (guess.regionMatches(0, APP, 0, Passwords.SELECTOR_LENGTH)) guess = Passwords.generateAppPassword();
        return guess;
    }

    @Test
    void everyFailurePathCostsOnePbkdf2OfTheSameCount() throws Exception {
        Cost one = new Cost(1, ITERATIONS);
        assertThat(failure("nobody@example.org", "a guess")).as("unknown user").isEqualTo(one);
        assertThat(failure(PLAIN, "a guess")).as("wrong password, no app passwords").isEqualTo(one);
        assertThat(failure(ONE_APP, "a guess")).as("wrong password, one app password").isEqualTo(one);
        assertThat(failure(MANY_APPS, "a guess")).as("wrong password, twenty app passwords").isEqualTo(one);
        assertThat(failure(ONE_APP, guessedAppPassword())).as("a guessed app password").isEqualTo(one);
        assertThat(failure(MANY_APPS, guessedAppPassword())).as("a guessed app password, twenty of them").isEqualTo(one);
        String mistyped = APP.substring(0, APP.length() - 1) + (APP.endsWith("x") ? "y" : "x");
        assertThat(failure(ONE_APP, mistyped)).as("the app password's selector with a wrong rest").isEqualTo(one);
        assertThat(failure("nobody@example.org", mistyped)).as("the same for an unknown user").isEqualTo(one);
    }

    @Test
    void theRightAppPasswordIsFoundWithOnePbkdf2() throws Exception {
        assertThat(attempt(ONE_APP, APP, new SaslStep.Success(ONE_APP, "LOGIN", new byte[0])))
                .as("not the main password first").isEqualTo(new Cost(1, ITERATIONS));
        assertThat(attempt(ONE_APP, PASSWORD, new SaslStep.Success(ONE_APP, "LOGIN", new byte[0])))
                .isEqualTo(new Cost(1, ITERATIONS));
    }

    @Test
    void appPasswordsMadeBeforeSelectorsAreStillTriedOneByOne() throws Exception {
        // The documented exception: until they are replaced, each adds one PBKDF2 to a failure.
        assertThat(failure(OLD_APPS, "a guess")).isEqualTo(new Cost(3, 3L * ITERATIONS));
    }
}
