package org.castellan.server.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code castellan auth-log}: what a running server recorded, read from the store with or without the server. */
class AuthLogCommandTest {

    @TempDir Path tmp;

    @Test
    void showsAttemptsNewestFirstPerAccountAndAfterTheServerStopped() throws Exception {
        Path data = tmp.resolve("data");
        try (LiveServer live = LiveServer.start(data)) {
            try (var ok = new LiveServer.Pop3(live.clientContext(null), live.address("optional")).login()) {
                assertThat(ok.command("QUIT")).startsWith("+OK");
            }
            try (var wrong = new LiveServer.Pop3(live.clientContext(null), live.address("optional")).greeted()) {
                assertThat(wrong.command("USER bob@example.org")).startsWith("+OK");
                assertThat(wrong.command("PASS " + Cli.Pop3Password.VALUE)).startsWith("-ERR");
            }
            await().atMost(Duration.ofSeconds(20)).untilAsserted(() ->
                    assertThat(live.cli.admin("auth-log").out().strip().split("\n")).hasSize(3));
        }

        Cli cli = Cli.init(tmp.resolve("other"), LiveServer.ACCOUNT); // only for its runner; read the first directory
        Cli.Run all = Cli.raw(null, "auth-log", "--data", data.toString());
        assertThat(all.code()).as(all.err()).isZero();
        String[] lines = all.out().strip().split("\n");
        assertThat(lines).hasSize(3);
        assertThat(lines[0]).contains("TIME", "REMOTE", "RESULT", "TLS", "CERTIFICATE");
        assertThat(lines[1]).contains("127.0.0.1", "optional", "pop3", "USER", "bob@example.org", "INVALID_CREDENTIALS", "TLSv1.");
        assertThat(lines[2]).contains(LiveServer.ACCOUNT, " OK ");
        assertThat(all.out()).doesNotContain(Cli.Pop3Password.VALUE);

        Cli.Run alice = Cli.raw(null, "auth-log", "--account", "ALICE@example.org", "--limit", "5", "--data", data.toString());
        assertThat(alice.out().strip().split("\n")).hasSize(2);
        assertThat(alice.out()).doesNotContain("bob@example.org");
        assertThat(cli.admin("auth-log").out().strip().split("\n")).as("a fresh directory has an empty log").hasSize(1);

        Cli.Run bad = Cli.raw(null, "auth-log", "--limit", "0", "--data", data.toString());
        assertThat(bad.code()).isEqualTo(Main.BAD_INPUT);
        assertThat(bad.err()).contains("--limit must be between 1 and");
    }
}
