package org.castellan.server.hostile;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.castellan.protocol.mail.EmailAddress;
import org.castellan.security.auth.AuthService;
import org.castellan.security.auth.AuthSettings;
import org.castellan.security.auth.ScramSecret;
import org.castellan.server.hostile.LoginBurst.Outcome;
import org.castellan.server.testing.TestServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * One source's guesses must not starve everybody else's logins: during a burst of 400 wrong
 * LOGINs for alice from 127.0.0.2, bob logs in from another network (127.0.1.3: outside the
 * attacker's /24, whose failures would otherwise slow bob's reply on purpose). Asserted by counts,
 * never by time — how many of the attacker's password checks ran while bob waited, and how many
 * the attacker still had queued when bob was in. The latency is printed for the record.
 */
class FairLoginTest {

    private static final int BURST = 400;
    /**
     * The attacked account's PBKDF2 cost in the second test: high enough that the attacker's
     * queue of checks outlasts bob's trip to the server, low enough to cost this test under a
     * second of CPU.
     */
    private static final int ATTACKED_COST = 16_384;
    /** The IPv4 /24's failure budget (AuthSettings): the most checks one network can have admitted. */
    private static final int NETWORK_BUDGET = AuthSettings.DEFAULT_NETWORK_BLOCK_AFTER;
    private static final InetAddress ATTACKER = LoginBurst.loopback("127.0.0.2");
    private static final InetAddress ELSEWHERE = LoginBurst.loopback("127.0.1.3");

    @TempDir Path dir;
    private TestServer test;

    @AfterEach
    void stop() {
        if (test != null) test.server().close();
    }

    /** The default limiter: the burst gets its failure budget checked, no more, and bob gets in. */
    @Test
    void aGoodLoginFromElsewhereIsNotQueuedBehindTheBurst() throws Exception {
        test = TestServer.startWith(dir, "", "", LoginBurst.imapListener());
        AuthService auth = test.server().auth();
        InetSocketAddress imap = test.server().addresses().get("imap");

        try (LoginBurst burst = LoginBurst.open(imap, ATTACKER, BURST);
                LoginBurst good = LoginBurst.open(imap, ELSEWHERE, 1)) {
            burst.sendLogins(TestServer.USER, guesses());
            long before = auth.stats().passwordHashes();
            long start = System.nanoTime();
            good.sendLogins(TestServer.OTHER, List.of(TestServer.PASSWORD));
            Outcome outcome = good.replies().getFirst();
            long millis = (System.nanoTime() - start) / 1_000_000;
            long ranMeanwhile = auth.stats().passwordHashes() - before - 1;
            System.out.println(String.format("FairLoginTest: good login during a %d-LOGIN burst: %s in %d ms;"
                    + " %d of the attacker's password checks ran meanwhile", BURST, outcome, millis, ranMeanwhile));

            assertThat(outcome).isEqualTo(Outcome.OK);
            assertThat(ranMeanwhile).as("attacker's checks run while the good login waited")
                    .isLessThanOrEqualTo(AuthSettings.DEFAULT_BLOCK_AFTER);
        }
    }

    /**
     * With the caps and block-after raised out of the way, the attacker gets its whole /24's budget
     * of checks queued at once; bob's check still starts at the next free worker, while the
     * attacker's queue is far from empty.
     */
    @Test
    void theHashingWorkersServeEachSourceInTurn() throws Exception {
        test = TestServer.startWith(dir, "", String.join("\n", "free-failures = 999", "block-after = 1000",
                        "max-in-flight-per-host = 1000", "max-in-flight-per-account = 1000"),
                LoginBurst.imapListener());
        AuthService auth = test.server().auth();
        InetSocketAddress imap = test.server().addresses().get("imap");
        var store = test.server().store();
        store.setCredential(store.getAccount(EmailAddress.of(TestServer.USER)).orElseThrow().id(),
                ScramSecret.derive(TestServer.PASSWORD.toCharArray(), ATTACKED_COST).encode());

        try (LoginBurst burst = LoginBurst.open(imap, ATTACKER, BURST);
                LoginBurst good = LoginBurst.open(imap, ELSEWHERE, 1)) {
            burst.sendLogins(TestServer.USER, guesses());
            // Every LOGIN of the burst has been admitted or refused: the /24's budget is all in flight.
            await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(2))
                    .until(() -> auth.stats().busyAttempts() + auth.stats().blockedAttempts() == BURST - NETWORK_BUDGET);
            int queuedBefore = auth.stats().queuedChecks();
            long start = System.nanoTime();
            good.sendLogins(TestServer.OTHER, List.of(TestServer.PASSWORD));
            Outcome outcome = good.replies().getFirst();
            long millis = (System.nanoTime() - start) / 1_000_000;
            int queuedAfter = auth.stats().queuedChecks();
            System.out.println(String.format("FairLoginTest: %d of the attacker's checks queued when the good login"
                    + " was sent, %d still queued when it was answered (%s in %d ms)", queuedBefore, queuedAfter,
                    outcome, millis));

            assertThat(outcome).isEqualTo(Outcome.OK);
            assertThat(queuedAfter).as("the attacker's checks still waiting once the good login was answered")
                    .isPositive()
                    .isGreaterThanOrEqualTo(queuedBefore / 2);
        }
    }

    private static List<String> guesses() {
        List<String> guesses = new ArrayList<>();
        for (int i = 0; i < BURST; i++) guesses.add("guess-" + i);
        return guesses;
    }
}
