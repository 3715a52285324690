package org.castellan.server.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import javax.net.ssl.SSLContext;
import org.castellan.server.admin.AdminClient;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code castellan sessions} and {@code sessions kick} against a running server, over the admin socket. */
class SessionsCommandTest {

    @TempDir Path tmp;
    LiveServer live;

    @AfterEach
    void stop() {
        if (live != null) live.close();
    }

    @Test
    void withoutARunningServerItSaysSoInOneLine() {
        Cli cli = Cli.init(tmp.resolve("data"), LiveServer.ACCOUNT);
        Cli.Run r = cli.admin("sessions");
        assertThat(r.code()).isEqualTo(Main.FAILURE);
        assertThat(r.err().strip()).contains("no Castellan server is running").doesNotContain("\n", "Exception");
    }

    @Test
    void listsLiveSessionsAndKicksThemBySerialIdAndAccount() throws Exception {
        live = LiveServer.start(tmp.resolve("data"));
        Path socket = live.cli.data.resolve("admin.sock");
        assertThat(Files.getPosixFilePermissions(socket)).isEqualTo(PosixFilePermissions.fromString("rw-------"));

        LiveServer.Issued laptop = live.issueDevice("laptop");
        SSLContext device = live.clientContext(laptop.p12());
        try (var authenticated = new LiveServer.Pop3(device, live.address("device")).login();
             var anonymous = new LiveServer.Pop3(live.clientContext(null), live.address("optional")).greeted()) {
            await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(live.cli.admin("sessions").out())
                    .contains(LiveServer.ACCOUNT));
            Cli.Run list = live.cli.admin("sessions");
            assertThat(list.code()).as(list.err()).isZero();
            String[] lines = list.out().split("\n");
            assertThat(lines).hasSize(3);
            String deviceLine = lines[1].contains("laptop") ? lines[1] : lines[2];
            String anonymousLine = lines[1].contains("laptop") ? lines[2] : lines[1];
            assertThat(deviceLine).contains("device", "127.0.0.1:", "TLSv1.", "CN=laptop", laptop.serial(),
                    LiveServer.ACCOUNT);
            assertThat(anonymousLine).contains("optional", "TLSv1.").doesNotContain(LiveServer.ACCOUNT, "CN=");

            Cli.Run kick = live.cli.admin("sessions", "kick", "--serial", laptop.serial());
            assertThat(kick.code()).as(kick.err()).isZero();
            assertThat(kick.out()).contains("closed 1 session(s)");
            assertThat(authenticated.closedByServer()).isTrue();

            String id = anonymousLine.split("\\s+")[0];
            assertThat(live.cli.admin("sessions", "kick", id).out()).contains("closed 1 session(s)");
            assertThat(anonymous.closedByServer()).isTrue();
        }

        try (var again = new LiveServer.Pop3(device, live.address("device")).login()) {
            Cli.Run kick = live.cli.admin("sessions", "kick", "--account", LiveServer.ACCOUNT.toUpperCase());
            assertThat(kick.out()).as(kick.err()).contains("closed 1 session(s)");
            assertThat(again.closedByServer()).isTrue();
        }
    }

    @Test
    void removingAUserClosesItsLiveSessions() throws Exception {
        live = LiveServer.start(tmp.resolve("data"));
        LiveServer.Issued laptop = live.issueDevice("laptop");
        try (var session = new LiveServer.Pop3(live.clientContext(laptop.p12()), live.address("device")).login()) {
            await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(live.cli.admin("sessions").out())
                    .contains(LiveServer.ACCOUNT));
            Cli.Run removed = live.cli.admin("user", "remove", LiveServer.ACCOUNT);
            assertThat(removed.code()).as(removed.err()).isZero();
            assertThat(removed.out()).contains("removed", "closed 1 live session(s) of " + LiveServer.ACCOUNT);
            assertThat(session.closedByServer()).isTrue();
        }
    }

    @Test
    void badRequestsAreRefusedWithOneLine() throws Exception {
        live = LiveServer.start(tmp.resolve("data"));
        for (String[] args : new String[][] {{"sessions", "kick", "--serial", "zz"}, {"sessions", "kick", "no-such!"},
                {"sessions", "kick", "--account", "not-an-address"}, {"sessions", "kick"}}) {
            Cli.Run r = live.cli.admin(args);
            assertThat(r.code()).as(String.join(" ", args) + " -> " + r.err()).isEqualTo(Main.BAD_INPUT);
            assertThat(r.err()).doesNotContain("Exception");
        }
        AdminClient client = new AdminClient(live.server.config().server().adminSocket());
        assertThatThrownBy(() -> client.request(JsonNodeFactory.instance.objectNode().put("command", "shutdown")))
                .isInstanceOf(AdminClient.AdminException.class)
                .hasMessageContaining("unknown command");
    }
}
