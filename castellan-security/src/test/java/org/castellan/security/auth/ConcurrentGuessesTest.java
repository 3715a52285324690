package org.castellan.security.auth;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import org.castellan.testkit.ScramClient;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.castellan.testkit.MutableClock;

/**
 * docs/design.md §5.6 against guesses that do not wait for each other's replies: a check is
 * counted before it starts, so however many arrive together, no more are checked than the block
 * allows, and the right password after them is refused like any attempt from a blocked source.
 */
class ConcurrentGuessesTest {

    private static final String ALICE = "alice@example.org";
    private static final String PASSWORD = "correct horse battery";
    private static final InetAddress HOST = address("192.0.2.1");
    private static final int BLOCK_AFTER = 20;
    private static final int GUESSES = 600;

    private final MapCredentialStore store = new MapCredentialStore().add(ALICE, PASSWORD);
    private final AuthService service = new AuthService(store, new AuthSettings(4096, 100, 3, BLOCK_AFTER, 10, 100,
            Duration.ZERO, Duration.ZERO, Duration.ofMinutes(15), Duration.ofHours(1), 1000, 2),
            new MutableClock(Instant.parse("2026-01-05T09:00:00Z")));

    @AfterEach
    void close() {
        service.close();
    }

    private static InetAddress address(String literal) {
        try {
            return InetAddress.getByName(literal);
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException(e);
        }
    }

    private static AuthContext tls() {
        return new AuthContext("imaps", "imap", HOST, true, false, Optional.empty(), Optional.empty());
    }

    private static SaslStep result(CompletionStage<SaslStep> stage) throws Exception {
        return stage.toCompletableFuture().get(60, TimeUnit.SECONDS);
    }

    private static String outcome(SaslStep step) {
        return switch (step) {
            case SaslStep.Success s -> "OK";
            case SaslStep.Failure f -> f.kind().name();
            case SaslStep.Challenge c -> "CHALLENGE";
        };
    }

    @Test
    void passwordGuessesSentTogetherAreCheckedNoMoreOftenThanTheBlockAllows() throws Exception {
        List<CompletionStage<SaslStep>> replies = new ArrayList<>();
        for (int i = 0; i < GUESSES - 1; i++) {
            replies.add(service.login(tls(), ALICE, ("guess-" + i).toCharArray(), "LOGIN"));
        }
        CompletionStage<SaslStep> right = service.login(tls(), ALICE, PASSWORD.toCharArray(), "LOGIN");
        Map<FailureKind, Integer> seen = new EnumMap<>(FailureKind.class);
        for (CompletionStage<SaslStep> r : replies) {
            if (result(r) instanceof SaslStep.Failure f) seen.merge(f.kind(), 1, Integer::sum);
        }
        assertThat(outcome(result(right))).as("the right password, sent last").isEqualTo("TEMPORARY");
        assertThat(seen.getOrDefault(FailureKind.INVALID_CREDENTIALS, 0)).isLessThanOrEqualTo(BLOCK_AFTER);
        assertThat(service.stats().passwordHashes()).as("PBKDF2 runs").isLessThanOrEqualTo(BLOCK_AFTER);
        assertThat(service.stats().successes()).isZero();

        for (int i = 0; i < BLOCK_AFTER && service.blocks().isEmpty(); i++) {
            result(service.login(tls(), ALICE, ("later-" + i).toCharArray(), "LOGIN"));
        }
        assertThat(service.blocks()).extracting(Block::source).contains("192.0.2.1/32");
        assertThat(outcome(result(service.login(tls(), ALICE, PASSWORD.toCharArray(), "LOGIN")))).isEqualTo("TEMPORARY");
        assertThat(service.stats().passwordHashes()).isEqualTo(BLOCK_AFTER);
        assertThat(service.stats().failures()).isEqualTo(BLOCK_AFTER);
    }

    @Test
    void scramProofsAreAdmittedBeforeTheyAreChecked() throws Exception {
        // Many exchanges pass client-first while nothing has failed yet; their proofs come later.
        List<SaslStep.Challenge> waiting = new ArrayList<>();
        List<ScramClient> clients = new ArrayList<>();
        for (int i = 0; i < 60; i++) {
            ScramClient client = ScramClient.plain(ALICE, "guess-" + i, "nonce" + i);
            clients.add(client);
            waiting.add((SaslStep.Challenge) result(service.start(tls(), "SCRAM-SHA-256", Optional.of(client.clientFirst()))));
        }
        Map<String, Integer> seen = new java.util.TreeMap<>();
        for (int i = 0; i < waiting.size(); i++) {
            SaslStep.Challenge c = waiting.get(i);
            seen.merge(outcome(result(c.exchange().respond(clients.get(i).clientFinal(c.data())))), 1, Integer::sum);
        }
        assertThat(seen).containsEntry("INVALID_CREDENTIALS", BLOCK_AFTER).containsEntry("TEMPORARY", 60 - BLOCK_AFTER);
        assertThat(service.stats().failures()).isEqualTo(BLOCK_AFTER);
    }
}
