package org.castellan.bench.imap;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import org.castellan.protocol.mail.EmailAddress;
import org.castellan.security.auth.ScramSecret;
import org.castellan.store.embedded.EmbeddedMailStore;
import org.castellan.testkit.TestPki;

/**
 * Castellan for the IMAP benchmarks: a data directory with the benchmark's accounts, one
 * implicit-TLS IMAP listener on 127.0.0.1, served by {@link ImapBenchServer} in a child JVM with
 * default settings (plus {@code jvmOptions}, and the options in the environment variable
 * {@value #SERVER_JVM_OPTIONS}).
 */
final class CastellanImap implements ServerUnderTest {

    /** RFC 7677 §4's minimum; the accounts are created once per run, before the clock starts. */
    private static final int SCRAM_ITERATIONS = 4096;

    /** Environment variable: more options for the server's JVM, separated by spaces. */
    static final String SERVER_JVM_OPTIONS = "CASTELLAN_BENCH_SERVER_JVM";

    private final Process child;
    private final int port;

    private CastellanImap(Process child, int port) {
        this.child = child;
        this.port = port;
    }

    static CastellanImap start(Path dir, TestPki pki, List<String> users, String password, List<String> jvmOptions)
            throws IOException {
        Path mail = Files.createDirectories(dir.resolve("mail"));
        try (EmbeddedMailStore store = EmbeddedMailStore.open(mail)) {
            store.createDomain(users.get(0).substring(users.get(0).indexOf('@') + 1));
            String secret = ScramSecret.derive(password.toCharArray(), SCRAM_ITERATIONS).encode();
            for (String u : users) store.createAccount(EmailAddress.of(u), secret, OptionalLong.empty());
        }
        Path config = dir.resolve("castellan.toml");
        Files.writeString(config, String.join("\n",
                "[server]", "hostname = \"localhost\"", "data-dir = \".\"",
                "[tls]", "certificate = \"" + pki.server().chainFile() + "\"", "key = \"" + pki.server().keyFile() + "\"",
                "[[listener]]", "name = \"imaps\"", "protocol = \"imap\"", "address = \"127.0.0.1\"",
                "port = 0", "tls = \"implicit\"", ""));
        List<String> command = new ArrayList<>();
        command.add(ProcessHandle.current().info().command().orElseThrow());
        command.add("--enable-native-access=ALL-UNNAMED");
        command.addAll(jvmOptions);
        // For profiling the server without editing the benchmark, e.g. -XX:StartFlightRecording=...
        String extra = System.getenv(SERVER_JVM_OPTIONS);
        if (extra != null && !extra.isBlank()) command.addAll(List.of(extra.strip().split("\\s+")));
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), ImapBenchServer.class.getName(), config.toString()));
        Path err = dir.resolve("server.log");
        ProcessBuilder server = new ProcessBuilder(command).redirectError(err.toFile());
        server.environment().putIfAbsent("MALLOC_ARENA_MAX", "2"); // as the castellan launcher sets it
        Process child = server.start();
        BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8));
        String ready = out.readLine();
        // JVM options such as -XX:StartFlightRecording print their own lines first.
        while (ready != null && !ready.startsWith("READY ")) ready = out.readLine();
        if (ready == null || !ready.startsWith("READY ")) {
            child.destroyForcibly();
            throw new IllegalStateException("Castellan did not start; see " + err + ": " + Files.readString(err));
        }
        return new CastellanImap(child, Integer.parseInt(ready.substring(6).strip()));
    }

    @Override
    public String name() { return "castellan"; }

    @Override
    public int port() { return port; }

    @Override
    public long pid() { return child.pid(); }

    /** One JVM: its resident set, as /proc/PID/status reports it. */
    @Override
    public long memoryKb() throws IOException {
        return ServerUnderTest.rssKb(child.pid());
    }

    @Override
    public void close() {
        child.destroy();
        try {
            child.waitFor();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
