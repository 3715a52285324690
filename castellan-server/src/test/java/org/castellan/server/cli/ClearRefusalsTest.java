package org.castellan.server.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Commands that used to succeed silently on something that cannot work: a one-character
 * password, an alias whose mail would bounce, a kick or a listing of something that does not
 * exist. Each now exits non-zero with one line saying what is wrong.
 */
class ClearRefusalsTest {

    @TempDir Path tmp;
    Cli cli;

    @BeforeEach
    void init() {
        cli = Cli.init(tmp.resolve("data"), "alice@example.org");
    }

    @Test
    void aPasswordShorterThanTheMinimumIsRefusedAndTheErrorSaysTheMinimum() throws Exception {
        for (String shortOne : new String[] {"x", "fourteen chars"}) {
            Cli.Run r = cli.withStdin(shortOne + "\n", "user", "add", "bob@example.org", "--password-stdin");
            assertThat(r.code()).as(shortOne).isEqualTo(Main.BAD_INPUT);
            assertThat(r.err()).contains("at least 15", "password-min-length").doesNotContain(shortOne);
        }
        assertThat(cli.admin("user", "list").out()).doesNotContain("bob@example.org");
        Cli.Run passwd = cli.withStdin("short\n", "user", "passwd", "alice@example.org", "--password-stdin");
        assertThat(passwd.code()).isEqualTo(Main.BAD_INPUT);

        // Code points, not UTF-16 units: fifteen emoji are fifteen characters.
        String fifteen = "\uD83D\uDD11".repeat(15);
        assertThat(cli.withStdin(fifteen + "\n", "user", "add", "carol@example.org", "--password-stdin").code()).isZero();

        Path config = cli.data.resolve("castellan.toml");
        Files.writeString(config, Files.readString(config).replace("\n[auth]\n", "\n[auth]\npassword-min-length = 8\n"));
        Cli.Run eight = cli.withStdin("8 chars!\n", "user", "add", "bob@example.org", "--password-stdin");
        assertThat(eight.code()).as(eight.err()).isZero();

        Files.writeString(config, Files.readString(config).replace("password-min-length = 8", "password-min-length = 4"));
        Cli.Run tooLow = cli.withStdin("four\n", "user", "add", "dave@example.org", "--password-stdin");
        assertThat(tooLow.code()).isEqualTo(Main.BAD_INPUT);
        assertThat(tooLow.err()).contains("auth.password-min-length", "from 8 to 64");
    }

    @Test
    void anAliasToAnAddressOutsideTheLocalDomainsIsRefused() {
        Cli.Run r = cli.admin("alias", "add", "postmaster@example.org", "someone@elsewhere.example");
        assertThat(r.code()).isEqualTo(Main.BAD_INPUT);
        assertThat(r.err()).contains("outside the local domains", "would bounce");
        assertThat(cli.admin("alias", "list").out()).doesNotContain("postmaster");
        assertThat(cli.admin("alias", "add", "postmaster@example.org", "alice@example.org").code()).isZero();
    }

    @Test
    void listingTheUsersOfAnUnknownDomainFails() {
        Cli.Run r = cli.admin("user", "list", "--domain", "nowhere.example");
        assertThat(r.code()).isEqualTo(Main.BAD_INPUT);
        assertThat(r.err()).contains("unknown domain nowhere.example");
        assertThat(cli.admin("user", "list", "--domain", "example.org").out()).contains("alice@example.org");
    }

    @Test
    void theAuthLogOfAnAddressNobodyHasAndNobodyTriedFails() {
        Cli.Run r = cli.admin("auth-log", "--account", "nobody@example.org");
        assertThat(r.code()).isEqualTo(Main.BAD_INPUT);
        assertThat(r.err()).contains("no account nobody@example.org");
        assertThat(cli.admin("auth-log", "--account", "alice@example.org").code()).as("an account without attempts").isZero();
    }

    @Test
    void kickingAnUnknownSessionFailsAndTheAuthLogGivesTheReasonOfAFailure() throws Exception {
        try (LiveServer live = LiveServer.start(tmp.resolve("live"))) {
            Cli.Run kick = live.cli.admin("sessions", "kick", "zz9");
            assertThat(kick.code()).isEqualTo(Main.BAD_INPUT);
            assertThat(kick.err()).contains("no live session with id zz9");

            try (var wrong = new LiveServer.Pop3(live.clientContext(null), live.address("optional")).greeted()) {
                assertThat(wrong.command("USER " + LiveServer.ACCOUNT)).startsWith("+OK");
                assertThat(wrong.command("PASS not the password at all")).startsWith("-ERR");
            }
            try (var unknown = new LiveServer.Pop3(live.clientContext(null), live.address("optional")).greeted()) {
                assertThat(unknown.command("USER mallory@example.org")).startsWith("+OK");
                assertThat(unknown.command("PASS " + Cli.Pop3Password.VALUE)).startsWith("-ERR");
            }
            await().atMost(Duration.ofSeconds(20)).untilAsserted(() ->
                    assertThat(live.cli.admin("auth-log").out().strip().split("\n")).hasSize(3));
            String[] lines = live.cli.admin("auth-log").out().strip().split("\n");
            assertThat(lines[0]).contains("RESULT", "REASON");
            assertThat(lines[1]).contains("mallory@example.org", "INVALID_CREDENTIALS", "unknown-user");
            assertThat(lines[2]).contains(LiveServer.ACCOUNT, "INVALID_CREDENTIALS", "wrong-password");

            // Attempts naming an address without an account are still shown: that is what guessing looks like.
            Cli.Run guessed = live.cli.admin("auth-log", "--account", "mallory@example.org");
            assertThat(guessed.code()).as(guessed.err()).isZero();
            assertThat(guessed.out()).contains("unknown-user");
        }
    }
}
