package org.castellan.server.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.castellan.server.auth.AuthServer.ALICE;
import static org.castellan.server.auth.AuthServer.BOB;
import static org.castellan.server.auth.AuthServer.PASSWORD;
import static org.castellan.server.auth.SameOutcomeOnEveryProtocolTest.plainResponse;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.EnumMap;
import java.util.Map;
import java.util.Optional;
import javax.net.ssl.SSLContext;
import org.castellan.security.auth.AuthContext;
import org.castellan.server.auth.MailClient.Outcome;
import org.castellan.server.auth.MailClient.Proto;
import org.castellan.server.auth.MailClient.Reply;
import org.castellan.server.cli.Main;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * docs/design.md §5.6 as an operator would watch it: a thousand wrong passwords for one account
 * from 127.0.0.2 over IMAP are slowed, then refused with the temporary failure, while the
 * account still logs in from another network and with its certificate from the attacking address
 * itself; {@code castellan blocks list} shows the blocks and {@code blocks clear} lifts them.
 *
 * <p>The delays are configured in milliseconds so that this runs in seconds; the test asserts
 * replies and limiter state, never how long anything took.
 */
class BruteForceTest {

    private static final int ATTEMPTS = 1000;
    private static final int FREE = 3;
    private static final int BLOCK_AFTER = 20;
    /**
     * The first guesses go over IMAPS, the rest over a cleartext listener of the same server: the
     * limiter counts the host on every listener alike, and a thousand TLS handshakes would cost
     * this test tens of seconds on two cores.
     */
    private static final int OVER_TLS = 60;
    private static final InetAddress ATTACKER = AuthServer.loopback("127.0.0.2");
    /** Same /24 as the attacker: the (account, network) pair is blocked for alice here too, by design. */
    private static final InetAddress NEIGHBOUR = AuthServer.loopback("127.0.0.3");
    /** Another /24 (all of 127/8 is loopback on Linux): alice from here is not affected. */
    private static final InetAddress ELSEWHERE = AuthServer.loopback("127.0.1.3");

    @TempDir Path dir;
    AuthServer auth;

    @AfterEach
    void stop() {
        if (auth != null) auth.close();
    }

    @Test
    void aThousandGuessesAreSlowedThenRefusedWhileTheOwnerStillLogsIn() throws Exception {
        auth = AuthServer.start(dir, String.join("\n", "free-failures = " + FREE, "block-after = " + BLOCK_AFTER,
                        "first-delay = \"1ms\"", "max-delay = \"8ms\"", "block-duration = \"15m\""),
                AuthServer.listener("imaps", "imap", "implicit", "client-cert = \"request\""),
                AuthServer.listener("imap-lan", "imap", "none", "cleartext-auth = true"));
        SSLContext noCertificate = auth.pki().clientContext();
        Map<Outcome, Integer> seen = new EnumMap<>(Outcome.class);
        boolean slowed = false;
        MailClient attacker = null;
        for (int i = 0; i < ATTEMPTS; i++) {
            // The server closes after three failures on one connection: the attacker reconnects.
            if (i % 3 == 0) {
                if (attacker != null) attacker.close();
                attacker = i < OVER_TLS
                        ? MailClient.implicit(Proto.IMAP, auth.address("imaps"), ATTACKER, noCertificate, false)
                        : MailClient.plain(Proto.IMAP, auth.address("imap-lan"), ATTACKER);
            }
            Reply reply = attacker.authenticate("PLAIN", plainResponse(ALICE, "guess-" + i));
            seen.merge(reply.outcome(), 1, Integer::sum);
            if (i < BLOCK_AFTER) {
                assertThat(reply.outcome()).as("attempt %d: %s", i, reply.line()).isEqualTo(Outcome.INVALID);
            } else {
                assertThat(reply.outcome()).as("attempt %d: %s", i, reply.line()).isEqualTo(Outcome.TEMPORARY);
            }
            if (i == FREE) slowed = auth.server().auth().pendingDelay(attackerContext(), Optional.of(ALICE)).isPositive();
            if (i == ATTEMPTS / 2) ownerStillGetsIn();
        }
        attacker.close();
        assertThat(slowed).as("failures beyond the free ones delay the next reply").isTrue();
        assertThat(seen).containsEntry(Outcome.INVALID, BLOCK_AFTER).containsEntry(Outcome.TEMPORARY, ATTEMPTS - BLOCK_AFTER);
        var stats = auth.server().auth().stats();
        assertThat(stats.failures()).as("only guesses that reached a password check count").isEqualTo(BLOCK_AFTER);
        assertThat(stats.blockedAttempts()).isGreaterThanOrEqualTo(ATTEMPTS - BLOCK_AFTER);
        assertThat(stats.passwordHashes()).as("a blocked guess costs no PBKDF2").isLessThan(BLOCK_AFTER + 10L);

        String blocks = castellan("blocks", "list");
        assertThat(blocks).contains("127.0.0.2/32").containsPattern("127\\.0\\.0\\.0/24 +" + ALICE);
        assertThat(castellan("blocks", "clear", "127.0.0.2")).contains("lifted 2 block(s) for 127.0.0.2");
        assertThat(castellan("blocks", "list")).doesNotContain("127.0.0.");
        try (MailClient c = MailClient.implicit(Proto.IMAP, auth.address("imaps"), ATTACKER, auth.pki().clientContext(), false)) {
            assertThat(c.authenticate("PLAIN", plainResponse(ALICE, PASSWORD)).outcome()).isEqualTo(Outcome.OK);
        }
    }

    /** In the middle of the attack. */
    private void ownerStillGetsIn() throws Exception {
        assertThat(login(ELSEWHERE, ALICE, PASSWORD)).as("alice from another network").isEqualTo(Outcome.OK);
        assertThat(login(NEIGHBOUR, BOB, PASSWORD)).as("another account from the attacker's /24").isEqualTo(Outcome.OK);
        assertThat(login(NEIGHBOUR, ALICE, PASSWORD)).as("alice from the attacker's /24: that pair is blocked")
                .isEqualTo(Outcome.TEMPORARY);
        // A verified certificate is counted only against itself: from the attacking address it still gets in.
        try (MailClient c = MailClient.implicit(Proto.IMAP, auth.address("imaps"), ATTACKER,
                auth.pki().clientContext(auth.pki().client()), false)) {
            assertThat(c.authenticate("EXTERNAL", new byte[0]).outcome()).isEqualTo(Outcome.OK);
        }
        try (MailClient c = MailClient.implicit(Proto.IMAP, auth.address("imaps"), ATTACKER,
                auth.pki().clientContext(auth.pki().client()), false)) {
            assertThat(c.authenticate("PLAIN", plainResponse(ALICE, PASSWORD)).outcome()).isEqualTo(Outcome.OK);
        }
    }

    private Outcome login(InetAddress from, String user, String password) throws Exception {
        try (MailClient c = MailClient.implicit(Proto.IMAP, auth.address("imaps"), from, auth.pki().clientContext(), false)) {
            return c.authenticate("PLAIN", plainResponse(user, password)).outcome();
        }
    }

    private static AuthContext attackerContext() {
        return new AuthContext("imaps", "imap", ATTACKER, true, false, Optional.empty(), Optional.empty());
    }

    /** {@code castellan ARGS --data DIR} in-process against the running server's admin socket; its standard output. */
    private String castellan(String... args) {
        String[] all = new String[args.length + 2];
        System.arraycopy(args, 0, all, 0, args.length);
        all[args.length] = "--data";
        all[args.length + 1] = dir.toString();
        PrintStream out = System.out;
        var captured = new ByteArrayOutputStream();
        synchronized (System.class) {
            try {
                System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
                assertThat(Main.run(all)).as(String.join(" ", args)).isZero();
            } finally {
                System.setOut(out);
            }
        }
        return captured.toString(StandardCharsets.UTF_8);
    }
}
