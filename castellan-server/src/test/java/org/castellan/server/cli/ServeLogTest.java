package org.castellan.server.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code [log]} as castellan serve puts it into effect, in a process of its own: the JSON format
 * on standard error and in the file, the text format in the file, and rotation at max-size
 * keeping {@code keep} files.
 */
class ServeLogTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    /** TIME LEVEL Class: message, as LogEncoder writes text. */
    private static final String TEXT_LINE = "^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}(Z|[+-]\\d\\d:\\d\\d)"
            + " (TRACE|DEBUG|INFO |WARN |ERROR) \\w+: .*";
    private static final int MAX_SIZE = 1024;

    @TempDir Path tmp;

    private Path data(String... logKeys) throws IOException {
        Path data = tmp.resolve("data");
        Cli.init(data, "alice@example.org");
        ServeProcess.oneLocalListener(data, logKeys);
        return data;
    }

    @Test
    void jsonGoesToStandardErrorAndTheFileOneObjectPerLine() throws Exception {
        Path data = data("format = \"json\"", "file = \"log/castellan.log\"");
        try (ServeProcess server = ServeProcess.start(data, tmp.resolve("stderr.log"))) {
            pop3Greeting(server.port());
            server.awaitStderr("session end");
            assertThat(server.stop()).as(server.stderr()).isZero();
            for (String output : List.of(server.stderr(), Files.readString(data.resolve("log/castellan.log")))) {
                List<JsonNode> objects = new ArrayList<>();
                for (String line : output.lines().toList()) objects.add(JSON.readTree(line));
                assertThat(objects).allSatisfy(o -> assertThat(o.fieldNames()).toIterable()
                        .contains("time", "level", "logger", "thread", "message"));
                assertThat(objects).anySatisfy(o -> {
                    assertThat(o.get("message").asText()).contains("pop3 session start: listener local from 127.0.0.1");
                    assertThat(o.get("connection").asText()).matches("[0-9a-z]+");
                    assertThat(o.get("logger").asText()).isEqualTo("org.castellan.server.transport.ConnectionGate");
                });
                assertThat(objects).last().satisfies(o -> assertThat(o.get("message").asText()).isEqualTo("stopped"));
            }
        }
    }

    @Test
    void theTextFileRotatesAtMaxSizeAndKeepsKeepFiles() throws Exception {
        Path data = data("file = \"castellan.log\"", "max-size = \"1KB\"", "keep = 2");
        Path log = data.resolve("castellan.log");
        try (ServeProcess server = ServeProcess.start(data, tmp.resolve("stderr.log"))) {
            int port = server.port();
            // Each connection logs two lines; enough of them fill the file three times over. While the
            // server rotates, the file is renamed before its successor exists: a look then is not an answer.
            await().atMost(ServeProcess.LIMIT).ignoreException(NoSuchFileException.class).until(() -> {
                pop3Greeting(port);
                return Files.exists(rolled(log, 2)) && Files.size(log) >= MAX_SIZE;
            });
            pop3Greeting(port);
            assertThat(server.stop()).as(server.stderr()).isZero();
        }
        assertThat(rolled(log, 3)).as("keep = 2").doesNotExist();
        for (Path file : List.of(rolled(log, 1), rolled(log, 2))) {
            List<String> lines = Files.readAllLines(file);
            int longest = lines.stream().mapToInt(l -> l.getBytes(StandardCharsets.UTF_8).length + 1).max().orElseThrow();
            assertThat(Files.size(file)).as(file.toString()).isBetween((long) MAX_SIZE, (long) MAX_SIZE + longest - 1);
            assertThat(lines).allMatch(l -> l.matches(TEXT_LINE), "text lines");
        }
        assertThat(Files.readAllLines(log)).allMatch(l -> l.matches(TEXT_LINE), "text lines").last().asString()
                .endsWith("Castellan: stopped");
    }

    @Test
    void dailyRotationNamesTheRolledFilesByDate() throws Exception {
        Path data = data("file = \"castellan.log\"", "rotate = \"daily\"", "max-size = \"1KB\"");
        Path log = data.resolve("castellan.log");
        Path first = log.resolveSibling("castellan.log." + LocalDate.now() + ".0");
        try (ServeProcess server = ServeProcess.start(data, tmp.resolve("stderr.log"))) {
            int port = server.port();
            await().atMost(ServeProcess.LIMIT).until(() -> {
                pop3Greeting(port);
                return Files.exists(first);
            });
            assertThat(server.stop()).as(server.stderr()).isZero();
        }
        assertThat(Files.size(first)).isGreaterThanOrEqualTo(MAX_SIZE);
        assertThat(Files.readAllLines(first)).allMatch(l -> l.matches(TEXT_LINE), "text lines");
    }

    private static Path rolled(Path log, int n) {
        return log.resolveSibling(log.getFileName() + "." + n);
    }

    /** Connects to the POP3 listener, reads the greeting and says QUIT: a session start and end in the log. */
    private static void pop3Greeting(int port) throws IOException {
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
            s.setSoTimeout(LiveServer.READ_TIMEOUT_MILLIS);
            var in = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.US_ASCII));
            assertThat(in.readLine()).startsWith("+OK");
            OutputStream out = s.getOutputStream();
            out.write("QUIT\r\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            assertThat(in.readLine()).startsWith("+OK");
        }
    }
}
