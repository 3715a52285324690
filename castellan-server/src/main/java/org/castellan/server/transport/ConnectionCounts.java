package org.castellan.server.transport;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.castellan.server.config.ConnectionLimits;

/**
 * The live connections of the server, counted as a whole and, per listener, by client address and
 * by client network, so that one more beyond a cap can be refused the moment it is accepted. The
 * server-wide ceiling keeps a flood from taking the file descriptors the server needs to accept
 * and serve anyone; the per-address and per-network caps keep one client, or one block of
 * addresses, from taking the ceiling.
 *
 * <p>SECURITY: an address is an IPv4 address or an IPv6 /64, since one host may use every address
 * of its /64 (RFC 4291 §2.5.1 makes a /64 the interface identifier's subnet). A network is an
 * IPv4 /24 or an IPv6 /48: the longest prefixes the Internet's routing table carries, so the least
 * address space that anyone announcing or renting a block holds.
 *
 * <p>Thread-safe: every event loop accepts connections. Counts of addresses with no live
 * connection are dropped, so memory follows the live connections, not the addresses ever seen.
 */
final class ConnectionCounts {

    /** RFC 4291 §2.5.1: the first 64 bits of an IPv6 address name its subnet. */
    static final int IPV6_ADDRESS_BITS = 64;
    /** The longest IPv6 prefix the global routing table accepts. */
    static final int IPV6_NETWORK_BITS = 48;
    /** The longest IPv4 prefix the global routing table accepts. */
    static final int IPV4_NETWORK_BITS = 24;

    /** Which cap refused a connection. */
    enum Cap { SERVER, ADDRESS, NETWORK }

    private final int ceiling;
    private final AtomicInteger total = new AtomicInteger();

    /** @param ceiling live connections of every listener together */
    ConnectionCounts(int ceiling) {
        if (ceiling < 1) throw new IllegalArgumentException("ceiling must be positive, not " + ceiling);
        this.ceiling = ceiling;
    }

    int ceiling() {
        return ceiling;
    }

    /** Counts a new connection; false, counting nothing, when the server holds its ceiling already. */
    boolean enterServer() {
        if (total.incrementAndGet() <= ceiling) return true;
        total.decrementAndGet();
        return false;
    }

    void leaveServer() {
        total.decrementAndGet();
    }

    /** A client address or network in a form cheap to hash: the family and the prefix's bits. */
    record Source(boolean ipv4, long bits) {

        static Source address(InetAddress a) {
            return a instanceof Inet4Address ? new Source(true, ipv4(a)) : new Source(false, ipv6High(a));
        }

        static Source network(InetAddress a) {
            return a instanceof Inet4Address
                    ? new Source(true, ipv4(a) & (-1L << (32 - IPV4_NETWORK_BITS)) & 0xFFFF_FFFFL)
                    : new Source(false, ipv6High(a) & (-1L << (IPV6_ADDRESS_BITS - IPV6_NETWORK_BITS)));
        }

        private static long ipv4(InetAddress a) {
            return ByteBuffer.wrap(a.getAddress()).getInt() & 0xFFFF_FFFFL;
        }

        private static long ipv6High(InetAddress a) {
            return ByteBuffer.wrap(a.getAddress()).getLong();
        }
    }

    /** One listener's counts by address and network, against its {@link ConnectionLimits}. */
    static final class PerListener {

        private final ConnectionLimits limits;
        private final ConcurrentMap<Source, Integer> addresses = new ConcurrentHashMap<>();
        private final ConcurrentMap<Source, Integer> networks = new ConcurrentHashMap<>();

        PerListener(ConnectionLimits limits) {
            this.limits = limits;
        }

        /**
         * Counts a connection from {@code client}: null when it is within both caps (call
         * {@link #leave} with the same address when it closes), otherwise the cap it would exceed,
         * and nothing is counted.
         */
        Cap enter(InetAddress client) {
            Source address = Source.address(client);
            if (!increment(addresses, address, limits.perAddress())) return Cap.ADDRESS;
            if (!increment(networks, Source.network(client), limits.perNetwork())) {
                decrement(addresses, address);
                return Cap.NETWORK;
            }
            return null;
        }

        void leave(InetAddress client) {
            decrement(addresses, Source.address(client));
            decrement(networks, Source.network(client));
        }

        /** Live connections from {@code client}'s address, for the log. */
        int fromAddress(InetAddress client) {
            return addresses.getOrDefault(Source.address(client), 0);
        }

        private static boolean increment(ConcurrentMap<Source, Integer> counts, Source source, int cap) {
            if (cap == 0) return true; // no cap: nothing to count
            boolean[] admitted = {false};
            counts.compute(source, (s, n) -> {
                int live = n == null ? 0 : n;
                if (live >= cap) return n;
                admitted[0] = true;
                return live + 1;
            });
            return admitted[0];
        }

        private static void decrement(ConcurrentMap<Source, Integer> counts, Source source) {
            counts.computeIfPresent(source, (s, n) -> n <= 1 ? null : n - 1);
        }
    }
}
