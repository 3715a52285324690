package org.castellan.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.castellan.store.StoreAssertions.assertFails;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * The behaviour every {@link AuthLogStore} must have. An implementation's test implements this
 * interface and returns a fresh, empty auth log from {@link #authLog()} for each test (and closes
 * it afterwards).
 */
public interface AuthLogContract {

    /** An empty auth log, the same instance for the whole of one test. */
    AuthLogStore authLog();

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
        authLog().recordAuthAttempts(List.of(first, second));
        authLog().recordAuthAttempts(List.of(third));

        assertThat(authLog().listAuthAttempts(Optional.empty(), 10)).containsExactly(third, second, first);
        assertThat(authLog().listAuthAttempts(Optional.empty(), 2)).containsExactly(third, second);
        assertThat(authLog().listAuthAttempts(Optional.of("ALICE@example.org"), 10)).containsExactly(first);
        assertThat(authLog().listAuthAttempts(Optional.of("carol@example.org"), 10)).isEmpty();
        assertFails(StoreException.Kind.INVALID, "limit", () -> authLog().listAuthAttempts(Optional.empty(), 0));
    }

    @Test
    default void authLogKeepsTheReasonOfAFailure() {
        Instant now = Instant.now().truncatedTo(java.time.temporal.ChronoUnit.MILLIS);
        AuthAttempt failed = new AuthAttempt(now, "192.0.2.7", "imaps", "imap", "PLAIN", "alice@example.org",
                "INVALID_CREDENTIALS", Optional.of("TLSv1.3"), Optional.empty(), Optional.of("wrong-password"));
        authLog().recordAuthAttempts(List.of(failed));
        assertThat(authLog().listAuthAttempts(Optional.empty(), 10)).containsExactly(failed);
        assertThat(authLog().listAuthAttempts(Optional.empty(), 10).getFirst().reason()).contains("wrong-password");
    }

    @Test
    default void authLogDropsAttemptsOlderThanItsAge() {
        Instant now = Instant.now().truncatedTo(java.time.temporal.ChronoUnit.MILLIS);
        AuthAttempt old = new AuthAttempt(now.minus(AuthLogStore.AUTH_LOG_MAX_AGE).minusSeconds(60), "192.0.2.7", "pop3s",
                "pop3", "USER", "alice@example.org", "OK", Optional.empty(), Optional.empty());
        AuthAttempt fresh = new AuthAttempt(now, "192.0.2.7", "pop3s", "pop3", "USER", "alice@example.org", "OK",
                Optional.empty(), Optional.empty());
        authLog().recordAuthAttempts(List.of(old, fresh));
        assertThat(authLog().listAuthAttempts(Optional.empty(), 10)).containsExactly(fresh);
    }

    /** Pages of one account's attempts: the newest {@code limit} of its own, others' interleaved. */
    @Test
    default void authLogGivesTheNewestAttemptsOfOneAccountUpToTheLimit() {
        Instant now = Instant.now().truncatedTo(java.time.temporal.ChronoUnit.MILLIS);
        List<AuthAttempt> attempts = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            attempts.add(new AuthAttempt(now.plusMillis(i), "192.0.2." + i, "imaps", "imap", "PLAIN",
                    i % 2 == 0 ? "alice@example.org" : "bob@example.org", "OK", Optional.of("TLSv1.3"), Optional.empty()));
        }
        authLog().recordAuthAttempts(attempts);

        assertThat(authLog().listAuthAttempts(Optional.of("alice@example.org"), 3))
                .containsExactly(attempts.get(8), attempts.get(6), attempts.get(4));
        assertThat(authLog().listAuthAttempts(Optional.of("Bob@Example.org"), 100))
                .containsExactly(attempts.get(9), attempts.get(7), attempts.get(5), attempts.get(3), attempts.get(1));
        assertThat(authLog().listAuthAttempts(Optional.empty(), 1)).containsExactly(attempts.get(9));
    }

    /** {@link AuthLogStore#AUTH_LOG_MAX_ROWS}: the oldest attempts go as new ones come in. */
    @Test
    default void authLogKeepsAtMostItsRowCount() {
        Instant start = Instant.now().truncatedTo(java.time.temporal.ChronoUnit.MILLIS).minusSeconds(3600);
        List<AuthAttempt> attempts = new ArrayList<>();
        for (int i = 0; i < AuthLogStore.AUTH_LOG_MAX_ROWS + 2; i++) {
            attempts.add(new AuthAttempt(start.plusMillis(i), "192.0.2.7", "smtp", "smtp", "PLAIN", "alice@example.org",
                    "INVALID_CREDENTIALS", Optional.empty(), Optional.empty()));
        }
        authLog().recordAuthAttempts(attempts.subList(0, 2));
        authLog().recordAuthAttempts(attempts.subList(2, attempts.size()));

        List<AuthAttempt> kept = authLog().listAuthAttempts(Optional.empty(), AuthLogStore.AUTH_LOG_MAX_ROWS);
        assertThat(kept).hasSize(AuthLogStore.AUTH_LOG_MAX_ROWS);
        assertThat(kept.getFirst()).isEqualTo(attempts.getLast());
        assertThat(kept.getLast()).as("the oldest kept").isEqualTo(attempts.get(2));
    }
}
