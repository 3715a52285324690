package org.castellan.server.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code castellan serve} in a JVM of its own, on the test's class path, as an operator runs it:
 * its standard error goes to a file, SIGTERM stops it and the exit code is what a supervisor sees.
 * For what only a whole process shows: signals, and Logback as the server configures it.
 */
final class ServeProcess implements AutoCloseable {

    /** A safety net for a slow machine, never a timing assertion. */
    static final Duration LIMIT = Duration.ofSeconds(120);
    private static final Pattern LISTENING = Pattern.compile("listening: (\\S+) \\(.*\\) on 127\\.0\\.0\\.1:(\\d+)");

    private final Process process;
    private final Path stderr;

    private ServeProcess(Process process, Path stderr) {
        this.process = process;
        this.stderr = stderr;
    }

    /** Starts serving {@code data}; standard error is written to {@code stderr}. */
    static ServeProcess start(Path data, Path stderr) throws IOException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        // The product's logback.xml, not the logback-test.xml that test jars on the class path bring.
        Process p = new ProcessBuilder(List.of(java, "--enable-native-access=ALL-UNNAMED",
                "-Dlogback.configurationFile=logback.xml", "-cp",
                System.getProperty("java.class.path"), Main.class.getName(), "serve", "--data", data.toString()))
                .redirectError(stderr.toFile()).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        return new ServeProcess(p, stderr);
    }

    /**
     * Replaces the listeners of the data directory {@code castellan init} made with one POP3
     * listener on 127.0.0.1 at a free port, and writes {@code logKeys} (TOML lines) into its [log] table.
     */
    static void oneLocalListener(Path data, String... logKeys) throws IOException {
        Path config = data.resolve("castellan.toml");
        String text = Files.readString(config).replace("\n[log]\n", "\n[log]\n" + String.join("\n", logKeys) + "\n");
        Files.writeString(config, text.substring(0, text.indexOf("\n[[listener]]") + 1)
                + String.join("\n", "[[listener]]", "name = \"local\"", "protocol = \"pop3\"",
                        "address = \"127.0.0.1\"", "port = 0", "tls = \"starttls\"", ""));
    }

    /** What the server wrote to standard error so far. */
    String stderr() {
        try {
            return Files.readString(stderr);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Waits until standard error contains {@code text}; fails, showing it, if the process ends first. */
    void awaitStderr(String text) {
        await().atMost(LIMIT).until(() -> stderr().contains(text) || !process.isAlive());
        assertThat(stderr()).as("the server ended (exit %s) before writing %s", exitIfEnded(), text).contains(text);
    }

    /** The port of the listener {@code oneLocalListener} configured, once it listens. */
    int port() {
        awaitStderr("listening: local");
        Matcher m = LISTENING.matcher(stderr());
        assertThat(m.find()).as(stderr()).isTrue();
        return Integer.parseInt(m.group(2));
    }

    /** SIGTERM, as systemctl stop sends; the exit code. */
    int stop() throws InterruptedException {
        process.destroy();
        assertThat(process.waitFor(LIMIT.toSeconds(), TimeUnit.SECONDS)).as("stopped after SIGTERM").isTrue();
        return process.exitValue();
    }

    private String exitIfEnded() {
        return process.isAlive() ? "none yet" : Integer.toString(process.exitValue());
    }

    @Override
    public void close() {
        if (process.isAlive()) process.destroyForcibly();
    }
}
