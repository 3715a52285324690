package org.castellan.bench.pki;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import javax.net.SocketFactory;

/**
 * The load the PKI benchmarks put on an HTTP server: {@code clients} threads, each posting one
 * request after another (a random body of {@code bodies}) and reading the whole answer, which
 * must be 200. Two ways of using connections:
 *
 * <ul>
 *   <li>{@link Mode#CONNECTION_PER_REQUEST}: HTTP/1.0 without keep-alive, a new TCP connection
 *       (and, over TLS, a full handshake) per request, what {@code openssl ocsp -port} expects;
 *   <li>{@link Mode#KEEP_ALIVE}: HTTP/1.1 with {@code Connection: keep-alive}, one connection per
 *       client for as long as the server keeps it open; a server that closes it after an answer
 *       gets a new one for the next request, and {@link Counts#connections()} shows it.
 * </ul>
 */
final class HttpLoad {

    /** A server that does not answer within this is broken, not slow: the run stops instead of hanging. */
    static final int READ_TIMEOUT_MILLIS = 10_000;

    enum Mode {
        CONNECTION_PER_REQUEST("new connection per request"),
        KEEP_ALIVE("keep-alive");

        final String label;

        Mode(String label) {
            this.label = label;
        }
    }

    /** What to send: POST {@code path} with {@code headers} (lines without CRLF) and one of {@code bodies}. */
    record Target(SocketFactory sockets, String host, int port, String path, List<String> headers, List<byte[]> bodies) {}

    /** Answers read whole, and the connections opened for them. */
    record Counts(long responses, long connections) {}

    private HttpLoad() {}

    /** Runs the load for {@code seconds}; a failed request stops the run with its reason. */
    static Counts run(Target target, Mode mode, int clients, int seconds) throws InterruptedException {
        AtomicLong responses = new AtomicLong();
        AtomicLong connections = new AtomicLong();
        AtomicBoolean stop = new AtomicBoolean();
        List<Thread> threads = new ArrayList<>();
        List<Throwable> failures = new ArrayList<>();
        for (int i = 0; i < clients; i++) {
            threads.add(Thread.ofPlatform().start(() -> {
                try (Client client = new Client(target, mode, connections)) {
                    while (!stop.get()) {
                        client.post(target.bodies().get(ThreadLocalRandom.current().nextInt(target.bodies().size())));
                        responses.incrementAndGet();
                    }
                } catch (IOException | RuntimeException e) {
                    synchronized (failures) {
                        failures.add(e);
                    }
                    stop.set(true);
                }
            }));
        }
        Thread.sleep(TimeUnit.SECONDS.toMillis(seconds)); // the measured window itself
        stop.set(true);
        for (Thread t : threads) t.join();
        if (!failures.isEmpty()) throw new IllegalStateException("request failed: " + failures.get(0), failures.get(0));
        return new Counts(responses.get(), connections.get());
    }

    /** One request on a connection of its own; the answer's body. */
    static byte[] once(Target target, byte[] body) throws IOException {
        try (Client client = new Client(target, Mode.CONNECTION_PER_REQUEST, new AtomicLong())) {
            return client.post(body);
        }
    }

    /** One client's connection, kept between requests when the mode and the server allow. */
    private static final class Client implements AutoCloseable {
        private final Target target;
        private final Mode mode;
        private final AtomicLong connections;
        private Socket socket;
        private InputStream in;
        private OutputStream out;

        Client(Target target, Mode mode, AtomicLong connections) {
            this.target = target;
            this.mode = mode;
            this.connections = connections;
        }

        byte[] post(byte[] body) throws IOException {
            if (socket == null) {
                socket = target.sockets().createSocket(target.host(), target.port());
                socket.setSoTimeout(READ_TIMEOUT_MILLIS);
                socket.setTcpNoDelay(true);
                in = new BufferedInputStream(socket.getInputStream());
                out = socket.getOutputStream();
                connections.incrementAndGet();
            }
            StringBuilder head = new StringBuilder("POST ").append(target.path())
                    .append(mode == Mode.KEEP_ALIVE ? " HTTP/1.1\r\nConnection: keep-alive\r\n" : " HTTP/1.0\r\n")
                    .append("Host: ").append(target.host()).append("\r\n");
            for (String h : target.headers()) head.append(h).append("\r\n");
            head.append("Content-Length: ").append(body.length).append("\r\n\r\n");
            byte[] headBytes = head.toString().getBytes(StandardCharsets.US_ASCII);
            byte[] request = new byte[headBytes.length + body.length];
            System.arraycopy(headBytes, 0, request, 0, headBytes.length);
            System.arraycopy(body, 0, request, headBytes.length, body.length);
            out.write(request); // one write, so that a TLS socket sends one record
            out.flush();

            String status = line(in);
            if (!status.startsWith("HTTP/1.") || !status.contains(" 200")) {
                throw new IOException("HTTP status \"" + status + "\" from " + target.path());
            }
            int length = -1;
            boolean keep = mode == Mode.KEEP_ALIVE && status.startsWith("HTTP/1.1");
            for (String header = line(in); !header.isEmpty(); header = line(in)) {
                String lower = header.toLowerCase(Locale.ROOT);
                if (lower.startsWith("content-length:")) length = Integer.parseInt(header.substring(15).strip());
                if (lower.startsWith("connection:")) keep = mode == Mode.KEEP_ALIVE && lower.contains("keep-alive");
            }
            byte[] answer = length >= 0 ? in.readNBytes(length) : in.readAllBytes();
            if (length < 0 || !keep) close();
            return answer;
        }

        private static String line(InputStream in) throws IOException {
            StringBuilder line = new StringBuilder();
            for (int c = in.read(); c != -1 && c != '\n'; c = in.read()) {
                if (c != '\r') line.append((char) c);
            }
            return line.toString();
        }

        @Override
        public void close() throws IOException {
            if (socket != null) socket.close();
            socket = null;
        }
    }
}
