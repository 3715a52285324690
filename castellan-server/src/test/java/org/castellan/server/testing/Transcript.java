package org.castellan.server.testing;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import javax.net.ssl.SSLSocket;
import org.castellan.testkit.TestPki;

/**
 * Drives a scripted dialogue over a real socket. Script lines: {@code C: text} is sent with CRLF,
 * {@code S: regex} must match the next line received in full, {@code S: <closed>} expects the
 * server to have closed the connection; a bare {@code C:} or {@code S:} is an empty line. Blank lines and lines starting with {@code #} are skipped.
 */
public final class Transcript implements AutoCloseable {

    /** No test waits on a reply this long unless something is broken. */
    private static final Duration READ_TIMEOUT = Duration.ofSeconds(20);

    private Socket socket;
    private BufferedReader in;
    private OutputStream out;
    private final TestPki pki;
    private final List<String> log = new ArrayList<>();

    public Transcript(Socket socket, TestPki pki) {
        this.pki = pki;
        attach(socket);
    }

    private void attach(Socket s) {
        try {
            this.socket = s;
            s.setSoTimeout((int) READ_TIMEOUT.toMillis());
            this.in = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.ISO_8859_1));
            this.out = s.getOutputStream();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public Transcript run(String script) {
        for (String line : script.split("\n")) {
            if (line.isBlank() || line.startsWith("#")) continue;
            if (line.startsWith("C: ")) send(line.substring(3));
            else if (line.startsWith("S: <closed>")) expectClosed();
            else if (line.startsWith("S: ")) expect(line.substring(3));
            else if (line.equals("S:")) expect(""); // a text block strips the space of "S: "
            else if (line.equals("C:")) send("");
            else throw new IllegalArgumentException("script line must start with C: or S: — " + line);
        }
        return this;
    }

    public void send(String line) {
        sendRaw(line + "\r\n");
    }

    public void sendRaw(String text) {
        try {
            log.add("C: " + text.strip());
            out.write(text.getBytes(StandardCharsets.UTF_8));
            out.flush();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public String expect(String regex) {
        String line = readLine();
        assertThat(line).as("after:\n%s", String.join("\n", log)).isNotNull().matches(regex);
        return line;
    }

    public String readLine() {
        try {
            String line = in.readLine();
            log.add("S: " + line);
            return line;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The lines of a multi-line response up to (not including) the terminating ".". */
    public List<String> readMultiline() {
        List<String> lines = new ArrayList<>();
        for (String line; !(line = readLine()).equals("."); ) lines.add(line);
        return lines;
    }

    public void expectClosed() {
        try {
            assertThat(in.readLine()).as("after:\n%s", String.join("\n", log)).isNull();
        } catch (IOException e) {
            // A reset is a close too.
        }
    }

    /** Continues the same TCP connection inside TLS (after the server agreed to STARTTLS or STLS). */
    public void upgradeToTls() {
        try {
            SSLSocket tls = (SSLSocket) pki.clientContext().getSocketFactory()
                    .createSocket(socket, "localhost", socket.getPort(), true);
            tls.startHandshake();
            attach(tls);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public Socket socket() {
        return socket;
    }

    @Override
    public void close() {
        try {
            socket.close();
        } catch (IOException e) {
            // already closed
        }
    }
}
