package org.castellan.bench.soak;

import java.net.InetAddress;
import java.net.UnknownHostException;

/**
 * Source addresses for the soak's clients. Linux routes all of 127.0.0.0/8 to the loopback
 * interface, so a client socket bound to 127.B.x.y reaches the server from a host of its own.
 * Each kind of client gets its own second octet B, so that the server's per-network (/24) limits
 * for one kind never touch another, nor the well-behaved clients.
 */
final class Loopback {

    /** Addresses 127.B.x.1 to 127.B.x.250 in each /24 of a block; .0 and .255 are left out. */
    private static final int HOSTS_PER_NETWORK = 250;
    /** Blocks 127.64.0.0 to 127.127.255.255 for addresses that each stand in a /24 of their own. */
    private static final int FIRST_SPREAD_BLOCK = 64;
    private static final int SPREAD_BLOCKS = 64;
    private static final int NETWORKS_PER_BLOCK = 256;

    private Loopback() {}

    /** The {@code n}-th address of block {@code b}: 127.b.(n / 250).(1 + n % 250). */
    static InetAddress address(int block, int n) {
        if (block < 1 || block >= FIRST_SPREAD_BLOCK) throw new IllegalArgumentException("block " + block);
        return of(block, (n / HOSTS_PER_NETWORK) % NETWORKS_PER_BLOCK, 1 + n % HOSTS_PER_NETWORK);
    }

    /**
     * The {@code n}-th of a sequence of addresses in which consecutive ones lie in different /24
     * networks (16,384 networks, then the same networks with the next host number): a botnet, to
     * the server, whose every member is new.
     */
    static InetAddress spread(int n) {
        int networks = SPREAD_BLOCKS * NETWORKS_PER_BLOCK;
        int network = Math.floorMod(n, networks);
        int host = 1 + Math.floorMod(n / networks, HOSTS_PER_NETWORK);
        return of(FIRST_SPREAD_BLOCK + network / NETWORKS_PER_BLOCK, network % NETWORKS_PER_BLOCK, host);
    }

    private static InetAddress of(int b, int c, int d) {
        try {
            return InetAddress.getByAddress(new byte[] {127, (byte) b, (byte) c, (byte) d});
        } catch (UnknownHostException e) {
            throw new IllegalStateException("four bytes are always an address", e);
        }
    }
}
