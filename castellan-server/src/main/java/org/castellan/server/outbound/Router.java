package org.castellan.server.outbound;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import org.castellan.server.config.Outbound;
import org.castellan.server.config.OutboundTls;
import org.castellan.server.dns.MailRouting;

/**
 * Where mail for a domain goes (docs/outbound.md §3): the first static route whose domain
 * matches (or {@code *}), else MX by RFC 5321 §5.1 through {@link MailRouting}. Static routes are
 * answered at once; MX routing blocks.
 */
final class Router {

    /** RFC 5321 §5.1: port 25 for MX hosts. */
    static final int SMTP_PORT = 25;

    /** One host to try: its name (for TLS) and its addresses, each tried in order. */
    record Hop(String host, List<InetSocketAddress> addresses, String failure) {
        Hop {
            addresses = List.copyOf(addresses);
        }
    }

    sealed interface Plan {
    }

    /** Try these hosts in order with this TLS policy. */
    record Hosts(List<Hop> hops, OutboundTls tls, Optional<Path> caFile) implements Plan {
        Hosts {
            hops = List.copyOf(hops);
        }
    }

    /** Every recipient fails with {@code reply} (an enhanced status code, then text). */
    record Fail(String reply) implements Plan {
    }

    /** Every recipient is deferred with {@code reply}. */
    record Defer(String reply) implements Plan {
    }

    private final List<Outbound.Route> routes;
    private final Optional<MailRouting> mx;

    Router(List<Outbound.Route> routes, Optional<MailRouting> mx) {
        this.routes = List.copyOf(routes);
        this.mx = mx;
    }

    Optional<Outbound.Route> staticRoute(String domain) {
        return routes.stream().filter(r -> r.matches(domain)).findFirst();
    }

    /**
     * The key that bounds concurrency and groups messages onto one connection: the static route
     * serving the domain, else the domain itself.
     */
    String destination(String domain) {
        return staticRoute(domain).map(r -> "route " + r.domain()).orElse(domain.toLowerCase(Locale.ROOT));
    }

    /** Resolves the domain's hosts; blocks on DNS. */
    Plan plan(String domain) {
        Optional<Outbound.Route> route = staticRoute(domain);
        if (route.isPresent()) {
            List<Hop> hops = new ArrayList<>();
            for (Outbound.NextHop h : route.get().nextHops()) hops.add(resolve(h));
            return new Hosts(hops, route.get().tls(), route.get().caFile());
        }
        if (mx.isEmpty()) return new Defer("4.4.3 No static route for " + domain + " and MX routing is not available");
        return switch (mx.get().route(domain)) {
            // RFC 7505 §4.2: 556 5.1.10 is the reply a null MX calls for; as a DSN status 5.1.10.
            case MailRouting.NullMx n -> new Fail("5.1.10 Domain " + domain + " accepts no mail (null MX, RFC 7505)");
            case MailRouting.NoSuchDomain n -> new Fail("5.1.2 Bad destination system address: " + n.reason());
            case MailRouting.Temporary t -> new Defer("4.4.3 Cannot route " + domain + ": " + t.reason());
            case MailRouting.Hosts h when h.hosts().isEmpty() -> new Defer("4.4.3 Cannot route " + domain + ": no hosts");
            case MailRouting.Hosts h -> new Hosts(h.hosts().stream()
                    .map(m -> new Hop(m.name(), m.addresses().stream().map(a -> new InetSocketAddress(a, SMTP_PORT)).toList(),
                            "4.4.4 " + m.name() + " has no addresses"))
                    .toList(), OutboundTls.OPPORTUNISTIC, Optional.empty());
        };
    }

    private static Hop resolve(Outbound.NextHop h) {
        try {
            List<InetSocketAddress> addresses = new ArrayList<>();
            for (InetAddress a : InetAddress.getAllByName(h.host())) addresses.add(new InetSocketAddress(a, h.port()));
            return new Hop(h.host(), addresses, "4.4.4 " + h + " has no addresses");
        } catch (UnknownHostException e) {
            // RFC 3463 §3.5: X.4.4 unable to route
            return new Hop(h.host(), List.of(), "4.4.4 Cannot resolve next hop " + h + ": " + e.getMessage());
        }
    }
}
