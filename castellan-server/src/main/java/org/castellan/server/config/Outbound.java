package org.castellan.server.config;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * The {@code [outbound]} table and its {@code [[outbound.route]]} entries: how Castellan sends
 * mail to other domains (docs/outbound.md §3, §4). The timeouts are RFC 5321 §4.5.3.2's, by
 * default its values.
 *
 * <p>The constructor throws {@code IllegalArgumentException} for a timeout or retry interval
 * that is not positive, a retry-max below retry-initial, or a count below 1; the reader checks
 * the ranges of {@link ConfigKeys} first and reports them with the line.
 *
 * @param hostname the name in EHLO; empty for {@code server.hostname}
 * @param connectTimeout a TCP connection to one address (not in RFC 5321; Postfix's smtp_connect_timeout)
 * @param greetingTimeout the 220 greeting, and the replies to EHLO, STARTTLS, RSET and QUIT
 * @param mailTimeout the reply to MAIL
 * @param rcptTimeout the reply to each RCPT
 * @param dataTimeout the 354 reply to DATA
 * @param dataBlockTimeout each write of the content, and each BDAT chunk's reply
 * @param dataDoneTimeout the reply after the content's end (the final "." or the last BDAT)
 * @param routes static routes in file order; the first whose domain matches (or {@code *}) wins
 * @param tlsPolicies the operator's TLS policies of MX destinations ({@code [[outbound.tls-policy]]}), at most one per domain
 */
public record Outbound(Optional<String> hostname, Duration connectTimeout, Duration greetingTimeout, Duration mailTimeout,
                       Duration rcptTimeout, Duration dataTimeout, Duration dataBlockTimeout, Duration dataDoneTimeout,
                       Duration retryInitial, Duration retryMax, Duration giveUp, Duration delayWarning,
                       int maxConnectionsPerDestination, int maxMessagesPerConnection, List<Route> routes,
                       List<TlsPolicy> tlsPolicies) {

    /** Postfix's smtp_connect_timeout. */
    public static final Duration DEFAULT_CONNECT_TIMEOUT = Duration.ofSeconds(30);
    /** RFC 5321 §4.5.3.2.1 (initial 220) and §4.5.3.2.2 (MAIL), also used for EHLO and STARTTLS. */
    public static final Duration DEFAULT_GREETING_TIMEOUT = Duration.ofMinutes(5);
    /** RFC 5321 §4.5.3.2.2. */
    public static final Duration DEFAULT_MAIL_TIMEOUT = Duration.ofMinutes(5);
    /** RFC 5321 §4.5.3.2.3. */
    public static final Duration DEFAULT_RCPT_TIMEOUT = Duration.ofMinutes(5);
    /** RFC 5321 §4.5.3.2.4: DATA initiation. */
    public static final Duration DEFAULT_DATA_TIMEOUT = Duration.ofMinutes(2);
    /** RFC 5321 §4.5.3.2.5: data block. */
    public static final Duration DEFAULT_DATA_BLOCK_TIMEOUT = Duration.ofMinutes(3);
    /** RFC 5321 §4.5.3.2.6: DATA termination. */
    public static final Duration DEFAULT_DATA_DONE_TIMEOUT = Duration.ofMinutes(10);
    /** Postfix's minimal_backoff_time is 300s. */
    public static final Duration DEFAULT_RETRY_INITIAL = Duration.ofMinutes(5);
    /** Postfix's maximal_backoff_time is 4000s; a round four hours keeps a long outage's retries few. */
    public static final Duration DEFAULT_RETRY_MAX = Duration.ofHours(4);
    /** Postfix's maximal_queue_lifetime; RFC 5321 §4.5.4.1 asks for at least 4-5 days. */
    public static final Duration DEFAULT_GIVE_UP = Duration.ofDays(5);
    /** Postfix's delay_warning_time when enabled; RFC 5321 §4.5.4.1 suggests a few hours. */
    public static final Duration DEFAULT_DELAY_WARNING = Duration.ofHours(4);
    /**
     * Postfix's initial_destination_concurrency: where Postfix starts before its feedback raises
     * a destination towards 20. Without that feedback, the starting point is the honest ceiling:
     * five sessions stay below the per-client limits receivers commonly set.
     */
    public static final int DEFAULT_CONNECTIONS_PER_DESTINATION = 5;
    /** Enough to amortise a TLS handshake over a burst, few enough that one session does not stay for hours. */
    public static final int DEFAULT_MESSAGES_PER_CONNECTION = 100;
    /** More sessions than this to one destination is an attack on it, not delivery. */
    public static final int MAX_CONNECTIONS_PER_DESTINATION = 1000;
    public static final int MAX_MESSAGES_PER_CONNECTION = 100_000;
    /** Timeouts above an hour keep a dead receiver's attempt, and its lease, beyond reason. */
    public static final Duration MAX_TIMEOUT = Duration.ofHours(1);
    /** A message kept longer than a month has no sender waiting for it any more. */
    public static final Duration MAX_GIVE_UP = Duration.ofDays(30);

    public static final Outbound DEFAULTS = new Outbound(Optional.empty(), DEFAULT_CONNECT_TIMEOUT, DEFAULT_GREETING_TIMEOUT,
            DEFAULT_MAIL_TIMEOUT, DEFAULT_RCPT_TIMEOUT, DEFAULT_DATA_TIMEOUT, DEFAULT_DATA_BLOCK_TIMEOUT,
            DEFAULT_DATA_DONE_TIMEOUT, DEFAULT_RETRY_INITIAL, DEFAULT_RETRY_MAX, DEFAULT_GIVE_UP, DEFAULT_DELAY_WARNING,
            DEFAULT_CONNECTIONS_PER_DESTINATION, DEFAULT_MESSAGES_PER_CONNECTION, List.of());

    public Outbound {
        Objects.requireNonNull(hostname, "hostname");
        for (Duration d : List.of(connectTimeout, greetingTimeout, mailTimeout, rcptTimeout, dataTimeout, dataBlockTimeout,
                dataDoneTimeout, retryInitial, retryMax, giveUp, delayWarning)) {
            if (!d.isPositive()) throw new IllegalArgumentException("outbound timeouts and intervals must be positive");
        }
        if (retryMax.compareTo(retryInitial) < 0) throw new IllegalArgumentException("retry-max must not be below retry-initial");
        if (maxConnectionsPerDestination < 1 || maxMessagesPerConnection < 1) {
            throw new IllegalArgumentException("outbound counts must be at least 1");
        }
        routes = List.copyOf(routes);
        tlsPolicies = List.copyOf(tlsPolicies);
    }

    /** Without per-domain TLS policies. */
    public Outbound(Optional<String> hostname, Duration connectTimeout, Duration greetingTimeout, Duration mailTimeout,
                    Duration rcptTimeout, Duration dataTimeout, Duration dataBlockTimeout, Duration dataDoneTimeout,
                    Duration retryInitial, Duration retryMax, Duration giveUp, Duration delayWarning,
                    int maxConnectionsPerDestination, int maxMessagesPerConnection, List<Route> routes) {
        this(hostname, connectTimeout, greetingTimeout, mailTimeout, rcptTimeout, dataTimeout, dataBlockTimeout,
                dataDoneTimeout, retryInitial, retryMax, giveUp, delayWarning, maxConnectionsPerDestination,
                maxMessagesPerConnection, routes, List.of());
    }

    /** The same settings with other routes. */
    public Outbound withRoutes(List<Route> newRoutes) {
        return new Outbound(hostname, connectTimeout, greetingTimeout, mailTimeout, rcptTimeout, dataTimeout,
                dataBlockTimeout, dataDoneTimeout, retryInitial, retryMax, giveUp, delayWarning,
                maxConnectionsPerDestination, maxMessagesPerConnection, newRoutes, tlsPolicies);
    }

    /** The same settings with other per-domain TLS policies. */
    public Outbound withTlsPolicies(List<TlsPolicy> newPolicies) {
        return new Outbound(hostname, connectTimeout, greetingTimeout, mailTimeout, rcptTimeout, dataTimeout,
                dataBlockTimeout, dataDoneTimeout, retryInitial, retryMax, giveUp, delayWarning,
                maxConnectionsPerDestination, maxMessagesPerConnection, routes, newPolicies);
    }

    /** The operator's TLS policy of {@code domain}'s MX hosts, if {@code [[outbound.tls-policy]]} names it. */
    public Optional<TlsPolicy> tlsPolicy(String domain) {
        return tlsPolicies.stream().filter(p -> p.domain().equalsIgnoreCase(domain)).findFirst();
    }

    /**
     * One {@code [[outbound.route]]}: mail for {@code domain} (or every domain, {@code *}) goes
     * to {@code nextHops}, tried in order, like Postfix's transport maps and relayhost.
     *
     * @param caFile for {@code verify-name}: CA certificates trusted besides the system's
     */
    public record Route(String domain, List<NextHop> nextHops, OutboundTls tls, Optional<Path> caFile) {
        public static final String ANY_DOMAIN = "*";

        public Route {
            Objects.requireNonNull(domain, "domain");
            nextHops = List.copyOf(nextHops);
            if (nextHops.isEmpty()) throw new IllegalArgumentException("a route needs a next hop");
            Objects.requireNonNull(tls, "tls");
            Objects.requireNonNull(caFile, "caFile");
        }

        public boolean matches(String recipientDomain) {
            return domain.equals(ANY_DOMAIN) || domain.equalsIgnoreCase(recipientDomain);
        }
    }

    /**
     * One {@code [[outbound.tls-policy]]}: the TLS the operator asks of {@code domain}'s MX hosts, on top of
     * what the domain publishes (DANE, MTA-STS), like a Postfix smtp_tls_policy_maps entry; the
     * stricter applies (docs/outbound.md §5). Routing stays MX routing.
     *
     * @param tls {@link OutboundTls#REQUIRE}, {@link OutboundTls#VERIFY_NAME} or {@link OutboundTls#DANE_ONLY}
     * @param caFile for {@code verify-name}: CA certificates trusted besides the system's
     */
    public record TlsPolicy(String domain, OutboundTls tls, Optional<Path> caFile) {
        /** The values a policy may have: each asks more than opportunistic TLS. */
        public static final List<OutboundTls> CHOICES = List.of(OutboundTls.REQUIRE, OutboundTls.VERIFY_NAME,
                OutboundTls.DANE_ONLY);

        public TlsPolicy {
            Objects.requireNonNull(domain, "domain");
            Objects.requireNonNull(caFile, "caFile");
            if (!CHOICES.contains(tls)) throw new IllegalArgumentException("a TLS policy is require, verify-name or dane-only");
            if (caFile.isPresent() && tls != OutboundTls.VERIFY_NAME) {
                throw new IllegalArgumentException("ca-file goes with verify-name only");
            }
        }
    }

    /** A host name or IP address and a port. */
    public record NextHop(String host, int port) {
        @Override
        public String toString() {
            return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + port;
        }
    }
}
