package org.castellan.server.config;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import org.castellan.security.rules.Cidr;

/**
 * The {@code [dns]} table: which resolvers outbound routing and mail authentication ask, and how
 * their answers are validated (docs/outbound.md §3).
 *
 * <p>The constructor throws {@code IllegalArgumentException} for a timeout out of range; the
 * reader checks the ranges of {@link ConfigKeys} first and reports them with the line.
 *
 * @param resolvers recursive resolvers to ask, in order; empty for the system's (/etc/resolv.conf)
 * @param trustAnchor a file of DS or DNSKEY records in zone-file form; empty for the root's
 *     key-signing keys built in
 * @param dnssec whether answers are validated; without it nothing is secure, so DANE never applies
 * @param timeout how long one look-up may take, DNSSEC validation included
 */
public record Dns(List<InetSocketAddress> resolvers, Optional<Path> trustAnchor, boolean dnssec, Duration timeout) {

    /** RFC 1035 §4.2: DNS servers listen on port 53. */
    public static final int DEFAULT_PORT = 53;
    /** dnsjava's own default, and glibc's resolv.conf default; a lost UDP packet is retried within it. */
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(5);
    /** Below this even a nearby resolver validating a cold chain fails spuriously. */
    public static final Duration MIN_TIMEOUT = Duration.ofMillis(100);
    /** Beyond a minute the queue's retry is the better wait. */
    public static final Duration MAX_TIMEOUT = Duration.ofMinutes(1);

    public static final Dns DEFAULTS = new Dns(List.of(), Optional.empty(), true, DEFAULT_TIMEOUT);

    public Dns {
        resolvers = List.copyOf(resolvers);
        Objects.requireNonNull(trustAnchor, "trustAnchor");
        Objects.requireNonNull(timeout, "timeout");
        if (timeout.compareTo(MIN_TIMEOUT) < 0 || timeout.compareTo(MAX_TIMEOUT) > 0) {
            throw new IllegalArgumentException("timeout must be from " + MIN_TIMEOUT + " to " + MAX_TIMEOUT);
        }
    }

    /**
     * A resolver as {@code resolvers} writes it: {@code "192.0.2.53"}, {@code "192.0.2.53:5353"},
     * {@code "2001:db8::53"} or {@code "[2001:db8::53]:5353"}; parsed without any name lookup.
     *
     * @throws IllegalArgumentException with a one-line reason for anything else
     */
    public static InetSocketAddress parseResolver(String text) {
        String host = text;
        int port = DEFAULT_PORT;
        if (text.startsWith("[")) {
            int close = text.indexOf(']');
            if (close < 0) throw new IllegalArgumentException("\"" + text + "\": missing ]");
            host = text.substring(1, close);
            String rest = text.substring(close + 1);
            if (!rest.isEmpty()) {
                if (!rest.startsWith(":")) throw new IllegalArgumentException("\"" + text + "\": expected :port after ]");
                port = parsePort(text, rest.substring(1));
            }
        } else if (text.indexOf(':') >= 0 && text.indexOf(':') == text.lastIndexOf(':')) {
            host = text.substring(0, text.indexOf(':'));
            port = parsePort(text, text.substring(text.indexOf(':') + 1));
        }
        if (host.indexOf('/') >= 0) throw new IllegalArgumentException("\"" + text + "\": an address, not a network");
        Cidr.parse(host); // refuses host names, so reading the configuration never waits on DNS
        try {
            return new InetSocketAddress(InetAddress.getByName(host), port);
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException("\"" + text + "\": not an IP address");
        }
    }

    private static int parsePort(String text, String port) {
        try {
            int value = Integer.parseInt(port);
            if (value >= 1 && value <= Listener.MAX_PORT) return value;
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new IllegalArgumentException("\"" + text + "\": the port must be from 1 to " + Listener.MAX_PORT);
    }
}
