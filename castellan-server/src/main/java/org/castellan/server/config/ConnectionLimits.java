package org.castellan.server.config;

import java.time.Duration;
import java.util.Objects;

/**
 * What one listener allows a single client in connections and in slowness: how many live
 * connections one address and one network may hold, how long an SMTP command line may take to
 * arrive, and how fast SMTP message content must come. Together with {@code server.max-connections}
 * these keep a flood of connections, or a client that sends a byte now and then, from holding
 * the file descriptors and sessions every other client needs (Postfix's
 * {@code smtpd_client_connection_count_limit}, {@code smtpd_per_request_deadline} and
 * {@code smtpd_min_data_rate} do the same).
 *
 * <p>The constructor throws {@code IllegalArgumentException} if a number is negative or the
 * deadline is not positive.
 *
 * @param perAddress live connections from one client address (IPv4 /32, IPv6 /64); 0 for no cap
 * @param perNetwork live connections from one network (IPv4 /24, IPv6 /48); 0 for no cap
 * @param commandDeadline how long an SMTP command line may take from its first byte to its end
 * @param minDataRate octets per second that DATA and BDAT content must average once
 *     {@code commandDeadline} has passed since it began; 0 for no floor
 */
public record ConnectionLimits(int perAddress, int perNetwork, Duration commandDeadline, int minDataRate) {

    /**
     * A household or small office behind one NAT runs a few IMAP clients of up to five connections
     * each (Thunderbird's default), and a sending server rarely opens more than a few dozen
     * (Postfix's own limit per client is 50): a hundred refuses nobody real and leaves a single
     * address a hundredth of the default server-wide ceiling.
     */
    public static final int DEFAULT_PER_ADDRESS = 100;
    /**
     * Four addresses' worth: a /24 is often one organisation or one carrier's NAT pool, so it gets
     * more than an address, but an attacker holding the whole block still gets a twenty-fifth of
     * the default ceiling, not all of it.
     */
    public static final int DEFAULT_PER_NETWORK = 400;
    /**
     * RFC 5321 §4.5.3.2: the server timeout, and the client's for MAIL and RCPT, is at least five
     * minutes; a shorter deadline could cut a slow but conforming client off.
     */
    public static final Duration DEFAULT_COMMAND_DEADLINE = Duration.ofMinutes(5);
    /** Postfix's smtpd_min_data_rate: a 56k modem sends fourteen times as fast. */
    public static final int DEFAULT_MIN_DATA_RATE = 500;
    /**
     * A link listener's cap per edge address and network, unless written: an edge opens one link
     * per session it relays (docs/roles.md §2), so it may hold as many as a whole server serves.
     */
    public static final int DEFAULT_LINKS_PER_EDGE = Server.DEFAULT_MAX_CONNECTIONS;
    /** More live connections than this from anyone is no cap at all. */
    public static final int MAX_CONNECTIONS = 1_000_000;
    /** A floor above a fast link's speed would refuse real mail. */
    public static final int MAX_MIN_DATA_RATE = 1_000_000;
    /** Past an hour a command line is not slow but stuck. */
    public static final Duration MAX_COMMAND_DEADLINE = Duration.ofHours(1);

    public static final ConnectionLimits DEFAULTS = new ConnectionLimits(DEFAULT_PER_ADDRESS, DEFAULT_PER_NETWORK,
            DEFAULT_COMMAND_DEADLINE, DEFAULT_MIN_DATA_RATE);

    public ConnectionLimits {
        Objects.requireNonNull(commandDeadline, "commandDeadline");
        if (perAddress < 0) throw new IllegalArgumentException("perAddress must not be negative, not " + perAddress);
        if (perNetwork < 0) throw new IllegalArgumentException("perNetwork must not be negative, not " + perNetwork);
        if (minDataRate < 0) throw new IllegalArgumentException("minDataRate must not be negative, not " + minDataRate);
        if (commandDeadline.isNegative() || commandDeadline.isZero()) {
            throw new IllegalArgumentException("commandDeadline must be positive");
        }
    }

    /** These caps on connections, with other SMTP timing. */
    public static ConnectionLimits caps(int perAddress, int perNetwork) {
        return new ConnectionLimits(perAddress, perNetwork, DEFAULT_COMMAND_DEADLINE, DEFAULT_MIN_DATA_RATE);
    }
}
