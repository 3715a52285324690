package org.castellan.server.hostile;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.castellan.server.config.LogFormat;
import org.castellan.server.testing.LogCapture;
import org.castellan.server.testing.TestServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The probe's log injection: a mailbox name sent as a literal holding CR LF and, after it, a line
 * that looks like the server's own ("login OK"). The name reaches the log (the store refuses it
 * and the refusal is logged) and the tagged NO (which repeats the store's reason). docs/design.md
 * §5.9: client text cannot forge lines, in the text and JSON log formats alike (LogEncoder, as
 * logback.xml and [log] configure it); and no reply of IMAP, POP3 or SMTP carries a raw control
 * character (RFC 9051 §9 text, RFC 1939 §3, RFC 5321 §4.2 textstring), so the client's stream
 * cannot be forged either.
 */
class LogInjectionTest {

    /** What a forged line would look like in each format. */
    private static final String FORGED = "2026-01-01T00:00:00.000+00:00 INFO  ImapSession: 1 imap login OK for admin@example.org";
    /** TIME LEVEL Class: message, as LogEncoder writes text. */
    private static final String TEXT_LINE = "^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}(Z|[+-]\\d\\d:\\d\\d)"
            + " (TRACE|DEBUG|INFO |WARN |ERROR) \\w+: .*";
    private static final Duration LIMIT = Duration.ofSeconds(30);

    @TempDir Path dir;
    TestServer server;
    LogCapture text;
    LogCapture json;

    @BeforeEach
    void start() {
        text = new LogCapture(LogFormat.TEXT);
        json = new LogCapture(LogFormat.JSON);
        server = TestServer.start(dir, TestServer.listener("imap", "imap", "none", true),
                TestServer.listener("pop3", "pop3", "none", true), TestServer.listener("mx", "smtp", "none", false));
    }

    @AfterEach
    void stop() {
        server.server().close();
        text.close();
        json.close();
    }

    /** No control character but the CRLF that ends it; what a reply line must look like. */
    private static final String CONTROL = "[\\x00-\\x1f\\x7f-\\x9f\\u2028\\u2029]";

    @Test
    void aMailboxNameWithCrLfForgesNeitherALogLineNorAResponse() throws IOException {
        String name = "x\r\n" + FORGED;
        int octets = name.getBytes(StandardCharsets.UTF_8).length;
        try (RawClient c = RawClient.connect(port("imap"))) {
            assertThat(c.line()).startsWith("* OK ");
            c.send("a1 LOGIN alice@example.org \"correct horse battery\"\r\n");
            assertThat(c.line()).startsWith("a1 OK ");
            // CREATE and RENAME as an IMAP4rev1 client (modified UTF-7 names), CREATE as an IMAP4rev2 one.
            for (String command : List.of("a2 CREATE ", "a3 RENAME INBOX ", "a4 ENABLE IMAP4rev2\r\na5 CREATE ")) {
                c.send(command + "{" + octets + "+}\r\n" + name + "\r\n");
                String tag = command.substring(command.lastIndexOf("\n") + 1, command.lastIndexOf("\n") + 3);
                String reply = c.line();
                while (reply.startsWith("* ") || reply.startsWith("a4 ")) reply = c.line();
                // One line, whatever it says; the next line is the next command's answer, not the forged one.
                assertThat(reply).startsWith(tag + " NO ").doesNotContainPattern(CONTROL);
            }
            c.send("a6 NOOP\r\n");
            assertThat(c.line()).startsWith("a6 OK ");
        }
        await().atMost(LIMIT).until(() -> text.count("imap store refused") >= 1 && json.count("imap store refused") >= 1);

        List<String> textLines = text.text().lines().toList();
        assertThat(textLines).allMatch(l -> l.matches(TEXT_LINE) || l.startsWith("\t"), "a line the server wrote");
        assertThat(textLines).noneMatch(l -> l.startsWith(FORGED));
        assertThat(textLines).anyMatch(l -> l.contains("imap store refused: ") && l.contains("x\\r\\n" + FORGED));

        ObjectMapper mapper = new ObjectMapper();
        List<JsonNode> objects = new ArrayList<>();
        for (String line : json.text().lines().toList()) objects.add(mapper.readTree(line));
        assertThat(objects).anySatisfy(o -> assertThat(o.get("message").asText()).contains("imap store refused: ")
                .contains("x\r\n" + FORGED));
    }

    /** POP3 and SMTP refuse what they cannot parse; no reply line of theirs carries a control either. */
    @Test
    void pop3AndSmtpRepliesCarryNoControlCharacters() {
        try (RawClient c = RawClient.connect(port("pop3"))) {
            assertThat(c.line()).startsWith("+OK ");
            for (String command : List.of("USER a\rb\u001b[2J\u0000c", "XYZZY \u0007\rq", "APOP x\u0085y z")) {
                c.send(command + "\r\n");
                assertThat(c.line()).as(command).matches("[+-].*").doesNotContainPattern(CONTROL);
            }
        }
        try (RawClient c = RawClient.connect(port("mx"))) {
            assertThat(c.line()).startsWith("220 ");
            for (String command : List.of("EHLO a\rb", "HELO x\u001b[1m", "MAIL FROM:<a\u0000@b.example>",
                    "RCPT TO:<x\u0085y@example.org>", "VRFY \u2028forged")) {
                c.send(command + "\r\n");
                assertThat(c.smtpReply()).as(command).matches("\\d{3} .*").doesNotContainPattern(CONTROL);
            }
        }
    }

    private int port(String listener) {
        return server.server().addresses().get(listener).getPort();
    }
}
