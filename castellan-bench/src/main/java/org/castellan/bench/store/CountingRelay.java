package org.castellan.bench.store;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;

/**
 * A TCP relay on 127.0.0.1 between the nodes and a server (PostgreSQL, the object store) that
 * counts what crosses it: bytes each way, and round trips, a round trip being each burst from
 * the client that follows something from the server (or opens the connection). A pipelined batch
 * of statements is one round trip; a statement that waits for its answer before the next is one
 * each. Blocking sockets on virtual threads, two per connection.
 *
 * <p>Trusts: only the benchmark; it listens on loopback only.
 */
final class CountingRelay implements AutoCloseable {

    /** What crossed the relay so far; the difference of two is a window's. */
    record Traffic(long toServer, long fromServer, long roundTrips) {
        Traffic minus(Traffic earlier) {
            return new Traffic(toServer - earlier.toServer, fromServer - earlier.fromServer, roundTrips - earlier.roundTrips);
        }
    }

    private static final int BUFFER = 64 * 1024;

    private final ServerSocket listener;
    private final InetSocketAddress target;
    private final LongAdder toServer = new LongAdder();
    private final LongAdder fromServer = new LongAdder();
    private final LongAdder roundTrips = new LongAdder();

    private CountingRelay(ServerSocket listener, InetSocketAddress target) {
        this.listener = listener;
        this.target = target;
    }

    /** Starts relaying a free loopback port to {@code 127.0.0.1:targetPort}. */
    static CountingRelay start(int targetPort) throws IOException {
        ServerSocket listener = new ServerSocket(0, 200, InetAddress.getLoopbackAddress());
        CountingRelay relay = new CountingRelay(listener, new InetSocketAddress(InetAddress.getLoopbackAddress(), targetPort));
        Thread.ofVirtual().name("relay-accept-" + targetPort).start(relay::accept);
        return relay;
    }

    int port() {
        return listener.getLocalPort();
    }

    Traffic traffic() {
        return new Traffic(toServer.sum(), fromServer.sum(), roundTrips.sum());
    }

    private void accept() {
        while (!listener.isClosed()) {
            Socket client;
            try {
                client = listener.accept();
            } catch (IOException closed) {
                return;
            }
            Thread.ofVirtual().start(() -> connect(client));
        }
    }

    private void connect(Socket client) {
        Socket server = new Socket();
        try {
            server.connect(target);
            client.setTcpNoDelay(true);
            server.setTcpNoDelay(true);
        } catch (IOException e) {
            closeBoth(client, server);
            return;
        }
        // True while the client's last bytes are the newest thing on this connection.
        AtomicBoolean clientSpoke = new AtomicBoolean();
        Thread.ofVirtual().start(() -> pump(client, server, toServer, clientSpoke, true));
        Thread.ofVirtual().start(() -> pump(server, client, fromServer, clientSpoke, false));
    }

    private void pump(Socket from, Socket to, LongAdder bytes, AtomicBoolean clientSpoke, boolean fromClient) {
        byte[] buffer = new byte[BUFFER];
        try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
            int n;
            while ((n = in.read(buffer)) > 0) {
                // Set before the bytes go on, so the answer to them cannot arrive first.
                if (fromClient) {
                    if (!clientSpoke.getAndSet(true)) roundTrips.increment();
                } else {
                    clientSpoke.set(false);
                }
                bytes.add(n);
                out.write(buffer, 0, n);
            }
        } catch (IOException e) {
            // One side went away: the other follows below.
        } finally {
            closeBoth(from, to);
        }
    }

    private static void closeBoth(Socket a, Socket b) {
        try {
            a.close();
        } catch (IOException ignored) {
            // closing a socket that failed already
        }
        try {
            b.close();
        } catch (IOException ignored) {
            // as above
        }
    }

    @Override
    public void close() throws IOException {
        listener.close();
    }
}
