package org.castellan.server.hostile;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import org.castellan.security.auth.AuthService;
import org.castellan.security.auth.Block;
import org.castellan.server.hostile.LoginBurst.Outcome;
import org.castellan.server.testing.TestServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * docs/design.md §5.6 against a guesser who does not wait for replies: 600 LOGINs for one account
 * from one address, all on the wire before the first is answered, the right password last. Each
 * guess is counted before its password check starts, so however the checks interleave no more
 * than {@code block-after} of them are ever checked, and the right password, arriving after the
 * budget is spent, gets the temporary failure instead of a session.
 *
 * <p>Delays are a millisecond so that this runs in seconds; the test asserts replies and counts,
 * never how long anything took.
 */
class LoginRaceTest {

    private static final int GUESSES = 600;
    private static final int BLOCK_AFTER = 20;
    private static final InetAddress ATTACKER = LoginBurst.loopback("127.0.0.2");

    @TempDir Path dir;
    private TestServer test;

    @AfterEach
    void stop() {
        if (test != null) test.server().close();
    }

    @Test
    void concurrentGuessesNeverCheckMoreThanTheBlockAllowsAndTheRightPasswordLastIsRefused() throws Exception {
        test = TestServer.startWith(dir, "", String.join("\n", "block-after = " + BLOCK_AFTER,
                        "first-delay = \"1ms\"", "max-delay = \"2ms\""),
                LoginBurst.imapListener());
        AuthService auth = test.server().auth();
        InetSocketAddress imap = test.server().addresses().get("imap");

        List<String> passwords = new ArrayList<>();
        for (int i = 0; i < GUESSES - 1; i++) passwords.add("guess-" + i);
        passwords.add(TestServer.PASSWORD);
        Map<Outcome, Integer> seen = new EnumMap<>(Outcome.class);
        List<Outcome> replies;
        try (LoginBurst burst = LoginBurst.open(imap, ATTACKER, GUESSES)) {
            burst.sendLogins(TestServer.USER, passwords);
            replies = burst.replies();
        }
        replies.forEach(o -> seen.merge(o, 1, Integer::sum));
        long checked = auth.stats().passwordHashes();
        System.out.println(String.format("LoginRaceTest: %d concurrent LOGINs, block-after %d: %d password checks, replies %s",
                GUESSES, BLOCK_AFTER, checked, seen));

        assertThat(replies.getLast()).as("the right password, sent last, after the guesses spent the budget")
                .isEqualTo(Outcome.TEMPORARY);
        assertThat(seen.getOrDefault(Outcome.INVALID, 0)).as("wrong passwords checked and refused")
                .isLessThanOrEqualTo(BLOCK_AFTER);
        assertThat(seen.getOrDefault(Outcome.OK, 0)).isZero();
        assertThat(seen.getOrDefault(Outcome.OTHER, 0)).isZero();
        assertThat(checked).as("PBKDF2 runs: every check was counted before it started").isLessThanOrEqualTo(BLOCK_AFTER);

        // The script goes on guessing one at a time until it is blocked, then tries the right password.
        int invalid = seen.getOrDefault(Outcome.INVALID, 0);
        for (int i = 0; i < 2 * BLOCK_AFTER && !blocked(auth); i++) {
            Outcome o = LoginBurst.login(imap, ATTACKER, TestServer.USER, "later-guess-" + i);
            if (o == Outcome.INVALID) invalid++;
        }
        assertThat(blocked(auth)).as("blocks: %s", auth.blocks()).isTrue();
        assertThat(invalid).as("guesses refused as wrong in all").isEqualTo(BLOCK_AFTER);
        assertThat(LoginBurst.login(imap, ATTACKER, TestServer.USER, TestServer.PASSWORD))
                .as("the right password once the host is blocked").isEqualTo(Outcome.TEMPORARY);
        assertThat(auth.stats().passwordHashes()).as("PBKDF2 runs in all").isLessThanOrEqualTo(BLOCK_AFTER);
    }

    private static boolean blocked(AuthService auth) {
        return auth.blocks().stream().map(Block::source).anyMatch("127.0.0.2/32"::equals);
    }
}
