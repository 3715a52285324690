package org.castellan.server.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import javax.net.ssl.SSLContext;
import org.castellan.server.admin.AdminClient;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code castellan sessions} and {@code sessions kick} against a running server, over the admin socket. */
class SessionsCommandTest {

    private static final ObjectMapper JSON = new ObjectMapper();

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

    /**
     * The admin socket itself, below the command line's own checks (which refuse most of these
     * before they are sent): each malformed request gets {@code "ok": false} and the reason, in
     * one line, and the socket goes on answering; a queue request naming a message that is not
     * there is answered, not refused.
     */
    @Test
    void theAdminSocketRefusesEachMalformedRequestWithItsReason() throws Exception {
        live = LiveServer.start(tmp.resolve("data"));
        Path socket = live.server.config().server().adminSocket();
        Map<String, String> refusals = new LinkedHashMap<>();
        refusals.put("sessions please", "the request is not one JSON object on one line");
        refusals.put("[\"sessions\"]", "the request is not one JSON object of at most 4096 bytes");
        refusals.put("{\"command\": \"sessions\", \"pad\": \"" + "x".repeat(4096) + "\"}", "of at most 4096 bytes");
        refusals.put("{\"command\": \"kick\"}", "kick needs an id, an account or a serial");
        refusals.put("{\"command\": \"kick\", \"serial\": \"zz\"}", "'zz' is not a serial number in hex");
        refusals.put("{\"command\": \"kick\", \"id\": \"c1\", \"goodbye\": \"bye now\"}", "the only goodbye is 'moved'");
        refusals.put("{\"command\": \"clear-blocks\", \"address\": \"example.org\"}",
                "'example.org' is not an IPv4 or IPv6 address");
        refusals.put("{\"command\": \"clear-blocks\", \"address\": \"192.0.2.256\"}",
                "'192.0.2.256' is not an IPv4 or IPv6 address");
        refusals.put("{\"command\": \"queue-show\"}", "queue-show needs the message's \"id\", a positive number");
        refusals.put("{\"command\": \"queue-hold\", \"id\": 0}", "queue-hold needs the message's \"id\"");
        refusals.put("{\"command\": \"queue-retry\", \"id\": 1.5}", "queue-retry needs the message's \"id\"");
        refusals.put("{\"command\": \"queue-delete\", \"id\": \"7\"}", "queue-delete needs the message's \"id\"");
        refusals.put("{\"command\": \"queue-list\", \"limit\": 0}", "queue-list's \"limit\" must be a number from 1 to");
        refusals.put("{\"command\": \"queue-list\", \"limit\": 2.5}", "queue-list's \"limit\" must be a number from 1 to");
        refusals.put("{\"command\": \"queue-list\", \"limit\": 100000000}", "queue-list's \"limit\" must be a number from 1 to");
        refusals.put("{\"command\": \"queue-purge\"}", "unknown command 'queue-purge'");
        for (Map.Entry<String, String> r : refusals.entrySet()) {
            JsonNode answer = JSON.readTree(adminLine(socket, r.getKey()));
            assertThat(answer.path("ok").asBoolean(true)).as(r.getKey()).isFalse();
            assertThat(answer.path("error").asText()).as(r.getKey()).contains(r.getValue());
        }
        // Well-formed requests on the same socket: nothing to kick, no block to lift, no such message.
        assertThat(JSON.readTree(adminLine(socket, "{\"command\": \"kick\", \"serial\": \"ABC123\"}")))
                .isEqualTo(JSON.readTree("{\"ok\": true, \"closed\": 0}"));
        assertThat(JSON.readTree(adminLine(socket, "{\"command\": \"clear-blocks\", \"address\": \"2001:db8::1\"}")))
                .isEqualTo(JSON.readTree("{\"ok\": true, \"lifted\": 0}"));
        assertThat(JSON.readTree(adminLine(socket, "{\"command\": \"queue-show\", \"id\": 4711}")))
                .isEqualTo(JSON.readTree("{\"ok\": true, \"found\": false, \"id\": 4711}"));
    }

    /** One line to the admin socket and the one line it answers, as any client of the socket sends them. */
    private static String adminLine(Path socket, String line) throws Exception {
        try (SocketChannel channel = SocketChannel.open(UnixDomainSocketAddress.of(socket))) {
            channel.write(ByteBuffer.wrap((line + "\n").getBytes(StandardCharsets.UTF_8)));
            channel.shutdownOutput();
            String answer = new String(Channels.newInputStream(channel).readAllBytes(), StandardCharsets.UTF_8);
            assertThat(answer).as(line).endsWith("\n").doesNotContain("Exception");
            assertThat(answer.strip()).as(line).doesNotContain("\n");
            return answer;
        }
    }
}
