package org.castellan.server.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import org.castellan.server.Castellan;
import org.castellan.server.config.CastellanConfig;

/**
 * A data directory made by {@code castellan init}, with two extra implicit-TLS POP3 listeners
 * ({@code device}: client-cert require; {@code optional}: request), one account, and the server
 * running on it; plus a TLS client that presents a PKCS#12 file issued by {@code castellan cert}.
 */
final class LiveServer implements AutoCloseable {

    static final String ACCOUNT = "alice@example.org";
    static final String P12_PASSPHRASE = "device pass phrase";
    /** A safety net so that a broken server fails the test instead of hanging it; never asserted. */
    static final int READ_TIMEOUT_MILLIS = 20_000;

    final Cli cli;
    final Castellan server;

    private LiveServer(Cli cli, Castellan server) {
        this.cli = cli;
        this.server = server;
    }

    static LiveServer start(Path data) throws Exception {
        return start(data, "");
    }

    /** As {@link #start(Path)}, with {@code moreListeners} (TOML) added to the configuration. */
    static LiveServer start(Path data, String moreListeners) throws Exception {
        return start(data, moreListeners, UnaryOperator.identity());
    }

    /** As {@link #start(Path, String)}, with the whole configuration text passed through {@code edit} before the start. */
    static LiveServer start(Path data, String moreListeners, UnaryOperator<String> edit) throws Exception {
        Cli cli = Cli.init(data, ACCOUNT);
        Path config = data.resolve("castellan.toml");
        Files.writeString(config, edit.apply(Files.readString(config) + "\n" + listener("device", "require")
                + listener("optional", "request") + moreListeners));
        return new LiveServer(cli, Castellan.start(CastellanConfig.load(config)));
    }

    private static String listener(String name, String clientCert) {
        return String.join("\n", "[[listener]]", "name = \"" + name + "\"", "protocol = \"pop3\"",
                "address = \"127.0.0.1\"", "port = 0", "tls = \"implicit\"", "client-cert = \"" + clientCert + "\"", "");
    }

    /** Issues a device certificate with {@code castellan cert} into a directory beside the data; returns its files and serial. */
    Issued issueDevice(String name) {
        return issueDevice(cli, name);
    }

    /** Issues a device certificate for the account with {@code cli}'s {@code castellan cert}. */
    static Issued issueDevice(Cli cli, String name) {
        Path out = cli.data.resolveSibling("handed-over").resolve(name);
        Cli.Run r = cli.withStdin(P12_PASSPHRASE + "\n", "cert", "issue", "device", name, "--owner", ACCOUNT,
                "--passphrase-stdin", "--out", out.toString());
        assertThat(r.code()).as(r.err()).isZero();
        Matcher m = Pattern.compile("certificate ([0-9a-f]+)").matcher(r.out());
        assertThat(m.find()).isTrue();
        String serial = m.group(1);
        return new Issued(serial, out.resolve(name + ".p12"), r.out());
    }

    /** @param output what {@code cert issue} printed */
    record Issued(String serial, Path p12, String output) {}

    InetSocketAddress address(String listener) {
        return server.addresses().get(listener);
    }

    Path rootCertificate() {
        return cli.data.resolve("pki/root.crt");
    }

    /** A client context trusting the built-in root, presenting {@code p12} (or nothing when null). */
    SSLContext clientContext(Path p12) throws Exception {
        return clientContextTrusting(rootCertificate(), p12);
    }

    /** A client context trusting {@code root}, presenting {@code p12} (or nothing when null). */
    static SSLContext clientContextTrusting(Path root, Path p12) throws Exception {
        KeyStore trust = KeyStore.getInstance("PKCS12");
        trust.load(null, null);
        try (InputStream in = Files.newInputStream(root)) {
            trust.setCertificateEntry("root", (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in));
        }
        TrustManagerFactory tmf = TrustManagerFactory.getInstance("PKIX");
        tmf.init(trust);
        KeyManagerFactory kmf = null;
        if (p12 != null) {
            KeyStore keys = KeyStore.getInstance("PKCS12");
            try (InputStream in = Files.newInputStream(p12)) {
                keys.load(in, P12_PASSPHRASE.toCharArray());
            }
            kmf = KeyManagerFactory.getInstance("PKIX");
            kmf.init(keys, P12_PASSPHRASE.toCharArray());
        }
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(kmf == null ? null : kmf.getKeyManagers(), tmf.getTrustManagers(), null);
        return context;
    }

    /**
     * Sends {@code count} wrong passwords for the account at once, each on its own connection to
     * {@code at}, then reads every refusal: each reply may be held back, so the guesses go out
     * together and the replies are read afterwards.
     */
    static void wrongPasswords(SSLContext tls, InetSocketAddress at, int count) throws IOException {
        List<Pop3> guesses = new ArrayList<>();
        try {
            for (int i = 0; i < count; i++) {
                Pop3 guess = new Pop3(tls, at).greeted();
                assertThat(guess.command("USER " + ACCOUNT)).startsWith("+OK");
                guess.out.write(("PASS wrong guess " + i + "\r\n").getBytes(StandardCharsets.US_ASCII));
                guess.out.flush();
                guesses.add(guess);
            }
            for (Pop3 guess : guesses) assertThat(guess.line()).startsWith("-ERR");
        } finally {
            for (Pop3 guess : guesses) guess.close();
        }
    }

    /** A POP3 client over implicit TLS. */
    static final class Pop3 implements AutoCloseable {
        final SSLSocket socket;
        final BufferedReader in;
        final OutputStream out;

        Pop3(SSLContext context, InetSocketAddress at) throws IOException {
            Socket raw = new Socket();
            raw.connect(at, READ_TIMEOUT_MILLIS);
            raw.setSoTimeout(READ_TIMEOUT_MILLIS);
            socket = (SSLSocket) context.getSocketFactory().createSocket(raw, "localhost", at.getPort(), true);
            socket.startHandshake();
            in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.US_ASCII));
            out = socket.getOutputStream();
        }

        String line() throws IOException {
            return in.readLine();
        }

        String command(String line) throws IOException {
            out.write((line + "\r\n").getBytes(StandardCharsets.US_ASCII));
            out.flush();
            return line();
        }

        Pop3 greeted() throws IOException {
            assertThat(line()).startsWith("+OK");
            return this;
        }

        /** Greeting, then USER/PASS inside TLS. */
        Pop3 login() throws IOException {
            greeted();
            assertThat(command("USER " + ACCOUNT)).startsWith("+OK");
            assertThat(command("PASS " + Cli.Pop3Password.VALUE)).startsWith("+OK");
            return this;
        }

        /** Whether the server has closed the connection: end of stream or a reset. */
        boolean closedByServer() {
            try {
                return in.readLine() == null;
            } catch (IOException reset) {
                return true;
            }
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }

    @Override
    public void close() {
        server.close();
    }
}
