package org.castellan.security.auth.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import org.castellan.security.auth.AuthSettings;
import org.castellan.security.auth.internal.LoginLimiter.Admission;
import org.castellan.security.auth.internal.LoginLimiter.Admitted;
import org.castellan.security.auth.internal.LoginLimiter.Blocked;
import org.castellan.security.auth.internal.LoginLimiter.Busy;
import org.castellan.security.auth.internal.LoginLimiter.Origin;
import org.junit.jupiter.api.Test;

/** The limiter on its own: delays, and the reservations that count a check before it starts. */
class LoginLimiterTest {

    private static final Clock CLOCK = Clock.fixed(Instant.parse("2026-01-05T09:00:00Z"), ZoneOffset.UTC);
    private static final Origin HOST = LoginLimiter.origin(address("192.0.2.1"), Optional.empty());
    private static final Origin NEIGHBOUR = LoginLimiter.origin(address("192.0.2.2"), Optional.empty());
    private static final Optional<String> ALICE = Optional.of("alice@example.org");
    private static final Optional<String> BOB = Optional.of("bob@example.org");

    private static AuthSettings settings(int free, int blockAfter, Duration first, Duration max, int hostCap, int accountCap) {
        return new AuthSettings(4096, 100, free, blockAfter, 10, 1000, first, max, Duration.ofMinutes(15),
                Duration.ofHours(1), 1000, 2, hostCap, accountCap);
    }

    private static InetAddress address(String literal) {
        try {
            return InetAddress.getByName(literal);
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException(e);
        }
    }

    private static LoginLimiter.Reservation admitted(Admission admission) {
        assertThat(admission).isInstanceOf(Admitted.class);
        return ((Admitted) admission).reservation();
    }

    // --- delays ---------------------------------------------------------------------------------

    @Test
    void theDelayNeverExceedsMaxDelayHoweverManyFailures() {
        // Doubling a minute 999 times would overflow any clock; the cap must hold at every count.
        for (Duration max : List.of(AuthSettings.DEFAULT_MAX_DELAY, Duration.ofMinutes(1))) {
            LoginLimiter limiter = new LoginLimiter(settings(0, 1000, Duration.ofMillis(250), max, 16, 8), CLOCK);
            Duration largest = Duration.ZERO;
            for (int i = 0; i < 999; i++) {
                limiter.failure(HOST, ALICE);
                Duration delay = limiter.delay(HOST, ALICE);
                assertThat(delay).as("after %d failures", i + 1).isLessThanOrEqualTo(max);
                if (delay.compareTo(largest) > 0) largest = delay;
            }
            assertThat(largest).as("the cap is reached, not just respected").isEqualTo(max);
        }
        LoginLimiter slow = new LoginLimiter(settings(0, 1000, Duration.ofMinutes(1), Duration.ofMinutes(1), 16, 8), CLOCK);
        for (int i = 0; i < 100; i++) slow.failure(HOST, ALICE);
        assertThat(slow.delay(HOST, ALICE)).isEqualTo(Duration.ofMinutes(1));
    }

    // --- reservations ---------------------------------------------------------------------------

    @Test
    void checksInFlightCountAgainstTheFailuresLeftBeforeTheBlock() {
        LoginLimiter limiter = new LoginLimiter(settings(1, 5, Duration.ZERO, Duration.ZERO, 100, 100), CLOCK);
        limiter.failure(HOST, ALICE);
        limiter.failure(HOST, ALICE);
        List<LoginLimiter.Reservation> inFlight = new ArrayList<>();
        for (int i = 0; i < 3; i++) inFlight.add(admitted(limiter.admit(HOST, ALICE)));
        // 2 failures and 3 checks in flight: if those fail, the host is blocked; nothing more may start.
        assertThat(limiter.admit(HOST, ALICE)).isInstanceOf(Busy.class);
        assertThat(limiter.admit(HOST, BOB)).as("the host's budget, whatever the account").isInstanceOf(Busy.class);
        assertThat(limiter.admit(NEIGHBOUR, BOB)).as("another host of the network").isInstanceOf(Admitted.class);

        inFlight.removeFirst().cancelled();
        LoginLimiter.Reservation again = admitted(limiter.admit(HOST, ALICE));
        for (LoginLimiter.Reservation r : inFlight) r.failed(ALICE);
        again.failed(ALICE);
        assertThat(limiter.admit(HOST, ALICE)).isInstanceOf(Blocked.class);
        assertThat(limiter.blocks()).extracting(b -> b.failures()).containsOnly(5);
    }

    @Test
    void eachHostAndPairHasItsCapOfChecksInFlight() {
        LoginLimiter limiter = new LoginLimiter(settings(3, 20, Duration.ZERO, Duration.ZERO, 4, 2), CLOCK);
        admitted(limiter.admit(HOST, ALICE));
        admitted(limiter.admit(NEIGHBOUR, ALICE));
        assertThat(limiter.admit(HOST, ALICE)).as("alice from this /24 has two in flight")
                .isInstanceOfSatisfying(Busy.class, b -> {
                    assertThat(b.source()).isEqualTo("192.0.2.0/24");
                    assertThat(b.account()).isEqualTo(ALICE);
                    assertThat(b.inFlight()).isEqualTo(2);
                });
        admitted(limiter.admit(HOST, BOB));
        admitted(limiter.admit(HOST, Optional.of("carol@example.org")));
        LoginLimiter.Reservation fourth = admitted(limiter.admit(HOST, Optional.of("dave@example.org")));
        assertThat(limiter.inFlight(HOST)).isEqualTo(4);
        assertThat(limiter.admit(HOST, Optional.of("erin@example.org"))).as("the host has four in flight")
                .isInstanceOfSatisfying(Busy.class, b -> assertThat(b.source()).isEqualTo("192.0.2.1/32"));

        fourth.succeeded("dave@example.org");
        fourth.failed(Optional.of("dave@example.org"));
        assertThat(limiter.inFlight(HOST)).as("a reservation is settled once").isEqualTo(3);
        assertThat(limiter.delay(HOST, Optional.empty())).isZero();
        admitted(limiter.admit(HOST, Optional.of("erin@example.org")));
    }

    @Test
    void aSuccessReturnsItsReservationAndForgetsThePairAsBefore() {
        LoginLimiter limiter = new LoginLimiter(settings(0, 5, Duration.ofMillis(100), Duration.ofSeconds(1), 16, 8), CLOCK);
        limiter.failure(HOST, ALICE);
        limiter.failure(HOST, ALICE);
        admitted(limiter.admit(HOST, ALICE)).succeeded("alice@example.org");
        assertThat(limiter.inFlight(HOST)).isZero();
        assertThat(limiter.delay(NEIGHBOUR, ALICE)).as("the pair's failures are forgotten").isZero();
        assertThat(limiter.delay(HOST, Optional.empty())).as("the host's are not").isEqualTo(Duration.ofMillis(400));
        for (int i = 0; i < 3; i++) admitted(limiter.admit(HOST, ALICE)).succeeded("alice@example.org");
        assertThat(limiter.delay(HOST, Optional.empty())).as("successes never add to a count").isEqualTo(Duration.ofMillis(400));
    }

    @Test
    void theCapsAndTheBudgetHoldUnderAnyInterleaving() throws Exception {
        int cap = 3;
        int blockAfter = 40;
        LoginLimiter limiter = new LoginLimiter(settings(0, blockAfter, Duration.ZERO, Duration.ZERO, cap, 1000), CLOCK);
        AtomicInteger running = new AtomicInteger();
        AtomicInteger mostRunning = new AtomicInteger();
        AtomicInteger checked = new AtomicInteger();
        AtomicInteger succeeded = new AtomicInteger();
        try (ExecutorService threads = Executors.newFixedThreadPool(8)) {
            List<Future<?>> done = new ArrayList<>();
            for (int t = 0; t < 8; t++) {
                done.add(threads.submit(() -> {
                    ThreadLocalRandom random = ThreadLocalRandom.current();
                    for (int i = 0; i < 2_000; i++) {
                        Optional<String> account = Optional.of("user" + random.nextInt(5) + "@example.org");
                        if (!(limiter.admit(HOST, account) instanceof Admitted a)) continue;
                        mostRunning.accumulateAndGet(running.incrementAndGet(), Math::max);
                        checked.incrementAndGet();
                        if (random.nextInt(4) == 0) Thread.yield();
                        running.decrementAndGet();
                        switch (random.nextInt(3)) {
                            case 0 -> a.reservation().failed(account);
                            case 1 -> a.reservation().cancelled();
                            default -> {
                                a.reservation().succeeded(account.get());
                                succeeded.incrementAndGet();
                            }
                        }
                    }
                }));
            }
            for (Future<?> f : done) f.get();
        }
        assertThat(mostRunning.get()).as("checks running at once").isLessThanOrEqualTo(cap);
        assertThat(limiter.inFlight(HOST)).isZero();
        assertThat(limiter.blocks()).as("the host ran out of failures").isNotEmpty()
                .allSatisfy(b -> assertThat(b.failures()).isEqualTo(blockAfter));
        assertThat(limiter.admit(HOST, ALICE)).isInstanceOf(Blocked.class);
    }
}
