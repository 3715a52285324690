package org.castellan.security.auth.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import org.castellan.security.auth.AuthSettings;
import org.castellan.security.auth.Block;
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
    private static final Optional<String> CAROL = Optional.of("carol@example.org");

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

    // --- blocks across nodes --------------------------------------------------------------------

    /**
     * A block one limiter decides, handed to another, refuses the same source there as it does
     * here; a certificate holder from the blocked address is not touched; lifting its sources
     * there lifts it.
     */
    @Test
    void aBlockDecidedByOneLimiterRefusesOnAnotherUntilLifted() {
        AuthSettings settings = settings(0, 3, Duration.ZERO, Duration.ZERO, 100, 100);
        LoginLimiter here = new LoginLimiter(settings, CLOCK);
        LoginLimiter there = new LoginLimiter(settings, CLOCK);
        List<Block> decided = new ArrayList<>();
        here.onBlock(decided::add);
        for (int i = 0; i < 3; i++) here.failure(HOST, ALICE);
        assertThat(decided).extracting(Block::source)
                .containsExactlyInAnyOrder("192.0.2.1/32", "192.0.2.0/24");

        assertThat(there.admit(HOST, BOB)).isInstanceOf(Admitted.class);
        there.impose(decided);
        assertThat(there.admit(HOST, BOB)).isInstanceOf(Blocked.class);
        assertThat(there.blocked(NEIGHBOUR, ALICE)).isPresent(); // the pair's /24 reaches the neighbour, for alice only
        assertThat(there.blocked(NEIGHBOUR, BOB)).isEmpty();
        Origin device = new Origin(null, null, null, "certificate sha256:" + "ab".repeat(32)); // from 192.0.2.1 too
        assertThat(there.admit(device, Optional.empty())).isInstanceOf(Admitted.class);
        assertThat(there.blocks()).hasSize(2);

        assertThat(there.clear(LoginLimiter.sources(address("192.0.2.1")))).isEqualTo(2);
        assertThat(there.admit(HOST, BOB)).isInstanceOf(Admitted.class);
        assertThat(here.admit(HOST, BOB)).isInstanceOf(Blocked.class); // lifted there only
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
        int mostRunning = mostRunningAtOnce(account -> limiter.admit(HOST, account));
        assertThat(mostRunning).as("checks running at once").isLessThanOrEqualTo(cap);
        assertThat(limiter.inFlight(HOST)).isZero();
        assertThat(limiter.blocks()).as("the host ran out of failures").isNotEmpty()
                .allSatisfy(b -> assertThat(b.failures()).isEqualTo(blockAfter));
        assertThat(limiter.admit(HOST, ALICE)).isInstanceOf(Blocked.class);
    }

    /**
     * Eight threads make 2,000 attempts each from {@link #HOST} for five accounts; each admitted
     * check fails, is cancelled or succeeds at random. {@code attempt} gives the admission, or
     * null for an attempt given up. Returns the most checks that ran at once.
     */
    private static int mostRunningAtOnce(Function<Optional<String>, Admission> attempt) throws Exception {
        AtomicInteger running = new AtomicInteger();
        AtomicInteger mostRunning = new AtomicInteger();
        try (ExecutorService threads = Executors.newFixedThreadPool(8)) {
            List<Future<?>> done = new ArrayList<>();
            for (int t = 0; t < 8; t++) {
                done.add(threads.submit(() -> {
                    ThreadLocalRandom random = ThreadLocalRandom.current();
                    for (int i = 0; i < 2_000; i++) {
                        Optional<String> account = Optional.of("user" + random.nextInt(5) + "@example.org");
                        if (!(attempt.apply(account) instanceof Admitted a)) continue;
                        mostRunning.accumulateAndGet(running.incrementAndGet(), Math::max);
                        if (random.nextInt(4) == 0) Thread.yield();
                        running.decrementAndGet();
                        switch (random.nextInt(3)) {
                            case 0 -> a.reservation().failed(account);
                            case 1 -> a.reservation().cancelled();
                            default -> a.reservation().succeeded(account.get());
                        }
                    }
                }));
            }
            for (Future<?> f : done) f.get();
        }
        return mostRunning.get();
    }

    // --- waiting for a place ----------------------------------------------------------------

    private static LoginLimiter.Reservation admittedNow(CompletableFuture<Admission> turn) {
        assertThat(turn).as("decided").isDone();
        return admitted(turn.join());
    }

    @Test
    void overTheCapAnAttemptWaitsAndIsAdmittedInArrivalOrder() {
        LoginLimiter limiter = new LoginLimiter(settings(3, 20, Duration.ZERO, Duration.ZERO, 1, 8), CLOCK);
        LoginLimiter.Reservation first = admittedNow(limiter.admitInTurn(HOST, ALICE));
        CompletableFuture<Admission> second = limiter.admitInTurn(HOST, BOB);
        CompletableFuture<Admission> third = limiter.admitInTurn(HOST, CAROL);
        assertThat(second).as("over the host's cap of one").isNotDone();
        assertThat(third).isNotDone();
        assertThat(limiter.waiting()).isEqualTo(2);
        assertThat(limiter.admit(HOST, ALICE)).as("nobody passes those waiting").isInstanceOf(Busy.class);
        assertThat(limiter.admitInTurn(NEIGHBOUR, ALICE)).as("another host has its own cap").isCompleted();

        first.succeeded("alice@example.org");
        LoginLimiter.Reservation next = admittedNow(second);
        assertThat(third).as("one place, one waiter").isNotDone();
        assertThat(limiter.inFlight(HOST)).isEqualTo(1);
        next.failed(BOB);
        admittedNow(third).cancelled();
        assertThat(limiter.waiting()).isZero();
        assertThat(limiter.inFlight(HOST)).isZero();
    }

    @Test
    void aWaiterIsJudgedAgainWhenItsTurnComes() {
        LoginLimiter limiter = new LoginLimiter(settings(0, 3, Duration.ZERO, Duration.ZERO, 1, 8), CLOCK);
        LoginLimiter.Reservation holder = admittedNow(limiter.admitInTurn(HOST, BOB));
        LoginLimiter.Reservation neighbours = admittedNow(limiter.admitInTurn(NEIGHBOUR, ALICE));
        CompletableFuture<Admission> waiter = limiter.admitInTurn(HOST, ALICE);
        assertThat(waiter).as("alice's pair has 0 failures and 1 check in flight of 3").isNotDone();
        // While it waits, alice's pair spends its budget from the neighbour's address.
        limiter.failure(NEIGHBOUR, ALICE);
        limiter.failure(NEIGHBOUR, ALICE);
        holder.succeeded("bob@example.org");
        assertThat(waiter.join()).as("2 failures and 1 in flight reach block-after 3")
                .isInstanceOfSatisfying(Busy.class, b -> assertThat(b.account()).isEqualTo(ALICE));
        assertThat(limiter.inFlight(HOST)).isZero();

        LoginLimiter.Reservation again = admittedNow(limiter.admitInTurn(HOST, BOB));
        CompletableFuture<Admission> blocked = limiter.admitInTurn(HOST, CAROL);
        assertThat(blocked).isNotDone();
        for (int i = 0; i < 3; i++) limiter.failure(NEIGHBOUR, CAROL);
        again.cancelled();
        assertThat(blocked.join()).as("carol's pair was blocked meanwhile").isInstanceOf(Blocked.class);
        assertThat(limiter.waiting()).isZero();
        neighbours.cancelled();
        assertThat(limiter.inFlight()).isZero();
    }

    @Test
    void aWaiterWhoseOtherCounterIsFullMovesToItsLineWithoutHoldingUpTheHost() {
        LoginLimiter limiter = new LoginLimiter(settings(3, 20, Duration.ZERO, Duration.ZERO, 2, 1), CLOCK);
        LoginLimiter.Reservation alice = admittedNow(limiter.admitInTurn(HOST, ALICE));
        LoginLimiter.Reservation bob = admittedNow(limiter.admitInTurn(HOST, BOB));
        CompletableFuture<Admission> aliceAgain = limiter.admitInTurn(HOST, ALICE);
        assertThat(aliceAgain).as("the host has its two").isNotDone();
        bob.succeeded("bob@example.org");
        assertThat(aliceAgain).as("the host has room, alice's pair has not").isNotDone();
        admittedNow(limiter.admitInTurn(HOST, CAROL)).succeeded("carol@example.org");
        alice.succeeded("alice@example.org");
        admittedNow(aliceAgain).succeeded("alice@example.org");
        assertThat(limiter.inFlight()).isZero();
        assertThat(limiter.waiting()).isZero();
    }

    @Test
    void theLineIsBoundedAndACancelledWaiterLeavesIt() {
        LoginLimiter limiter = new LoginLimiter(settings(3, 20, Duration.ZERO, Duration.ZERO, 1, 1000), CLOCK);
        LoginLimiter.Reservation holder = admittedNow(limiter.admitInTurn(HOST, ALICE));
        List<CompletableFuture<Admission>> line = new ArrayList<>();
        for (int i = 0; i < AuthSettings.MAX_WAITING_PER_KEY; i++) line.add(limiter.admitInTurn(HOST, ALICE));
        assertThat(line).allSatisfy(f -> assertThat(f).isNotDone());
        assertThat(limiter.admitInTurn(HOST, ALICE)).as("one more than the line holds")
                .isCompletedWithValueMatching(a -> a instanceof Busy b && b.waiting() == AuthSettings.MAX_WAITING_PER_KEY);

        assertThat(line.getFirst().cancel(false)).isTrue();
        assertThat(limiter.waiting()).isEqualTo(AuthSettings.MAX_WAITING_PER_KEY - 1);
        holder.cancelled();
        assertThat(line.get(1)).as("the place goes to the next still waiting").isCompleted();
        for (CompletableFuture<Admission> f : line.subList(2, line.size())) f.cancel(false);
        assertThat(limiter.waiting()).isZero();
        admitted(line.get(1).join()).cancelled();
        assertThat(limiter.inFlight()).isZero();
    }

    @Test
    void closingRefusesTheWaiting() {
        LoginLimiter limiter = new LoginLimiter(settings(3, 20, Duration.ZERO, Duration.ZERO, 1, 8), CLOCK);
        LoginLimiter.Reservation holder = admittedNow(limiter.admitInTurn(HOST, ALICE));
        CompletableFuture<Admission> waiter = limiter.admitInTurn(HOST, BOB);
        limiter.close();
        assertThatThrownBy(waiter::join).hasCauseInstanceOf(RejectedExecutionException.class);
        assertThat(limiter.waiting()).isZero();
        assertThat(limiter.admitInTurn(HOST, BOB)).isCompletedExceptionally();
        holder.succeeded("alice@example.org");
        assertThat(limiter.inFlight()).isZero();
    }

    @Test
    void theCapsAndTheBudgetHoldWhileAttemptsWaitAndGiveUpUnderAnyInterleaving() throws Exception {
        int cap = 3;
        int blockAfter = 40;
        LoginLimiter limiter = new LoginLimiter(settings(0, blockAfter, Duration.ZERO, Duration.ZERO, cap, 1000), CLOCK);
        int mostRunning = mostRunningAtOnce(account -> {
            CompletableFuture<Admission> turn = limiter.admitInTurn(HOST, account);
            // Some give up at once, as a client closing its connection would, maybe after their turn came.
            if (ThreadLocalRandom.current().nextInt(5) == 0) turn.cancel(false);
            try {
                return turn.get(30, TimeUnit.SECONDS);
            } catch (CancellationException gaveUp) {
                return null;
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        assertThat(mostRunning).as("checks running at once").isLessThanOrEqualTo(cap);
        assertThat(limiter.inFlight()).isZero();
        assertThat(limiter.waiting()).as("every waiter admitted, refused or gone").isZero();
        assertThat(limiter.blocks()).as("the host ran out of failures").isNotEmpty()
                .allSatisfy(b -> assertThat(b.failures()).isEqualTo(blockAfter));
    }
}
