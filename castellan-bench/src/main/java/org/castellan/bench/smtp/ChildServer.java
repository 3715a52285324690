package org.castellan.bench.smtp;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Castellan in a JVM of its own ({@link BenchServer}), so that its CPU time and memory can be
 * read apart from the load generator's: the flags of the {@code castellan} launcher plus
 * {@code CASTELLAN_JAVA_OPTS}, the standard error in {@code server.err} beside the configuration,
 * the standard output echoed with a {@code server:} prefix.
 *
 * @param port the submission listener's
 */
record ChildServer(Process process, int port) implements AutoCloseable {

    /** Starts the server on {@code config} and waits for its {@code READY} line. */
    static ChildServer start(Path config, SmtpSubmissionBench.Settings settings) throws IOException {
        Path err = config.resolveSibling("server.err");
        List<String> command = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElseThrow(),
                "--enable-native-access=ALL-UNNAMED")); // the castellan launcher's flags
        String extra = System.getenv("CASTELLAN_JAVA_OPTS");
        if (extra != null && !extra.isBlank()) command.addAll(List.of(extra.strip().split("\\s+")));
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), BenchServer.class.getName(), config.toString()));
        ProcessBuilder server = new ProcessBuilder(settings.serverCommand(command)).redirectError(err.toFile());
        server.environment().putIfAbsent("MALLOC_ARENA_MAX", "2"); // as the castellan launcher sets it
        Process child = server.start();
        try {
            BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8));
            String ready;
            // JVM options may print first (-XX:StartFlightRecording does).
            while ((ready = out.readLine()) != null && !ready.startsWith("READY ")) System.out.println("server: " + ready);
            if (ready == null) throw new IllegalStateException("Castellan did not start: " + Files.readString(err));
            Thread.ofPlatform().daemon().start(() -> out.lines().forEach(l -> System.out.println("server: " + l)));
            return new ChildServer(child, Integer.parseInt(ready.substring(6)));
        } catch (IOException | RuntimeException e) {
            child.destroy();
            throw e;
        }
    }

    long pid() {
        return process.pid();
    }

    /** The JVM's CPU time so far (user + system, every thread). */
    double cpuSeconds() {
        return process.info().totalCpuDuration().orElseThrow().toNanos() / 1e9;
    }

    @Override
    public void close() throws InterruptedException {
        process.destroy();
        process.waitFor();
    }
}
