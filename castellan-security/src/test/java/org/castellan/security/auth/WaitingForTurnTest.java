package org.castellan.security.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import org.castellan.testkit.ScramClient;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.castellan.testkit.MutableClock;

/**
 * Good clients that open many connections at once from one address (an office behind one NAT
 * after a restart, a client's parallel connections) must not see their right passwords refused:
 * an attempt over an in-flight cap waits for a place, in arrival order, and is checked when one of
 * its source's checks ends. Lookups are held on the store so that who is in flight and who waits
 * is decided, not raced.
 */
class WaitingForTurnTest {

    private static final String ALICE = "alice@example.org";
    private static final String PASSWORD = "correct horse battery";
    private static final InetAddress HOST = address("192.0.2.1");
    private static final int HOST_CAP = 2;
    private static final int LOGINS = 20;

    private final MapCredentialStore store = new MapCredentialStore().add(ALICE, PASSWORD);
    private final AuthService service = new AuthService(store, new AuthSettings(4096, 100, 3, 20, 10, 100,
            Duration.ZERO, Duration.ZERO, Duration.ofMinutes(15), Duration.ofHours(1), 1000, 2, HOST_CAP, 8),
            new MutableClock(Instant.parse("2026-01-05T09:00:00Z")));

    @AfterEach
    void close() {
        store.resume();
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

    private static String outcome(CompletionStage<SaslStep> stage) throws Exception {
        return switch (stage.toCompletableFuture().get(60, TimeUnit.SECONDS)) {
            case SaslStep.Success s -> "OK";
            case SaslStep.Failure f -> f.kind().name();
            case SaslStep.Challenge c -> "CHALLENGE";
        };
    }

    @Test
    void rightPasswordsOverTheHostCapWaitTheirTurnAndAllSucceed() throws Exception {
        store.pause();
        List<CompletionStage<SaslStep>> replies = new ArrayList<>();
        for (int i = 0; i < LOGINS; i++) replies.add(service.login(tls(), ALICE, PASSWORD.toCharArray(), "LOGIN"));
        await().atMost(Duration.ofSeconds(30)).until(() -> store.lookupsNow() == HOST_CAP);
        assertThat(service.stats().inFlightChecks()).isEqualTo(HOST_CAP);
        assertThat(service.stats().waitingChecks()).isEqualTo(LOGINS - HOST_CAP);

        store.resume();
        Map<String, Integer> seen = new TreeMap<>();
        for (CompletionStage<SaslStep> r : replies) seen.merge(outcome(r), 1, Integer::sum);
        assertThat(seen).as("every right password, none refused as busy").isEqualTo(Map.of("OK", LOGINS));
        assertThat(store.mostLookupsAtOnce()).as("checks in flight at once").isLessThanOrEqualTo(HOST_CAP);
        assertThat(service.stats().busyAttempts()).isZero();
        assertThat(service.stats().successes()).isEqualTo(LOGINS);
        assertThat(service.stats().waitedAttempts()).isEqualTo(LOGINS - HOST_CAP);
        assertThat(service.stats().inFlightChecks()).isZero();
        assertThat(service.stats().waitingChecks()).isZero();
    }

    /** Holds the host's two places with lookups that wait on the store. */
    private List<CompletionStage<SaslStep>> holdThePlaces() {
        store.pause();
        List<CompletionStage<SaslStep>> holders = new ArrayList<>();
        for (int i = 0; i < HOST_CAP; i++) holders.add(service.login(tls(), ALICE, PASSWORD.toCharArray(), "LOGIN"));
        await().atMost(Duration.ofSeconds(30)).until(() -> store.lookupsNow() == HOST_CAP);
        return holders;
    }

    @Test
    void aLoginWhoseReplyIsCancelledWhileWaitingLeavesTheLineUnchecked() throws Exception {
        List<CompletionStage<SaslStep>> holders = holdThePlaces();
        CompletionStage<SaslStep> waiting = service.login(tls(), ALICE, PASSWORD.toCharArray(), "LOGIN");
        assertThat(service.stats().waitingChecks()).isEqualTo(1);

        // What a session does when its connection closes while the login waits.
        assertThat(waiting.toCompletableFuture().cancel(false)).isTrue();
        assertThat(service.stats().waitingChecks()).as("it left the line").isZero();

        store.resume();
        for (CompletionStage<SaslStep> h : holders) assertThat(outcome(h)).isEqualTo("OK");
        assertThat(service.stats().successes()).as("the withdrawn login was never checked").isEqualTo(HOST_CAP);
        assertThat(service.stats().inFlightChecks()).isZero();
        assertThat(outcome(service.login(tls(), ALICE, PASSWORD.toCharArray(), "LOGIN"))).isEqualTo("OK");
    }

    @Test
    void aScramExchangeAbortedWhileItsProofWaitsLeavesTheLine() throws Exception {
        ScramClient client = ScramClient.plain(ALICE, PASSWORD, "waiting-nonce");
        SaslStep.Challenge first = (SaslStep.Challenge) service.start(tls(), "SCRAM-SHA-256",
                Optional.of(client.clientFirst())).toCompletableFuture().get(60, TimeUnit.SECONDS);
        List<CompletionStage<SaslStep>> holders = holdThePlaces();
        CompletionStage<SaslStep> proof = first.exchange().respond(client.clientFinal(first.data()));
        assertThat(service.stats().waitingChecks()).isEqualTo(1);

        assertThat(outcome(first.exchange().abort())).isEqualTo("ABORTED");
        assertThat(outcome(proof)).isEqualTo("ABORTED");
        assertThat(service.stats().waitingChecks()).isZero();

        store.resume();
        for (CompletionStage<SaslStep> h : holders) assertThat(outcome(h)).isEqualTo("OK");
        assertThat(service.stats().successes()).isEqualTo(HOST_CAP);
        assertThat(service.stats().inFlightChecks()).isZero();
    }
}
