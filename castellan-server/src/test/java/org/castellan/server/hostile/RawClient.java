package org.castellan.server.hostile;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

/**
 * A client that sees the server's bytes as they are: a line is everything up to LF, with a
 * bare CR, NUL or escape left in place (a {@link java.io.BufferedReader} would end a line at a
 * bare CR and hide it). For attacks that must show what the wire carried.
 */
final class RawClient implements AutoCloseable {

    /** No reply takes this long unless something is broken. */
    private static final int READ_TIMEOUT_MILLIS = 20_000;

    private final Socket socket;
    private final InputStream in;
    private final OutputStream out;

    private RawClient(Socket socket) throws IOException {
        this.socket = socket;
        socket.setSoTimeout(READ_TIMEOUT_MILLIS);
        this.in = socket.getInputStream();
        this.out = socket.getOutputStream();
    }

    /** Connects to 127.0.0.1:{@code port}. */
    static RawClient connect(int port) {
        return connect(port, InetAddress.getLoopbackAddress());
    }

    /** Connects to 127.0.0.1:{@code port} from {@code source} (any of 127/8 is loopback on Linux). */
    static RawClient connect(int port, InetAddress source) {
        try {
            Socket s = new Socket();
            s.bind(new InetSocketAddress(source, 0));
            s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), READ_TIMEOUT_MILLIS);
            return new RawClient(s);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Sends {@code text} as UTF-8, exactly. */
    void send(String text) {
        send(text.getBytes(StandardCharsets.UTF_8));
    }

    void send(byte[] octets) {
        try {
            out.write(octets);
            out.flush();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The next line without its CRLF (a bare CR before it stays), as UTF-8; null at the end of the stream. */
    String line() {
        try {
            ByteArrayOutputStream b = new ByteArrayOutputStream();
            for (int c = in.read(); c != '\n'; c = in.read()) {
                if (c < 0) return b.size() == 0 ? null : b.toString(StandardCharsets.UTF_8);
                b.write(c);
            }
            String s = b.toString(StandardCharsets.UTF_8);
            return s.endsWith("\r") ? s.substring(0, s.length() - 1) : s;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The last line of an SMTP reply, after any {@code NNN-} continuation lines. */
    String smtpReply() {
        String line = line();
        while (line != null && line.matches("\\d{3}-.*")) line = line();
        return line;
    }

    /** {@code n} octets as they come. */
    byte[] octets(int n) {
        try {
            return in.readNBytes(n);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
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
