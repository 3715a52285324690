package org.castellan.server.testing;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;

/**
 * A minimal HTTP/1.1 client over TLS for transcripts: it sends exactly the bytes given and reads
 * one response at a time (status line, headers, a Content-Length body), so that tests see what
 * the server put on the wire, limits and all.
 */
public final class RawHttps implements AutoCloseable {

    /** A safety net so that a broken server fails the test instead of hanging it; never asserted. */
    private static final int READ_TIMEOUT_MILLIS = 20_000;

    public record Response(int status, String statusLine, Map<String, String> headers, byte[] body) {
        public String header(String name) {
            return headers.get(name.toLowerCase(Locale.ROOT));
        }

        public String text() {
            return new String(body, StandardCharsets.UTF_8);
        }
    }

    private final SSLSocket socket;
    private final InputStream in;
    private final OutputStream out;

    public RawHttps(SSLContext context, InetSocketAddress at) throws IOException {
        Socket raw = new Socket();
        raw.connect(at, READ_TIMEOUT_MILLIS);
        raw.setSoTimeout(READ_TIMEOUT_MILLIS);
        socket = (SSLSocket) context.getSocketFactory().createSocket(raw, "localhost", at.getPort(), true);
        socket.startHandshake();
        in = new BufferedInputStream(socket.getInputStream());
        out = socket.getOutputStream();
    }

    public RawHttps send(String request) throws IOException {
        return send(request.getBytes(StandardCharsets.ISO_8859_1));
    }

    public RawHttps send(byte[] request) throws IOException {
        out.write(request);
        out.flush();
        return this;
    }

    /** Sends {@code request} and reads its response. */
    public Response exchange(String request) throws IOException {
        return send(request).read(false);
    }

    /** The next response; {@code head}: the answer to HEAD, whose Content-Length has no body behind it. */
    public Response read(boolean head) throws IOException {
        String statusLine = line();
        if (statusLine == null) throw new IOException("the server closed the connection without a response");
        Map<String, String> headers = new LinkedHashMap<>();
        for (String line = line(); line != null && !line.isEmpty(); line = line()) {
            int colon = line.indexOf(':');
            headers.put(line.substring(0, colon).trim().toLowerCase(Locale.ROOT), line.substring(colon + 1).trim());
        }
        int length = head ? 0 : Integer.parseInt(headers.getOrDefault("content-length", "0"));
        byte[] body = in.readNBytes(length);
        return new Response(Integer.parseInt(statusLine.split(" ")[1]), statusLine, headers, body);
    }

    private String line() throws IOException {
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        int b;
        while ((b = in.read()) != -1) {
            if (b == '\n') return line.toString(StandardCharsets.ISO_8859_1).replaceAll("\r$", "");
            line.write(b);
        }
        return line.size() == 0 ? null : line.toString(StandardCharsets.ISO_8859_1);
    }

    /** Whether the server has closed the connection: end of stream or a reset. */
    public boolean closedByServer() {
        try {
            return in.read() == -1;
        } catch (IOException reset) {
            return true;
        }
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
