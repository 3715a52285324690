package org.castellan.bench.smtp;

import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Postfix's {@code smtp-sink} (smtp-sink(1)): an SMTP server that takes every message and throws
 * it away, the next hop of the relay benchmark. With {@code -c} it prints its counters
 * ({@code sess=N quit=N mesg=N} from Postfix 3.7, each record ended by a carriage return)
 * whenever a session ends or a message's final "." arrives; {@link #received} follows {@code mesg}. It offers
 * PIPELINING and no STARTTLS: the relays hand it their mail in clear.
 *
 * @param address where it listens, a loopback address of its own so that each server has its sink
 */
record Sink(Process process, InetSocketAddress address, AtomicLong received) implements AutoCloseable {

    static final Path BINARY = Path.of("/usr/sbin/smtp-sink");
    /** Its listen backlog, and (-m) the sessions it serves at once: more than either relay opens. */
    private static final int SESSIONS = 256;
    /** The messages counter in a record of {@code -c}. */
    private static final String COUNTER = "mesg=";

    /** Starts a sink on a free port of {@code host} (127.0.0.x) and waits until it listens. */
    static Sink start(String host) throws IOException {
        if (!Files.isExecutable(BINARY)) throw new IllegalStateException(BINARY + " is missing: apt-get install postfix");
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName(host))) {
            port = s.getLocalPort();
        }
        // -u: it runs as root here, and then insists on a user to switch to once the socket is open.
        Process p = new ProcessBuilder(List.of(BINARY.toString(), "-c", "-m", Integer.toString(SESSIONS), "-u", "nobody",
                host + ":" + port, Integer.toString(SESSIONS))).redirectErrorStream(true).start();
        Sink sink = new Sink(p, new InetSocketAddress(host, port), new AtomicLong());
        Thread.ofPlatform().daemon().name("smtp-sink " + host).start(() -> sink.follow(p.getInputStream()));
        try {
            await("smtp-sink listening on " + host + ":" + port).atMost(Duration.ofSeconds(30))
                    .pollInterval(Duration.ofMillis(50)).ignoreExceptions().until(() -> {
                        try (Socket s = new Socket(host, port)) {
                            return true;
                        }
                    });
        } catch (RuntimeException e) {
            sink.close();
            throw e;
        }
        return sink;
    }

    /** {@code [host]:port}, as Postfix's relayhost takes it (no MX lookup). */
    String relayhost() {
        return "[" + address.getHostString() + "]:" + address.getPort();
    }

    /** {@code host:port}, as a static route's next-hop takes it. */
    String hostPort() {
        return address.getHostString() + ":" + address.getPort();
    }

    /** Waits until the sink has received {@code total} messages in all; false when it has not within {@code atMost}. */
    boolean awaitReceived(long total, Duration atMost) {
        try {
            await().atMost(atMost).pollInterval(Duration.ofMillis(20)).until(() -> received.get() >= total);
            return true;
        } catch (org.awaitility.core.ConditionTimeoutException e) {
            return false;
        }
    }

    /** Reads the counter records, {@code sess=N quit=N mesg=N\r}, and keeps the last mesg. */
    private void follow(InputStream in) {
        StringBuilder record = new StringBuilder();
        try {
            int b;
            while ((b = in.read()) >= 0) {
                if (b != '\r' && b != '\n') {
                    record.append((char) b);
                    continue;
                }
                int at = record.indexOf(COUNTER);
                if (at >= 0) {
                    int from = at + COUNTER.length();
                    int end = from;
                    while (end < record.length() && Character.isDigit(record.charAt(end))) end++;
                    if (end > from) received.set(Long.parseLong(record, from, end, 10));
                } else if (!record.isEmpty()) {
                    System.out.println("smtp-sink: " + record);
                }
                record.setLength(0);
            }
        } catch (IOException ended) {
            // the sink was stopped
        }
    }

    @Override
    public void close() {
        process.destroy();
    }
}
