package org.castellan.server.logging;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.LoggingEvent;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.time.OffsetDateTime;
import org.castellan.server.config.LogFormat;
import org.junit.jupiter.api.Test;

/**
 * Both log formats keep one event on its lines whatever a client sends: what a client chooses
 * (an EHLO name, an address, a reason) cannot start a line that looks like the server's own.
 */
class LogEncoderTest {

    private static final LoggerContext CONTEXT = new LoggerContext();
    /** A client's EHLO argument that tries to add a line of its own, as if the server had logged a login. */
    private static final String FORGED = "client.example\r\n2026-12-06T12:00:00.000Z INFO  AuthService: alice@example.org logged in";
    private static final ObjectMapper JSON = new ObjectMapper();

    private static LoggingEvent event(String logger, String pattern, Throwable thrown, Object... args) {
        return new LoggingEvent(LogEncoderTest.class.getName(), CONTEXT.getLogger(logger), Level.INFO, pattern, thrown, args);
    }

    private static String encode(LogFormat format, LoggingEvent event) {
        return new String(new LogEncoder(format).encode(event), StandardCharsets.UTF_8);
    }

    @Test
    void textKeepsAClientsLineBreaksOnTheEventsLine() {
        String line = encode(LogFormat.TEXT, event("org.castellan.server.smtp.SmtpSession", "{} EHLO {}", null, "k3", FORGED));
        assertThat(line).endsWith("\n").hasLineCount(1);
        assertThat(line).containsPattern("^\\S+ INFO  SmtpSession: k3 EHLO client\\.example\\\\r\\\\n2026-12-06T12:00:00\\.000Z INFO  AuthService");
        assertThat(OffsetDateTime.parse(line.substring(0, line.indexOf(' ')))).isNotNull();
    }

    @Test
    void textEscapesEveryControlCharacterAndBackslashButTab() {
        String line = encode(LogFormat.TEXT, event("a.B", "{}", null, "a\\nb\u001b[31m\u0085c\u2028d\u2029e\u007ff\tg"));
        assertThat(line).isEqualTo(line.substring(0, line.indexOf(' ')) + " INFO  B: a\\\\nb\\u001b[31m\\u0085c\\u2028d\\u2029e\\u007ff\tg\n");
    }

    @Test
    void jsonIsOneObjectPerLineWithTheFieldsAndTheMessageIntact() throws Exception {
        String line = encode(LogFormat.JSON, event("org.castellan.server.smtp.SmtpSession", "{} EHLO {}", null, "k3",
                FORGED + "\u2028\"quoted\" \\ \u0000"));
        assertThat(line).endsWith("}\n").hasLineCount(1).doesNotContain("\r", "\u2028", "\u0000");
        JsonNode object = JSON.readTree(line);
        assertThat(object.get("level").asText()).isEqualTo("INFO");
        assertThat(object.get("logger").asText()).isEqualTo("org.castellan.server.smtp.SmtpSession");
        assertThat(object.get("thread").asText()).isEqualTo(Thread.currentThread().getName());
        assertThat(object.get("connection").asText()).isEqualTo("k3");
        assertThat(object.get("message").asText()).isEqualTo("k3 EHLO " + FORGED + "\u2028\"quoted\" \\ \u0000");
        assertThat(OffsetDateTime.parse(object.get("time").asText())).isNotNull();
        assertThat(object.has("exception")).isFalse();
    }

    @Test
    void onlyLinesAboutAConnectionNameOne() throws Exception {
        assertThat(JSON.readTree(encode(LogFormat.JSON, event("a.B", "listening: {}", null, "k3"))).has("connection")).isFalse();
        assertThat(JSON.readTree(encode(LogFormat.JSON, event("a.B", "{} started", null, "Not An Id"))).has("connection")).isFalse();
        assertThat(JSON.readTree(encode(LogFormat.JSON, event("a.B", "{}{} started", null, "k3", "x"))).has("connection")).isFalse();
        assertThat(JSON.readTree(encode(LogFormat.JSON, event("a.B", "{} closed", null, "3w5e11264sgsf"))).get("connection").asText())
                .isEqualTo("3w5e11264sgsf");
    }

    @Test
    void stackTracesKeepTheirFramesButNotAClientsLineBreaks() throws Exception {
        Exception thrown = new IllegalStateException("bad reply from " + FORGED, new java.io.IOException("reset\nby peer"));
        String text = encode(LogFormat.TEXT, event("a.B", "{} store failed", thrown, "k3"));
        String[] lines = text.split("\n");
        assertThat(lines[0]).endsWith("B: k3 store failed");
        assertThat(lines[1]).startsWith("\tjava.lang.IllegalStateException: bad reply from client.example\\r\\n2026");
        assertThat(text).contains("\n\tCaused by: java.io.IOException: reset\\nby peer\n", "\n\t\tat org.castellan.server.logging.LogEncoderTest");
        for (int i = 1; i < lines.length; i++) assertThat(lines[i]).as("line %d", i).startsWith("\t");

        String json = encode(LogFormat.JSON, event("a.B", "{} store failed", thrown, "k3"));
        assertThat(json).hasLineCount(1);
        String exception = JSON.readTree(json).get("exception").asText();
        assertThat(exception).startsWith("java.lang.IllegalStateException: bad reply from client.example\\r\\n2026")
                .contains("\nCaused by: java.io.IOException: reset\\nby peer\n", "\n\tat org.castellan.server.logging.LogEncoderTest");
    }
}
