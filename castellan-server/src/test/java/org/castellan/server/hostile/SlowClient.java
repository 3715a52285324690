package org.castellan.server.hostile;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLException;

/**
 * A client as a slow-client attacker writes it: it connects (from a chosen loopback address,
 * since Linux routes all of 127.0.0.0/8 to the loopback interface), talks normally where it
 * must, then sends one byte every {@link #PACE} so that no idle timer counting bytes would ever
 * fire. It keeps everything the server says, and notices when the server closes.
 *
 * <p>The pause between bytes is the wait for the server's answer ({@link Socket#setSoTimeout}),
 * so the client never sleeps: it hears a goodbye the moment it comes. It gives up after
 * {@link #LIMIT}, long past every deadline these tests configure, so a server that never closes
 * fails the test instead of hanging it.
 */
final class SlowClient implements AutoCloseable {

    /** One byte every 300 ms: faster than any deadline under test, slower than any real client. */
    static final Duration PACE = Duration.ofMillis(300);
    /** The tests' deadlines are about two seconds; a server that has not closed by now never will. */
    static final Duration LIMIT = Duration.ofSeconds(30);

    private final Socket socket;
    private final InputStream in;
    private final OutputStream out;
    private final ByteArrayOutputStream received = new ByteArrayOutputStream();
    private boolean closed;

    private SlowClient(Socket socket) throws IOException {
        this.socket = socket;
        this.in = socket.getInputStream();
        this.out = socket.getOutputStream();
    }

    /** Connects to {@code server} from the loopback address {@code from}, such as "127.0.0.2". */
    static SlowClient connect(String from, InetSocketAddress server) {
        try {
            Socket s = new Socket();
            s.bind(new InetSocketAddress(InetAddress.getByName(from), 0));
            s.connect(server);
            return new SlowClient(s);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Reads one line at normal speed (the greeting, a reply), without its CRLF; null once the server has closed. */
    String readLine() {
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        try {
            socket.setSoTimeout((int) LIMIT.toMillis());
            for (int b; (b = in.read()) != -1; ) {
                received.write(b);
                if (b == '\n') return line.toString(StandardCharsets.ISO_8859_1).stripTrailing();
                line.write(b);
            }
        } catch (SocketException reset) {
            // A reset is a close too.
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        closed = true;
        return line.size() == 0 ? null : line.toString(StandardCharsets.ISO_8859_1);
    }

    /** Sends a line at normal speed. */
    void send(String line) {
        sendAll((line + "\r\n").getBytes(StandardCharsets.UTF_8));
    }

    void sendAll(byte[] bytes) {
        try {
            out.write(bytes);
            out.flush();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Sends {@code pattern} over and over, one byte every {@link #PACE}, until the server closes
     * the connection or {@link #LIMIT} passes; returns what the server said meanwhile.
     */
    String trickleUntilClosed(String pattern) {
        byte[] bytes = pattern.getBytes(StandardCharsets.UTF_8);
        int before = received.size();
        long giveUp = System.nanoTime() + LIMIT.toNanos();
        for (int i = 0; !closed && System.nanoTime() - giveUp < 0; i++) {
            trickleOne(bytes[i % bytes.length]);
        }
        return received.toString(StandardCharsets.ISO_8859_1).substring(before);
    }

    /** Sends {@code bytes} one every {@link #PACE}, stopping early if the server closes. */
    void trickle(byte[] bytes) {
        for (int i = 0; i < bytes.length && !closed; i++) trickleOne(bytes[i]);
    }

    /** Waits up to {@link #PACE} for the server, then sends one byte. */
    private void trickleOne(byte b) {
        listen(PACE);
        if (closed) return;
        try {
            out.write(b);
            out.flush();
        } catch (IOException refused) {
            // The server has closed; what it said before is read below.
            listen(PACE);
            closed = true;
        }
    }

    /** Everything the server sends from now until it closes (or {@link #LIMIT} passes). */
    String readUntilClosed() {
        int before = received.size();
        long giveUp = System.nanoTime() + LIMIT.toNanos();
        while (!closed && System.nanoTime() - giveUp < 0) listen(PACE);
        return received.toString(StandardCharsets.ISO_8859_1).substring(before);
    }

    /** Whether the server has closed the connection (as far as this client has noticed). */
    boolean closed() {
        return closed;
    }

    private void listen(Duration wait) {
        byte[] buffer = new byte[4096];
        try {
            socket.setSoTimeout((int) wait.toMillis());
            int n = in.read(buffer);
            if (n < 0) {
                closed = true;
                return;
            }
            received.write(buffer, 0, n);
            // Whatever else is already here, without waiting again.
            while (in.available() > 0 && (n = in.read(buffer)) > 0) received.write(buffer, 0, n);
        } catch (SocketTimeoutException quiet) {
            // Nothing from the server within the pause.
        } catch (SocketException reset) {
            closed = true;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * The first flight of a TLS handshake, a ClientHello, as a client of {@code context} would send
     * it: for a test that sends it slowly, or to a listener that should never answer it.
     */
    static byte[] clientHello(SSLContext context) {
        try {
            SSLEngine engine = context.createSSLEngine("localhost", 993);
            engine.setUseClientMode(true);
            ByteBuffer out = ByteBuffer.allocate(engine.getSession().getPacketBufferSize());
            engine.wrap(ByteBuffer.allocate(0), out);
            out.flip();
            byte[] hello = new byte[out.remaining()];
            out.get(hello);
            return hello;
        } catch (SSLException e) {
            throw new IllegalStateException(e);
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
