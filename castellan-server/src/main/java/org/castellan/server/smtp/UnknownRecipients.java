package org.castellan.server.smtp;

import java.net.InetAddress;
import java.time.Clock;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import org.castellan.server.config.Smtp;

/**
 * How many unknown recipients each client host has tried on the MX listeners within the window
 * of {@link Smtp#unknownRecipientWindow()}: the memory that makes reconnecting useless to a
 * client guessing addresses (directory harvesting). A host is an IPv4 address or an IPv6 /64,
 * which one machine or household usually holds whole (RFC 4291 §2.5.1).
 *
 * <p>A host's window starts at its first unknown recipient and its count starts afresh once the
 * window has passed. Thread-safe: every event loop shares one instance; each call holds one lock
 * for a map operation. Memory is bounded by {@link #MAX_SOURCES}: the least recently counted
 * host is forgotten first, so a spread-out attack costs the hosts it forgets, never memory.
 */
final class UnknownRecipients {

    /** Hosts remembered at once: a few MiB, more than the busiest MX meets within an hour. */
    static final int MAX_SOURCES = 100_000;
    /** RFC 4291 §2.5.1: the first 64 bits of an IPv6 address name its subnet. */
    private static final int IPV6_PREFIX_BYTES = 8;

    private record Window(Instant start, int count) {}

    private final Smtp limits;
    private final Clock clock;
    private final LinkedHashMap<String, Window> hosts = new LinkedHashMap<>(256, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Window> eldest) {
            return size() > MAX_SOURCES;
        }
    };

    UnknownRecipients(Smtp limits, Clock clock) {
        this.limits = limits;
        this.clock = clock;
    }

    Smtp limits() {
        return limits;
    }

    /** The host {@code address} counts under: the IPv4 address, or the IPv6 /64 as {@code 2001:db8:0:1::/64}. */
    static String host(InetAddress address) {
        byte[] a = address.getAddress();
        if (a.length == 4) return address.getHostAddress();
        if (isMappedIpv4(a)) return (a[12] & 0xff) + "." + (a[13] & 0xff) + "." + (a[14] & 0xff) + "." + (a[15] & 0xff);
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < IPV6_PREFIX_BYTES; i += 2) b.append(Integer.toHexString((a[i] & 0xff) << 8 | (a[i + 1] & 0xff))).append(':');
        return b.append(":/64").toString();
    }

    /** ::ffff:a.b.c.d, as an IPv4 client reaching an IPv6 socket appears. */
    private static boolean isMappedIpv4(byte[] a) {
        for (int i = 0; i < 10; i++) if (a[i] != 0) return false;
        return a[10] == (byte) 0xff && a[11] == (byte) 0xff;
    }

    /** Unknown recipients of {@code host} within its current window. */
    synchronized int count(String host) {
        Window w = current(host);
        return w == null ? 0 : w.count();
    }

    /** Counts one more unknown recipient of {@code host}; returns its count within the window. */
    synchronized int add(String host) {
        Window w = current(host);
        Window next = w == null ? new Window(clock.instant(), 1) : new Window(w.start(), w.count() + 1);
        hosts.put(host, next);
        return next.count();
    }

    /** Whether {@code host} has used up its unknown recipients for the window: its sessions are refused. */
    boolean refused(String host) {
        return count(host) >= limits.unknownRecipientSourceLimit();
    }

    private Window current(String host) {
        Window w = hosts.get(host);
        if (w != null && !clock.instant().isBefore(w.start().plus(limits.unknownRecipientWindow()))) {
            hosts.remove(host);
            return null;
        }
        return w;
    }
}
