package org.castellan.server.smtp;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import javax.net.ssl.SSLSocket;
import org.castellan.testkit.TestPki;

/** A raw SMTP client for transcripts: sends exactly the bytes a test gives and reads whole replies. */
final class SmtpClient implements AutoCloseable {

    private final TestPki pki;
    private final int port;
    private Socket socket;
    private InputStream in;
    private OutputStream out;

    private SmtpClient(Socket socket, int port, TestPki pki) throws IOException {
        this.pki = pki;
        this.port = port;
        use(socket);
    }

    private void use(Socket s) throws IOException {
        socket = s;
        socket.setSoTimeout(30_000);
        in = s.getInputStream();
        out = s.getOutputStream();
    }

    static SmtpClient plain(int port, TestPki pki) {
        try {
            return new SmtpClient(new Socket("127.0.0.1", port), port, pki);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static SmtpClient tls(int port, TestPki pki) {
        try {
            SSLSocket s = (SSLSocket) pki.clientContext().getSocketFactory().createSocket();
            s.connect(new InetSocketAddress("127.0.0.1", port));
            s.startHandshake();
            return new SmtpClient(s, port, pki);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Sends text as UTF-8, exactly as given (the test writes its own CRLFs). */
    SmtpClient send(String raw) {
        return send(raw.getBytes(StandardCharsets.UTF_8));
    }

    SmtpClient send(byte[] raw) {
        try {
            out.write(raw);
            out.flush();
            return this;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** One reply, all its lines joined with "\n"; null when the server closed the connection. */
    String reply() {
        List<String> lines = new ArrayList<>();
        while (true) {
            String line = line();
            if (line == null) return lines.isEmpty() ? null : String.join("\n", lines);
            lines.add(line);
            if (line.length() < 4 || line.charAt(3) != '-') return String.join("\n", lines);
        }
    }

    /** Reads one reply and checks it against a regular expression (the last line for multi-line replies is enough). */
    SmtpClient expect(String regex) {
        String r = reply();
        assertThat(r).as("reply").isNotNull();
        assertThat(r).as("reply").matches("(?s)" + regex);
        return this;
    }

    /** Sends a command line and checks the reply. */
    SmtpClient command(String line, String regex) {
        send(line + "\r\n");
        return expect(regex);
    }

    /** Reads until the server closes the connection; what arrived. */
    String rest() {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        try {
            in.transferTo(b);
        } catch (IOException e) {
            // a reset after the server closed counts as closed
        }
        return b.toString(StandardCharsets.UTF_8);
    }

    private String line() {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        try {
            int c;
            while ((c = in.read()) != -1) {
                if (c == '\n') {
                    String s = b.toString(StandardCharsets.UTF_8);
                    return s.endsWith("\r") ? s.substring(0, s.length() - 1) : s;
                }
                b.write(c);
            }
            return null;
        } catch (IOException e) {
            return null;
        }
    }

    /** Greeting, EHLO. */
    SmtpClient hello() {
        expect("220 .*");
        return command("EHLO client.example", "250.*");
    }

    /** STARTTLS, the handshake, and EHLO again. */
    SmtpClient startTls() {
        command("STARTTLS", "220 .*");
        upgrade();
        return command("EHLO client.example", "250.*");
    }

    /** Turns the socket into TLS without sending anything first. */
    void upgrade() {
        try {
            SSLSocket s = (SSLSocket) pki.clientContext().getSocketFactory().createSocket(socket, "localhost", port, true);
            s.startHandshake();
            use(s);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    SmtpClient login(String user, String password) {
        String ir = Base64.getEncoder().encodeToString(("\0" + user + "\0" + password).getBytes(StandardCharsets.UTF_8));
        return command("AUTH PLAIN " + ir, "235 2\\.7\\.0 .*");
    }

    @Override
    public void close() {
        try {
            socket.close();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
