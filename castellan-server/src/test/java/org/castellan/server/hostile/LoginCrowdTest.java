package org.castellan.server.hostile;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Collections;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import org.castellan.protocol.mail.EmailAddress;
import org.castellan.security.auth.AuthService;
import org.castellan.security.auth.ScramSecret;
import org.castellan.server.hostile.LoginBurst.Outcome;
import org.castellan.server.testing.TestServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The other side of LoginRaceTest: a crowd of good clients behind one address (an office NAT
 * after a restart, a benchmark opening a hundred sessions from 127.0.0.1) sends its right
 * passwords all at once. The in-flight caps still hold (16 per host, 8 per account), but an
 * attempt over them waits for a place rather than being refused, so every one logs in. One whose
 * client gives up while it waits leaves the line unchecked.
 */
class LoginCrowdTest {

    private static final int CROWD = 100;
    private static final InetAddress OFFICE = LoginBurst.loopback("127.0.0.4");
    /**
     * The PBKDF2 cost of the account in the second test: the holder's check must outlast the
     * waiter's LOGIN, its place in the line and its close (milliseconds when idle, half a second
     * with the cores shared eight ways), by a margin a loaded machine does not eat: about 0.7 s
     * of an idle core, three seconds of a loaded one.
     */
    private static final int HOLDING_COST = 2_000_000;
    private static final Duration PATIENCE = Duration.ofSeconds(30);

    @TempDir Path dir;
    private TestServer test;

    @AfterEach
    void stop() {
        if (test != null) test.server().close();
    }

    @Test
    void aHundredRightPasswordsFromOneAddressAtOnceAllLogIn() throws Exception {
        test = TestServer.startWith(dir, "", "", LoginBurst.imapListener());
        AuthService auth = test.server().auth();
        InetSocketAddress imap = test.server().addresses().get("imap");

        List<Outcome> replies;
        try (LoginBurst crowd = LoginBurst.open(imap, OFFICE, CROWD)) {
            crowd.sendLogins(TestServer.USER, Collections.nCopies(CROWD, TestServer.PASSWORD));
            replies = crowd.replies();
        }
        Map<Outcome, Integer> seen = new EnumMap<>(Outcome.class);
        replies.forEach(o -> seen.merge(o, 1, Integer::sum));
        System.out.println(String.format("LoginCrowdTest: %d concurrent right LOGINs from one address: replies %s, %s",
                CROWD, seen, auth.stats()));

        assertThat(seen).as("every LOGIN of the crowd").isEqualTo(Map.of(Outcome.OK, CROWD));
        assertThat(auth.stats().busyAttempts()).isZero();
        assertThat(auth.blocks()).isEmpty();
    }

    @Test
    void aLoginWaitingForItsPlaceLeavesTheLineWhenItsConnectionCloses() throws Exception {
        test = TestServer.startWith(dir, "", "max-in-flight-per-host = 1", LoginBurst.imapListener());
        AuthService auth = test.server().auth();
        InetSocketAddress imap = test.server().addresses().get("imap");
        var store = test.server().store();
        store.setCredential(store.getAccount(EmailAddress.of(TestServer.USER)).orElseThrow().id(),
                ScramSecret.derive(TestServer.PASSWORD.toCharArray(), HOLDING_COST).encode());

        try (LoginBurst holder = LoginBurst.open(imap, OFFICE, 1); LoginBurst waiter = LoginBurst.open(imap, OFFICE, 1)) {
            holder.sendLogins(TestServer.USER, List.of(TestServer.PASSWORD));
            await().atMost(PATIENCE).pollInterval(Duration.ofMillis(2)).until(() -> auth.stats().inFlightChecks() == 1);
            waiter.sendLogins(TestServer.USER, List.of(TestServer.PASSWORD));
            await().atMost(PATIENCE).pollInterval(Duration.ofMillis(2)).until(() -> auth.stats().waitingChecks() == 1);

            waiter.close();
            await().atMost(PATIENCE).pollInterval(Duration.ofMillis(2)).until(() -> auth.stats().waitingChecks() == 0);
            assertThat(holder.replies()).containsExactly(Outcome.OK);
        }
        assertThat(auth.stats().waitedAttempts()).isEqualTo(1);
        assertThat(auth.stats().successes()).as("the waiter, gone, was never checked").isEqualTo(1);
        assertThat(auth.stats().cacheHits()).as("as it would have been, from the cache").isZero();
        assertThat(auth.stats().inFlightChecks()).isZero();
    }
}
