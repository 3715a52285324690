package org.castellan.bench.pki;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.castellan.bench.ProcessCpu;
import org.castellan.bench.imap.CastellanImap;
import org.castellan.server.cli.Main;

/**
 * Castellan for the PKI benchmarks, as an operator runs it: a data directory made by
 * {@code castellan init} (the built-in CA, its standard listeners on ports the system picks),
 * plus the listeners a benchmark adds, served in a child JVM as the IMAP benchmarks start theirs
 * ({@link CastellanImap#launch}: the launcher's flags, and the options in the environment variable
 * {@code CASTELLAN_BENCH_SERVER_JVM}, e.g. {@code -XX:StartFlightRecording=...} to profile). Its
 * log goes to {@code server.log} beside the data directory.
 */
final class PkiServer implements AutoCloseable {

    private final CastellanImap server;

    private PkiServer(CastellanImap server) {
        this.server = server;
    }

    /** {@code castellan init} on {@code data}, hostname localhost; the CA is in {@code data/pki}. */
    static void init(Path data) {
        int code = Main.run("init", "--data", data.toString(), "--hostname", "localhost", "--port-base", "0");
        if (code != 0) throw new IllegalStateException("castellan init failed with " + code);
    }

    /**
     * Runs {@code castellan} on {@code data} in this JVM (domain add, user add ...) with
     * {@code stdin} as its standard input; what it printed. Fails if it does.
     */
    static String admin(Path data, String stdin, String... args) {
        String[] all = new String[args.length + 2];
        System.arraycopy(args, 0, all, 0, args.length);
        all[args.length] = "--data";
        all[args.length + 1] = data.toString();
        PrintStream out = System.out;
        InputStream in = System.in;
        ByteArrayOutputStream printed = new ByteArrayOutputStream();
        int code;
        try {
            System.setOut(new PrintStream(printed, true, StandardCharsets.UTF_8));
            System.setIn(new ByteArrayInputStream(stdin.getBytes(StandardCharsets.UTF_8)));
            code = Main.run(all);
        } finally {
            System.setOut(out);
            System.setIn(in);
        }
        if (code != 0) throw new IllegalStateException("castellan " + String.join(" ", args) + " failed with " + code);
        return printed.toString(StandardCharsets.UTF_8);
    }

    /** A plain-HTTP listener for the CA's public objects (docs/http.md §1.1) on loopback. */
    static String httpListener(String name) {
        return String.join("\n", "[[listener]]", "name = \"" + name + "\"", "protocol = \"http\"",
                "address = \"127.0.0.1\"", "port = 0", "tls = \"none\"", "");
    }

    /** Starts the server on {@code data} with {@code moreConfig} (TOML) appended to its configuration. */
    static PkiServer start(Path data, String moreConfig) throws IOException {
        Path config = data.resolve("castellan.toml");
        Files.writeString(config, Files.readString(config) + "\n" + moreConfig);
        return new PkiServer(CastellanImap.launch(config, data.resolveSibling("server.log"), List.of()));
    }

    int port(String listener) {
        return listener.equals("imaps") ? server.port() : server.port(listener);
    }

    long pid() {
        return server.pid();
    }

    /** CPU seconds the server's JVM has used so far (every thread, user and system). */
    double cpuSeconds() {
        return ProcessCpu.treeSeconds(server.pid());
    }

    @Override
    public void close() {
        server.close();
    }
}
