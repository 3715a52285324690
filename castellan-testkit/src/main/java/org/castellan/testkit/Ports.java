package org.castellan.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;

/**
 * Ports for servers a test starts as other processes. A port found free here can still be taken
 * before the server binds it (any process's ephemeral socket may land on it), so a fixture that
 * uses one must also start again on another port when its server reports the address in use.
 */
public final class Ports {

    private static final int TRIES = 20;

    private Ports() {
    }

    /** A port free on {@code host} for UDP and TCP both, for a server that listens on both (a DNS server, a KDC). */
    public static int freeForUdpAndTcp(InetAddress host) {
        IOException last = null;
        for (int attempt = 0; attempt < TRIES; attempt++) {
            try (DatagramSocket udp = new DatagramSocket(new InetSocketAddress(host, 0))) {
                int port = udp.getLocalPort();
                try (ServerSocket tcp = new ServerSocket(port, 1, host)) {
                    return port;
                } catch (IOException e) {
                    last = e;
                }
            } catch (IOException e) {
                last = e;
            }
        }
        throw new UncheckedIOException("no port free for UDP and TCP on " + host.getHostAddress() + " in " + TRIES + " tries", last);
    }
}
