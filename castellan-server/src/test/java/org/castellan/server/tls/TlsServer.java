package org.castellan.server.tls;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import org.castellan.server.Castellan;
import org.castellan.server.config.CastellanConfig;
import org.castellan.server.config.ConfigException;
import org.castellan.testkit.TestPki;

/**
 * A real Castellan over a temporary directory with two POP3 listeners, {@code pop3s} (implicit
 * TLS) and {@code pop3} (STLS), serving the certificate and key copied into {@code data/tls}, so
 * a test can replace those files while the server runs.
 */
final class TlsServer implements AutoCloseable {

    final TestPki pki;
    final Path chain;
    final Path key;
    final Castellan server;

    private TlsServer(TestPki pki, Path chain, Path key, Castellan server) {
        this.pki = pki;
        this.chain = chain;
        this.key = key;
        this.server = server;
    }

    static TlsServer start(Path dir, TestPki pki, String preset) {
        return start(dir, pki, preset, "");
    }

    /** With {@code extra} TOML appended to the {@code [tls]} table (extra listeners may follow it). */
    static TlsServer start(Path dir, TestPki pki, String preset, String extra) {
        try {
            Path tls = Files.createDirectories(dir.resolve("data/tls"));
            Path chain = tls.resolve("chain.pem");
            Path key = tls.resolve("key.pem");
            install(pki.server().chainFile(), chain);
            install(pki.server().keyFile(), key);
            String config = String.join("\n",
                    "[server]",
                    "hostname = \"localhost\"",
                    "data-dir = \"data\"",
                    "shutdown-grace = \"1s\"",
                    "[tls]",
                    "preset = \"" + preset + "\"",
                    extra,
                    "[auth]",
                    "scram-iterations = 4096",
                    listener("pop3s", "implicit"),
                    listener("pop3", "starttls"));
            Path file = dir.resolve("castellan.toml");
            Files.writeString(file, config);
            return new TlsServer(pki, chain, key, Castellan.start(CastellanConfig.parse(config, file)));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (ConfigException e) {
            throw new IllegalStateException(e.getMessage(), e);
        }
    }

    private static String listener(String name, String tls) {
        return String.join("\n", "[[listener]]", "name = \"" + name + "\"", "protocol = \"pop3\"",
                "address = \"127.0.0.1\"", "port = 0", "tls = \"" + tls + "\"", "");
    }

    /**
     * Replaces {@code target} by rename with a copy of {@code source} and its permissions (0600
     * for keys), as certificate tools do; the file is never seen half-copied.
     */
    static void install(Path source, Path target) throws IOException {
        Path staged = target.resolveSibling(target.getFileName() + ".new");
        Files.copy(source, staged, StandardCopyOption.COPY_ATTRIBUTES, StandardCopyOption.REPLACE_EXISTING);
        Files.move(staged, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    int port(String listener) {
        return server.addresses().get(listener).getPort();
    }

    @Override
    public void close() {
        server.close();
    }
}
