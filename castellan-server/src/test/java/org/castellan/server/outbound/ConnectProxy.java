package org.castellan.server.outbound;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ProxySelector;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * An HTTP CONNECT proxy on loopback that stands in for DNS: it tunnels {@code host:443} to the
 * loopback port the test gives for that host. HTTPS clients keep using the real host name for SNI
 * and certificate checks; only the address they reach is the test's.
 */
final class ConnectProxy implements AutoCloseable {

    /** Request lines longer than this are refused; CONNECT headers are short. */
    private static final int MAX_HEADER = 8192;

    private final ServerSocket listener;
    private final Map<String, Integer> ports;
    private final List<String> requested = new CopyOnWriteArrayList<>();

    ConnectProxy(Map<String, Integer> ports) throws IOException {
        this.ports = Map.copyOf(ports);
        this.listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        Thread.ofVirtual().start(this::accept);
    }

    ProxySelector selector() {
        return ProxySelector.of(new InetSocketAddress(InetAddress.getLoopbackAddress(), listener.getLocalPort()));
    }

    /** The {@code host:port} of every CONNECT so far. */
    List<String> requested() {
        return requested;
    }

    private void accept() {
        while (!listener.isClosed()) {
            try {
                Socket client = listener.accept();
                Thread.ofVirtual().start(() -> tunnel(client));
            } catch (IOException e) {
                return; // closed
            }
        }
    }

    private void tunnel(Socket client) {
        try (client) {
            InputStream in = client.getInputStream();
            String header = readHeader(in);
            String target = header.split(" ", 3)[1];
            requested.add(target);
            Integer port = ports.get(target.substring(0, target.lastIndexOf(':')));
            OutputStream out = client.getOutputStream();
            if (port == null) {
                out.write("HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                return;
            }
            try (Socket upstream = new Socket(InetAddress.getLoopbackAddress(), port)) {
                out.write("HTTP/1.1 200 Connection established\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                out.flush();
                Thread back = Thread.ofVirtual().start(() -> copy(upstream, client));
                copy(client, upstream);
                back.join();
            }
        } catch (IOException | InterruptedException e) {
            // the client or the server hung up
        }
    }

    private static void copy(Socket from, Socket to) {
        try {
            from.getInputStream().transferTo(to.getOutputStream());
            to.shutdownOutput();
        } catch (IOException e) {
            // one side closed
        }
    }

    private static String readHeader(InputStream in) throws IOException {
        ByteArrayOutputStream header = new ByteArrayOutputStream();
        int matched = 0;
        byte[] end = {'\r', '\n', '\r', '\n'};
        while (matched < 4 && header.size() < MAX_HEADER) {
            int b = in.read();
            if (b < 0) throw new IOException("closed in the header");
            header.write(b);
            matched = b == end[matched] ? matched + 1 : (b == '\r' ? 1 : 0);
        }
        return header.toString(StandardCharsets.US_ASCII);
    }

    @Override
    public void close() throws IOException {
        listener.close();
    }
}
