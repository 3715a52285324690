package org.castellan.server.auth;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import org.castellan.testkit.TestPki;

/**
 * A man in the middle that terminates TLS: it accepts a client's implicit-TLS connection with a
 * certificate the client trusts, opens its own TLS connection to the server and copies the
 * protocol bytes between the two, unchanged. Everything the client says reaches the server, so a
 * login without channel binding passes; but the two TLS connections have different keys, so a
 * channel binding the client computes is not the server's (RFC 5056 §1, RFC 9266 §1).
 */
final class TlsRelay implements AutoCloseable {

    private final ServerSocket listener;
    private final Thread acceptor;

    TlsRelay(TestPki pki, InetSocketAddress server) throws Exception {
        SSLContext front = SSLContext.getInstance("TLS");
        front.init(pki.server().keyManagerFactory().getKeyManagers(), null, null);
        SSLContext back = pki.clientContext();
        listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        acceptor = Thread.ofVirtual().start(() -> {
            while (!listener.isClosed()) {
                try {
                    Socket raw = listener.accept();
                    SSLSocket client = (SSLSocket) front.getSocketFactory().createSocket(raw, null, raw.getPort(), true);
                    client.setUseClientMode(false);
                    SSLSocket upstream = (SSLSocket) back.getSocketFactory().createSocket(server.getAddress(), server.getPort());
                    Thread.ofVirtual().start(() -> copy(client, upstream));
                    Thread.ofVirtual().start(() -> copy(upstream, client));
                } catch (IOException e) {
                    // The listener was closed, or one connection failed: the client sees it closed.
                }
            }
        });
    }

    InetSocketAddress address() {
        return new InetSocketAddress(listener.getInetAddress(), listener.getLocalPort());
    }

    private static void copy(Socket from, Socket to) {
        try (from; to) {
            InputStream in = from.getInputStream();
            OutputStream out = to.getOutputStream();
            byte[] buffer = new byte[8192];
            for (int n; (n = in.read(buffer)) > 0; ) {
                out.write(buffer, 0, n);
                out.flush();
            }
        } catch (IOException closed) {
            // Either side went away: closing both ends the relayed connection.
        }
    }

    @Override
    public void close() throws IOException {
        listener.close();
        acceptor.interrupt();
    }
}
