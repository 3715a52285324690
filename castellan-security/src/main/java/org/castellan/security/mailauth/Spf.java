package org.castellan.security.mailauth;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;

/**
 * The Sender Policy Framework check, RFC 7208's {@code check_host()} (§4), for the HELO identity
 * (§2.3) and the MAIL FROM identity (§2.4).
 *
 * <p>What it trusts: nothing in the records. Every record is parsed whole before it is evaluated
 * (a syntax error anywhere is a permerror, §4.6), and one check makes at most
 * {@link #MAX_DNS_TERMS} DNS-querying terms, {@link #MAX_VOID_LOOKUPS} void look-ups and
 * {@link #MAX_NAMES_PER_TERM} names per {@code mx} or {@code ptr} (§4.6.4), so a hostile zone cannot
 * make a check cost more than a few dozen queries.
 *
 * <p>Failure: DNS failures give {@link Result#TEMPERROR}, never an exception; bad records give
 * {@link Result#PERMERROR}. The {@code exp} modifier's explanation is fetched for a
 * {@link Result#FAIL} and given back; a failure to get it leaves it empty (§6.2).
 */
public final class Spf {

    /** RFC 7208 §4.6.4: terms that query DNS (include, a, mx, ptr, exists, redirect) per check. */
    public static final int MAX_DNS_TERMS = 10;
    /** RFC 7208 §4.6.4: look-ups that give no answer or NXDOMAIN before the check is a permerror. */
    public static final int MAX_VOID_LOOKUPS = 2;
    /** RFC 7208 §4.6.4: the MX names one {@code mx} looks at (more is a permerror), the PTR names one {@code ptr} validates (more are ignored). */
    public static final int MAX_NAMES_PER_TERM = 10;
    /** RFC 1035 §2.3.4 (RFC 7208 §4.3): a domain name's length without the final dot. */
    static final int MAX_DOMAIN = 253;
    /** RFC 1035 §2.3.4: a label's length. */
    static final int MAX_LABEL = 63;

    /** RFC 7208 §2.6. */
    public enum Result {
        NONE, NEUTRAL, PASS, FAIL, SOFTFAIL, TEMPERROR, PERMERROR;

        /** The name used in Authentication-Results (RFC 8601 §2.7.2) and Received-SPF. */
        public String keyword() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** Which identity was checked (RFC 7208 §2.3, §2.4), as named in Authentication-Results (RFC 8601 §2.7.2). */
    public enum Identity { HELO, MAILFROM }

    /**
     * What a check found.
     *
     * @param domain the domain checked: the HELO name, or the MAIL FROM domain (the HELO name for the null sender)
     * @param sender the sender the check used: {@code postmaster@helo} for HELO and the null sender
     * @param explanation the {@code exp} text for a fail, when the domain publishes one
     * @param detail for logs: what matched, or what was wrong
     */
    public record Outcome(Result result, Identity identity, String domain, String sender, Optional<String> explanation,
                          String detail) {
    }

    private final DnsLookup dns;
    private final Clock clock;
    private final String receivingHost;

    /**
     * @param receivingHost this server's name, the {@code r} macro of explanations (RFC 7208 §7.2)
     * @param clock the {@code t} macro of explanations
     */
    public Spf(DnsLookup dns, String receivingHost, Clock clock) {
        this.dns = Objects.requireNonNull(dns, "dns");
        this.receivingHost = Objects.requireNonNull(receivingHost, "receivingHost");
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    /** RFC 7208 §2.3: the HELO identity, with {@code postmaster@helo} as the sender; none for an address literal. */
    public Outcome checkHelo(InetAddress client, String helo) {
        String sender = "postmaster@" + helo;
        return new Check(client, helo, Identity.HELO).run(helo, sender);
    }

    /**
     * RFC 7208 §2.4: the MAIL FROM identity. The null sender ({@code reversePath} empty) is checked as
     * {@code postmaster@helo} (§2.4); a sender without a local-part as {@code postmaster@domain} (§4.3).
     */
    public Outcome checkMailFrom(InetAddress client, String helo, Optional<String> reversePath) {
        if (reversePath.isEmpty()) {
            return new Check(client, helo, Identity.MAILFROM).run(helo, "postmaster@" + helo);
        }
        String path = reversePath.get();
        int at = path.lastIndexOf('@');
        String domain = at < 0 ? path : path.substring(at + 1);
        String local = at <= 0 ? "postmaster" : path.substring(0, at);
        return new Check(client, helo, Identity.MAILFROM).run(domain, local + "@" + domain);
    }

    /** The state of one check: its counters span every include and redirect (RFC 7208 §4.6.4). */
    private final class Check {
        private final InetAddress ip;
        private final String helo;
        private final Identity identity;
        private int dnsTerms;
        private int voidLookups;

        Check(InetAddress client, String helo, Identity identity) {
            this.ip = unmapped(client);
            this.helo = helo;
            this.identity = identity;
        }

        Outcome run(String domain, String sender) {
            String d = withoutDot(domain);
            try {
                Eval e = checkHost(d, sender);
                return new Outcome(e.result, identity, d, sender, e.explanation, e.detail);
            } catch (Abort a) {
                return new Outcome(a.result, identity, d, sender, Optional.empty(), a.getMessage());
            }
        }

        /** RFC 7208 §4: check_host(ip, domain, sender). */
        Eval checkHost(String domain, String sender) {
            if (!validDomain(domain)) return new Eval(Result.NONE, "not a domain name: " + domain); // RFC 7208 §4.3
            List<String> records = new ArrayList<>();
            switch (dns.txt(domain)) {
                case DnsLookup.Failed<String> f -> throw new Abort(Result.TEMPERROR, "TXT " + domain + ": " + f.reason()); // §4.4
                case DnsLookup.NotFound<String> n -> { return new Eval(Result.NONE, "no SPF record at " + domain); }
                case DnsLookup.Found<String> f -> {
                    for (String txt : f.values()) if (isSpfRecord(txt)) records.add(txt);
                }
            }
            if (records.isEmpty()) return new Eval(Result.NONE, "no SPF record at " + domain); // §4.5
            if (records.size() > 1) throw new Abort(Result.PERMERROR, "several SPF records at " + domain); // §4.5
            SpfRecord record = SpfRecord.parse(records.get(0))
                    .orElseThrow(() -> new Abort(Result.PERMERROR, "SPF record of " + domain + " is not valid: " + records.get(0)));
            Macro.Context ctx = context(domain, sender);
            for (SpfRecord.Directive dir : record.directives()) {
                if (matches(dir.mechanism(), ctx)) {
                    Result result = dir.qualifier();
                    Optional<String> exp = result == Result.FAIL ? explanation(record, ctx) : Optional.empty();
                    return new Eval(result, exp, domain + ": matched " + dir.text());
                }
            }
            if (record.redirect().isPresent()) {
                // RFC 7208 §6.1: a redirect to a domain without an SPF record is a permerror, not none.
                countDnsTerm();
                String target = ctx.expandDomain(record.redirect().get());
                Eval e = checkHost(target, sender);
                if (e.result == Result.NONE) throw new Abort(Result.PERMERROR, "redirect to " + target + ", which has no SPF record");
                return e;
            }
            return new Eval(Result.NEUTRAL, domain + ": no mechanism matched"); // §4.7
        }

        private Macro.Context context(String domain, String sender) {
            return new Macro.Context(sender, domain, ip, helo, receivingHost, clock.instant().getEpochSecond(),
                    this::validatedName);
        }

        private boolean matches(SpfRecord.Mechanism m, Macro.Context ctx) {
            return switch (m) {
                case SpfRecord.All a -> true;
                case SpfRecord.Ip4 n -> ip instanceof Inet4Address && inNetwork(ip, n.network(), n.prefix());
                case SpfRecord.Ip6 n -> ip instanceof Inet6Address && inNetwork(ip, n.network(), n.prefix());
                case SpfRecord.Include i -> {
                    countDnsTerm();
                    String target = ctx.expandDomain(i.domain());
                    Eval e = checkHost(target, ctx.sender());
                    // RFC 7208 §5.2's table: only pass matches; none is a permerror.
                    yield switch (e.result) {
                        case PASS -> true;
                        case FAIL, SOFTFAIL, NEUTRAL -> false;
                        case TEMPERROR -> throw new Abort(Result.TEMPERROR, "include:" + target + ": " + e.detail);
                        case PERMERROR, NONE -> throw new Abort(Result.PERMERROR, "include:" + target + ": " + e.detail);
                    };
                }
                case SpfRecord.A a -> {
                    countDnsTerm();
                    String target = a.domain().map(ctx::expandDomain).orElse(ctx.domain());
                    yield anyAddressMatches(target, a.prefix4(), a.prefix6(), true);
                }
                case SpfRecord.Mx mx -> {
                    countDnsTerm();
                    String target = mx.domain().map(ctx::expandDomain).orElse(ctx.domain());
                    yield mxMatches(target, mx.prefix4(), mx.prefix6());
                }
                case SpfRecord.Ptr p -> {
                    countDnsTerm();
                    String target = p.domain().map(ctx::expandDomain).orElse(ctx.domain());
                    yield ptrMatches(target);
                }
                case SpfRecord.Exists e -> {
                    countDnsTerm();
                    String target = ctx.expandDomain(e.domain());
                    // RFC 7208 §5.7: an A query whatever the client's address family.
                    yield addresses(target, true, true).stream().anyMatch(x -> unmapped(x) instanceof Inet4Address);
                }
            };
        }

        private boolean mxMatches(String target, int prefix4, int prefix6) {
            List<String> names = switch (dns.mx(target)) {
                case DnsLookup.Failed<String> f -> throw new Abort(Result.TEMPERROR, "MX " + target + ": " + f.reason());
                case DnsLookup.NotFound<String> n -> {
                    voidLookup(target);
                    yield List.of();
                }
                case DnsLookup.Found<String> f -> f.values();
            };
            if (names.isEmpty()) voidLookup(target);
            if (names.size() > MAX_NAMES_PER_TERM) { // RFC 7208 §4.6.4
                throw new Abort(Result.PERMERROR, "mx:" + target + " has " + names.size() + " MX names, more than " + MAX_NAMES_PER_TERM);
            }
            for (String name : names) {
                if (anyAddressMatches(withoutDot(name), prefix4, prefix6, false)) return true;
            }
            return false;
        }

        /** RFC 7208 §5.5: the names of the client's address that resolve back to it, within the target. */
        private boolean ptrMatches(String target) {
            for (String name : validatedNames()) {
                if (name.equalsIgnoreCase(target) || name.toLowerCase(Locale.ROOT).endsWith("." + target.toLowerCase(Locale.ROOT))) {
                    return true;
                }
            }
            return false;
        }

        /** RFC 7208 §5.5: PTR names (the first 10 only, §4.6.4) whose addresses include the client's; a DNS error skips a name. */
        private List<String> validatedNames() {
            List<String> names = switch (dns.ptr(ip)) {
                case DnsLookup.Found<String> f -> f.values();
                case DnsLookup.NotFound<String> n -> List.of();
                case DnsLookup.Failed<String> f -> List.of(); // §5.5: a DNS error makes ptr not match
            };
            List<String> validated = new ArrayList<>();
            for (String name : names.subList(0, Math.min(names.size(), MAX_NAMES_PER_TERM))) {
                String n = withoutDot(name);
                if (dns.addresses(n) instanceof DnsLookup.Found<InetAddress> f
                        && f.values().stream().map(Spf::unmapped).anyMatch(ip::equals)) {
                    validated.add(n);
                }
            }
            return validated;
        }

        /** RFC 7208 §7.3's {@code p} macro: a validated name, one within the domain preferred, else "unknown". */
        private String validatedName(String domain) {
            List<String> names = validatedNames();
            for (String n : names) {
                if (n.equalsIgnoreCase(domain) || n.toLowerCase(Locale.ROOT).endsWith("." + domain.toLowerCase(Locale.ROOT))) return n;
            }
            return names.isEmpty() ? "unknown" : names.get(0);
        }

        private boolean anyAddressMatches(String target, int prefix4, int prefix6, boolean countVoid) {
            for (InetAddress a : addresses(target, countVoid, false)) {
                InetAddress x = unmapped(a);
                if (x instanceof Inet4Address && ip instanceof Inet4Address && inNetwork(ip, x.getAddress(), prefix4)) return true;
                if (x instanceof Inet6Address && ip instanceof Inet6Address && inNetwork(ip, x.getAddress(), prefix6)) return true;
            }
            return false;
        }

        /**
         * RFC 7208 §5: the A (IPv4 client, or {@code ipv4Only}) or AAAA (IPv6 client) records; none of
         * the family is a void look-up (§4.6.4).
         */
        private List<InetAddress> addresses(String target, boolean countVoid, boolean ipv4Only) {
            if (!validDomain(target)) {
                if (countVoid) voidLookup(target);
                return List.of();
            }
            return switch (dns.addresses(target)) {
                case DnsLookup.Failed<InetAddress> f -> throw new Abort(Result.TEMPERROR, "A/AAAA " + target + ": " + f.reason());
                case DnsLookup.NotFound<InetAddress> n -> {
                    if (countVoid) voidLookup(target);
                    yield List.of();
                }
                case DnsLookup.Found<InetAddress> f -> {
                    boolean v4 = ipv4Only || ip instanceof Inet4Address;
                    boolean family = f.values().stream().anyMatch(x -> unmapped(x) instanceof Inet4Address == v4);
                    if (!family && countVoid) voidLookup(target);
                    yield f.values();
                }
            };
        }

        private void countDnsTerm() {
            if (++dnsTerms > MAX_DNS_TERMS) {
                throw new Abort(Result.PERMERROR, "more than " + MAX_DNS_TERMS + " DNS-querying terms"); // RFC 7208 §4.6.4
            }
        }

        private void voidLookup(String name) {
            if (++voidLookups > MAX_VOID_LOOKUPS) {
                throw new Abort(Result.PERMERROR, "more than " + MAX_VOID_LOOKUPS + " void look-ups (last: " + name + ")"); // §4.6.4
            }
        }

        /** RFC 7208 §6.2: the explanation of a fail; anything wrong with it gives none, never another result. */
        private Optional<String> explanation(SpfRecord record, Macro.Context ctx) {
            if (record.exp().isEmpty()) return Optional.empty();
            try {
                String target = ctx.expandDomain(record.exp().get());
                if (!validDomain(target) || !(dns.txt(target) instanceof DnsLookup.Found<String> f) || f.values().size() != 1) {
                    return Optional.empty();
                }
                return Macro.parse(f.values().get(0), Macro.Use.EXPLANATION).map(ctx::expand);
            } catch (Abort a) {
                return Optional.empty();
            }
        }
    }

    private record Eval(Result result, Optional<String> explanation, String detail) {
        Eval(Result result, String detail) {
            this(result, Optional.empty(), detail);
        }
    }

    /** Ends a check at once with a temperror or permerror, through any depth of include. */
    static final class Abort extends RuntimeException {
        final Result result;

        Abort(Result result, String message) {
            super(message, null, false, false);
            this.result = result;
        }
    }

    /** RFC 7208 §4.5: "v=spf1" followed by a space or the end. */
    static boolean isSpfRecord(String txt) {
        return txt.regionMatches(true, 0, "v=spf1", 0, 6) && (txt.length() == 6 || txt.charAt(6) == ' ');
    }

    /** RFC 7208 §4.3: a multi-label name with labels of 1 to 63 octets, at most 253 in all. */
    static boolean validDomain(String domain) {
        String d = withoutDot(domain);
        // An address literal ("[192.0.2.1]", a HELO's) is no domain name.
        if (d.isEmpty() || d.length() > MAX_DOMAIN || d.indexOf('.') < 0 || d.startsWith("[")) return false;
        for (String label : d.split("\\.", -1)) {
            if (label.isEmpty() || label.length() > MAX_LABEL) return false;
        }
        return true;
    }

    static String withoutDot(String name) {
        return name.endsWith(".") ? name.substring(0, name.length() - 1) : name;
    }

    /** RFC 7208 §5: an IPv4-mapped IPv6 address is the IPv4 address. */
    static InetAddress unmapped(InetAddress a) {
        byte[] b = a.getAddress();
        if (b.length != 16) return a;
        for (int i = 0; i < 10; i++) if (b[i] != 0) return a;
        if (b[10] != (byte) 0xff || b[11] != (byte) 0xff) return a;
        try {
            return InetAddress.getByAddress(new byte[] {b[12], b[13], b[14], b[15]});
        } catch (UnknownHostException e) {
            throw new IllegalStateException(e); // four octets are always an address
        }
    }

    static boolean inNetwork(InetAddress ip, byte[] network, int prefix) {
        byte[] a = ip.getAddress();
        if (a.length != network.length) return false;
        for (int bit = 0; bit < prefix; bit++) {
            int mask = 0x80 >>> (bit % 8);
            if ((a[bit / 8] & mask) != (network[bit / 8] & mask)) return false;
        }
        return true;
    }
}
