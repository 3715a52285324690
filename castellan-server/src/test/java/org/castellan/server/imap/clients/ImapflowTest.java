package org.castellan.server.imap.clients;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.castellan.server.testing.ExternalClient;
import org.castellan.server.testing.TestServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * imapflow, the IMAP client library of Node's mail ecosystem (EmailEngine, Nodemailer), over
 * implicit TLS trusting only the test CA: login, LIST, SELECT, FETCH of envelope, body structure
 * and source, STORE, APPEND, SEARCH, and IDLE hearing another session's APPEND. The script
 * (imapflow-session.cjs) prints what each call returned as JSON; this test checks it.
 */
class ImapflowTest {

    /** Pinned: ./test installs exactly this version from the npm registry. */
    static final String IMAPFLOW_VERSION = "2.10.2";
    /** Where ./test installs it; {@code -Dcastellan.imapflow=DIR} points elsewhere. */
    static final Path DEFAULT_PREFIX = Path.of(System.getProperty("user.home"), ".cache", "castellan-tests",
            "imapflow-" + IMAPFLOW_VERSION);

    private static final String FIRST = "Date: Thu, 1 Feb 2024 09:00:00 +0100\r\nFrom: Carol <carol@example.net>\r\n"
            + "To: alice@example.org\r\nSubject: one\r\nMessage-ID: <1@example.net>\r\n\r\nHello there\r\n";
    private static final String SECOND = "From: dave@example.net\r\nTo: alice@example.org\r\nSubject: two\r\n"
            + "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n"
            + "--b1\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\npart one\r\n"
            + "--b1\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\nAAEC\r\n--b1--\r\n";

    private static Path modules;

    @TempDir Path dir;
    private TestServer server;
    private long firstUid;
    private long secondUid;

    @BeforeAll
    static void imapflow() throws Exception {
        ExternalClient.require("node", "nodejs");
        Path prefix = Path.of(System.getProperty("castellan.imapflow", DEFAULT_PREFIX.toString()));
        modules = prefix.resolve("node_modules");
        Path packageJson = modules.resolve("imapflow").resolve("package.json");
        String install = "install it with: npm install --prefix " + prefix + " --no-save imapflow@" + IMAPFLOW_VERSION
                + " (./test does this)";
        if (!Files.isRegularFile(packageJson)) fail("imapflow is not installed in " + prefix + "; " + install);
        String version = new ObjectMapper().readTree(packageJson.toFile()).path("version").asText();
        if (!version.equals(IMAPFLOW_VERSION)) fail("imapflow " + version + " in " + prefix + ", expected " + IMAPFLOW_VERSION + "; " + install);
    }

    @BeforeEach
    void start() {
        server = TestServer.start(dir, TestServer.listener("imaps", "imap", "implicit", false));
        long[] uids = TestServer.seed(server.server().store(), server.inbox(), List.of(FIRST, SECOND),
                m -> append(m, m.equals(FIRST) ? Set.of("\\Seen") : Set.of()));
        firstUid = uids[0];
        secondUid = uids[1];
    }

    @AfterEach
    void stop() {
        server.server().close();
    }

    @Test
    void aWholeSessionWithIdle() throws Exception {
        long next = server.server().store().status(server.inbox()).uidNext();
        Path script = Path.of(ImapflowTest.class.getResource("imapflow-session.cjs").toURI());
        int port = server.server().addresses().get("imaps").getPort();
        var result = ExternalClient.run(List.of("node", script.toString(), Integer.toString(port),
                server.pki().trustFile().toString(), TestServer.USER, TestServer.PASSWORD), Map.of("NODE_PATH", modules.toString()));
        JsonNode out = lastJsonLine(result.output());
        assertThat(result.exitCode()).as("node failed:\n%s", result.output()).isZero();

        assertThat(out.path("authenticated").asBoolean()).isTrue();
        assertThat(out.path("tls").asBoolean()).isTrue();

        List<String> paths = new ArrayList<>();
        out.path("list").forEach(m -> paths.add(m.path("path").asText()));
        assertThat(paths).contains("INBOX", "Drafts", "Sent", "Trash", "Junk", "Archive");
        out.path("list").forEach(m -> assertThat(m.path("delimiter").asText()).isEqualTo("/"));
        assertThat(specialUse(out, "Sent")).isEqualTo("\\Sent");
        assertThat(specialUse(out, "INBOX")).isEqualTo("\\Inbox");

        assertThat(out.path("open").path("exists").asInt()).isEqualTo(2);
        assertThat(out.path("open").path("readOnly").asBoolean()).isFalse();

        JsonNode one = out.path("fetch").get(0);
        assertThat(one.path("uid").asLong()).isEqualTo(firstUid);
        assertThat(one.path("subject").asText()).isEqualTo("one");
        assertThat(one.path("from").get(0).asText()).isEqualTo("carol@example.net");
        assertThat(one.path("messageId").asText()).isEqualTo("<1@example.net>");
        assertThat(one.path("flags").toString()).isEqualTo("[\"\\\\Seen\"]");
        assertThat(one.path("type").asText()).isEqualTo("text/plain");
        assertThat(one.path("sourceBytes").asInt()).isEqualTo(FIRST.getBytes(StandardCharsets.UTF_8).length);
        assertThat(one.path("firstLine").asText()).isEqualTo("Date: Thu, 1 Feb 2024 09:00:00 +0100");
        JsonNode two = out.path("fetch").get(1);
        assertThat(two.path("uid").asLong()).isEqualTo(secondUid);
        assertThat(two.path("type").asText()).isEqualTo("multipart/mixed");
        assertThat(two.path("parts").toString()).isEqualTo("[\"text/plain\",\"application/octet-stream\"]");
        assertThat(two.path("sourceBytes").asInt()).isEqualTo(SECOND.getBytes(StandardCharsets.UTF_8).length);

        assertThat(out.path("flagsAdd").asBoolean()).isTrue();
        assertThat(out.path("flagsAfter").toString()).isEqualTo("[\"\\\\Flagged\",\"\\\\Seen\"]");

        long appended = out.path("append").path("uid").asLong();
        assertThat(appended).isEqualTo(next);
        assertThat(out.path("append").path("uidValidity").asText()).isEqualTo(out.path("open").path("uidValidity").asText());
        assertThat(out.path("search").toString()).isEqualTo("[3]");
        assertThat(out.path("searchFlagged").toString()).isEqualTo("[" + firstUid + "]");

        // The other session's APPEND made the fourth message, and the idling session heard it.
        assertThat(out.path("idleExists").path("path").asText()).isEqualTo("INBOX");
        assertThat(out.path("idleExists").path("prevCount").asInt()).isEqualTo(3);
        assertThat(out.path("idleExists").path("count").asInt()).isEqualTo(4);
        assertThat(out.path("loggedOut").asBoolean()).isTrue();

        var stored = server.server().store().listMessages(server.inbox(), org.castellan.store.UidRange.all());
        assertThat(stored).hasSize(4);
        assertThat(stored.get(2).flags()).containsExactly("\\Seen");
    }

    private static String specialUse(JsonNode out, String path) {
        for (JsonNode m : out.path("list")) if (m.path("path").asText().equals(path)) return m.path("specialUse").asText();
        throw new AssertionError("no mailbox " + path + " in " + out.path("list"));
    }

    private static JsonNode lastJsonLine(String output) throws Exception {
        String[] lines = output.strip().split("\n");
        String last = lines[lines.length - 1];
        if (!last.startsWith("{")) fail("no JSON from the imapflow script:\n" + output);
        JsonNode node = new ObjectMapper().readTree(last);
        if (node.has("error")) fail("the imapflow script failed: " + node.path("error").asText() + "\nafter: " + node.path("partial"));
        return node;
    }

    private long append(String message, Set<String> flags) {
        return server.server().store().append(server.inbox(), message.getBytes(StandardCharsets.UTF_8), flags,
                Instant.parse("2024-02-01T10:00:00Z")).uid();
    }
}
