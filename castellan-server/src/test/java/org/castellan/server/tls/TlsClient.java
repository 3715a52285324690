package org.castellan.server.tls;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;

/** A JDK TLS client for the implicit-TLS POP3 listeners of these tests. */
final class TlsClient {

    /** A safety net so that a broken server fails the test instead of hanging it; never asserted. */
    private static final int READ_TIMEOUT_MILLIS = 20_000;

    private TlsClient() {}

    /** Connects to 127.0.0.1:{@code port} and completes the handshake (the client's side of it). */
    static SSLSocket open(SSLContext client, int port) throws IOException {
        SSLSocket socket = (SSLSocket) client.getSocketFactory().createSocket("127.0.0.1", port);
        socket.setSoTimeout(READ_TIMEOUT_MILLIS);
        socket.startHandshake();
        return socket;
    }

    static String readLine(SSLSocket socket) throws IOException {
        return new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.US_ASCII)).readLine();
    }

    /** The server's greeting, or null when the server refused the client certificate. */
    static String greeting(SSLContext client, int port) {
        try (SSLSocket socket = open(client, port)) {
            // TLS 1.3: a refused client certificate shows as an alert on the first read.
            return readLine(socket);
        } catch (IOException refused) {
            return null;
        }
    }

    /** Whether the next read finds the end of the stream (or a reset): the server closed the connection. */
    static boolean closedByServer(SSLSocket socket) {
        try {
            return socket.getInputStream().read() == -1;
        } catch (IOException reset) {
            return true;
        }
    }
}
