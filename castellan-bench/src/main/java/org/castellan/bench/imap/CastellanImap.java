package org.castellan.bench.imap;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import org.castellan.protocol.mail.EmailAddress;
import org.castellan.security.auth.ScramSecret;
import org.castellan.store.embedded.EmbeddedMailStore;
import org.castellan.testkit.TestPki;

/**
 * Castellan for the IMAP benchmarks: a data directory with the benchmark's accounts, one
 * implicit-TLS IMAP listener on 127.0.0.1, served by {@link ImapBenchServer} in a child JVM with
 * default settings (plus {@code jvmOptions}, and the options in the environment variable
 * {@value #SERVER_JVM_OPTIONS}), and any further listeners a benchmark asks for.
 */
public final class CastellanImap implements ServerUnderTest {

    /** RFC 7677 §4's minimum; the accounts are created once per run, before the clock starts. */
    private static final int SCRAM_ITERATIONS = 4096;

    /** Environment variable: more options for the server's JVM, separated by spaces. */
    static final String SERVER_JVM_OPTIONS = "CASTELLAN_BENCH_SERVER_JVM";

    private final Process child;
    private final int port;
    private final Map<String, Integer> ports;

    private CastellanImap(Process child, int port, Map<String, Integer> ports) {
        this.child = child;
        this.port = port;
        this.ports = ports;
    }

    static CastellanImap start(Path dir, TestPki pki, List<String> users, String password, List<String> jvmOptions)
            throws IOException {
        return start(dir, pki, users, password, jvmOptions, List.of());
    }

    /**
     * The same with more configuration after the {@code imaps} listener: {@code extraConfig} is
     * lines of castellan.toml, typically {@code [[listener]]} tables with {@code port = 0}, whose
     * ports {@link #port(String)} then tells.
     */
    public static CastellanImap start(Path dir, TestPki pki, List<String> users, String password, List<String> jvmOptions,
                                      List<String> extraConfig) throws IOException {
        return start(dir, pki, users, password, jvmOptions, List.of(), List.of(), extraConfig);
    }

    /**
     * The same with {@code serverConfig} lines in the {@code [server]} table (such as
     * {@code max-connections}) and {@code imapsConfig} lines in the {@code imaps} listener's (such
     * as {@code max-connections-per-address}), for a benchmark that needs more than the defaults
     * allow and says so in its output.
     */
    public static CastellanImap start(Path dir, TestPki pki, List<String> users, String password, List<String> jvmOptions,
                                      List<String> serverConfig, List<String> imapsConfig, List<String> extraConfig)
            throws IOException {
        Path mail = Files.createDirectories(dir.resolve("mail"));
        try (EmbeddedMailStore store = EmbeddedMailStore.open(mail)) {
            store.createDomain(users.get(0).substring(users.get(0).indexOf('@') + 1));
            String secret = ScramSecret.derive(password.toCharArray(), SCRAM_ITERATIONS).encode();
            for (String u : users) store.createAccount(EmailAddress.of(u), secret, OptionalLong.empty());
        }
        Path config = dir.resolve("castellan.toml");
        Files.writeString(config, String.join("\n",
                "[server]", "hostname = \"localhost\"", "data-dir = \".\"", String.join("\n", serverConfig),
                "[tls]", "certificate = \"" + pki.server().chainFile() + "\"", "key = \"" + pki.server().keyFile() + "\"",
                "[[listener]]", "name = \"imaps\"", "protocol = \"imap\"", "address = \"127.0.0.1\"",
                "port = 0", "tls = \"implicit\"", String.join("\n", imapsConfig), String.join("\n", extraConfig), ""));
        return launch(config, dir.resolve("server.log"), jvmOptions);
    }

    /**
     * Castellan in a child JVM on the configuration file {@code config}, which must have a listener
     * {@code imaps}, its log in {@code err}; returns once it has printed the ports of its listeners.
     */
    public static CastellanImap launch(Path config, Path err, List<String> jvmOptions) throws IOException {
        List<String> command = new ArrayList<>();
        command.add(ProcessHandle.current().info().command().orElseThrow());
        command.add("--enable-native-access=ALL-UNNAMED");
        command.addAll(jvmOptions);
        // For profiling the server without editing the benchmark, e.g. -XX:StartFlightRecording=...
        String extra = System.getenv(SERVER_JVM_OPTIONS);
        if (extra != null && !extra.isBlank()) command.addAll(List.of(extra.strip().split("\\s+")));
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), ImapBenchServer.class.getName(), config.toString()));
        ProcessBuilder server = new ProcessBuilder(command).redirectError(err.toFile());
        server.environment().putIfAbsent("MALLOC_ARENA_MAX", "2"); // as the castellan launcher sets it
        Process child = server.start();
        // A benchmark that fails, or is interrupted, must not leave a server holding its port and memory.
        Runtime.getRuntime().addShutdownHook(new Thread(child::destroyForcibly));
        BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8));
        String ready = out.readLine();
        // JVM options such as -XX:StartFlightRecording print their own lines first.
        while (ready != null && !ready.startsWith("READY ")) ready = out.readLine();
        if (ready == null || !ready.startsWith("READY ")) {
            child.destroyForcibly();
            throw new IllegalStateException("Castellan did not start; see " + err + ": " + Files.readString(err));
        }
        // READY <imaps port> [name=port ...]: the other listeners after the one every benchmark uses.
        String[] words = ready.substring(6).strip().split(" ");
        Map<String, Integer> ports = new HashMap<>();
        for (int i = 1; i < words.length; i++) {
            int eq = words[i].indexOf('=');
            ports.put(words[i].substring(0, eq), Integer.parseInt(words[i].substring(eq + 1)));
        }
        return new CastellanImap(child, Integer.parseInt(words[0]), ports);
    }

    /** The port of the listener {@code name} from the extra configuration. */
    public int port(String name) {
        Integer p = ports.get(name);
        if (p == null) throw new IllegalArgumentException("no listener " + name + " among " + ports.keySet());
        return p;
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
