package org.castellan.server.dns;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;
import org.castellan.security.mailauth.DnsLookup;
import org.castellan.security.rules.Cidr;
import org.castellan.server.config.Dns;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.xbill.DNS.AAAARecord;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.CNAMERecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.ExtendedFlags;
import org.xbill.DNS.ExtendedResolver;
import org.xbill.DNS.Flags;
import org.xbill.DNS.MXRecord;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.PTRRecord;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Resolver;
import org.xbill.DNS.ResolverConfig;
import org.xbill.DNS.ReverseMap;
import org.xbill.DNS.Section;
import org.xbill.DNS.SimpleResolver;
import org.xbill.DNS.TLSARecord;
import org.xbill.DNS.TXTRecord;
import org.xbill.DNS.TextParseException;
import org.xbill.DNS.Type;
import org.xbill.DNS.dnssec.ValidatingResolver;

/**
 * Mail routing (RFC 5321 §5.1, RFC 7505), TLSA look-ups (RFC 7672 §2.2) and the look-ups of mail
 * authentication, on dnsjava, with DNSSEC validated here (RFC 4035 §5) rather than trusted from
 * the resolver's AD bit.
 *
 * <p>SECURITY: the recursive resolvers are asked, not trusted. With DNSSEC on, an answer is
 * secure only when dnsjava's {@link ValidatingResolver} proves it from the trust anchor (the
 * root's key-signing keys unless configured); a bogus answer is a failure, never an insecure
 * answer. Every answer is treated as hostile: the question is checked, CNAME chains are bounded
 * and loops refused, the hosts and addresses taken are capped, TXT sets are capped in size, and
 * every look-up ends within the configured timeout, so a resolver (or whoever forges its
 * answers) can delay a delivery attempt but never hang or crash it.
 *
 * <p>Every method blocks for at most a few timeouts and returns a value for every failure; none
 * throws for anything the network does.
 */
public final class DnsResolver implements MailRouting, DnsLookup {

    private static final Logger LOG = LoggerFactory.getLogger(DnsResolver.class);

    /** MX hosts tried per domain; more is a misconfiguration, and each costs a look-up (Postfix tries 5 addresses in all). */
    public static final int MAX_MX_HOSTS = 10;
    /** Addresses kept per host and address family: beyond a few, more addresses add time spent on a dead host, not reach. */
    public static final int MAX_ADDRESSES_PER_FAMILY = 4;
    /**
     * CNAMEs followed for one look-up. RFC 5321 §5.1 forbids MX targets that are aliases and RFC
     * 1034 §3.6.2 asks for no chains; real ones are one or two long, longer ones are loops.
     */
    public static final int MAX_CNAME_CHAIN = 8;
    /**
     * Octets of one name's TXT records together: SPF (RFC 7208 §3.4 keeps it within 450), DKIM keys
     * (under 1 KB for RSA-4096) and a busy domain's verification tokens fit many times over; 60 KB
     * answers are amplification or attack.
     */
    public static final int MAX_TXT_OCTETS = 16 * 1024;
    /** DNS flag day 2020: an EDNS buffer that fits unfragmented in any path's MTU; larger answers come over TCP. */
    public static final int EDNS_PAYLOAD = 1232;

    private final Resolver resolver;
    private final boolean dnssec;
    private final Duration timeout;
    private final Random random;

    /**
     * A resolver as {@code config} describes it, with equal MX preferences shuffled by a fresh
     * {@link Random}.
     *
     * @throws IOException if the trust anchor file cannot be read or parsed, or if no resolver is
     *     configured and the system names none
     */
    public static DnsResolver create(Dns config) throws IOException {
        return new DnsResolver(config, new Random());
    }

    /**
     * A resolver as {@code config} describes it; {@code random} shuffles equal MX preferences
     * (RFC 5321 §5.1), so a seeded one makes the order repeatable in tests.
     *
     * @throws IOException if the trust anchor file cannot be read or parsed, or if no resolver is
     *     configured and the system names none
     */
    public DnsResolver(Dns config, Random random) throws IOException {
        this.dnssec = config.dnssec();
        this.timeout = config.timeout();
        this.random = random;
        List<InetSocketAddress> servers = config.resolvers().isEmpty()
                ? ResolverConfig.getCurrentConfig().servers() : config.resolvers();
        if (servers.isEmpty()) {
            throw new IOException("no DNS resolver: /etc/resolv.conf names none; set resolvers in [dns]");
        }
        List<Resolver> heads = new ArrayList<>();
        for (InetSocketAddress server : servers) {
            SimpleResolver head = new SimpleResolver(server);
            head.setTimeout(timeout);
            heads.add(head);
        }
        ExtendedResolver head = new ExtendedResolver(heads);
        head.setTimeout(timeout);
        head.setLoadBalance(false); // the operator's order: the first resolver unless it fails
        if (!dnssec) {
            head.setEDNS(0, EDNS_PAYLOAD, 0, List.of());
            this.resolver = head;
            return;
        }
        ValidatingResolver validating = new ValidatingResolver(head);
        validating.setEDNS(0, EDNS_PAYLOAD, ExtendedFlags.DO, List.of());
        try (InputStream anchors = config.trustAnchor().isPresent()
                ? Files.newInputStream(config.trustAnchor().get())
                : DnsResolver.class.getResourceAsStream("root-anchors.txt")) {
            if (anchors == null) throw new IOException("the built-in root trust anchor is missing from the class path");
            validating.loadTrustAnchors(anchors);
        } catch (IOException e) {
            throw new IOException("trust anchor " + config.trustAnchor().map(Object::toString).orElse("(built in)")
                    + ": " + e.getMessage(), e);
        }
        if (validating.getTrustAnchors().items().isEmpty()) {
            throw new IOException("trust anchor " + config.trustAnchor().map(Object::toString).orElse("(built in)")
                    + " holds no DS or DNSKEY record");
        }
        this.resolver = validating;
    }

    // ---- MailRouting ----

    @Override
    public Destination route(String domain) {
        if (domain.startsWith("[")) {
            return literal(domain);
        }
        Name name = name(domain);
        if (name == null) {
            return new NoSuchDomain("\"" + domain + "\" is not a domain name in A-labels");
        }
        Result mx = lookup(name, Type.MX);
        return switch (mx) {
            case Failure f -> new Temporary("MX of " + domain + ": " + f.reason());
            case NoName n -> new NoSuchDomain(domain + " does not exist");
            case Records r when r.records().isEmpty() -> implicitMx(domain, name, r.secure());
            case Records r -> exchanges(domain, r);
        };
    }

    /** RFC 5321 §5.1: no MX, so the domain itself is the host, if it has addresses. */
    private Destination implicitMx(String domain, Name name, boolean mxSecure) {
        return switch (hostAddresses(name)) {
            case Failure f -> new Temporary("addresses of " + domain + " (no MX): " + f.reason());
            case NoName n -> new NoSuchDomain(domain + " has neither MX nor address records");
            case Records r when r.records().isEmpty() -> new NoSuchDomain(domain + " has neither MX nor address records");
            case Records r -> {
                boolean secure = mxSecure && r.secure();
                yield new Hosts(List.of(new MxHost(text(name), 0, addresses(r), secure)), secure);
            }
        };
    }

    private Destination exchanges(String domain, Records mx) {
        List<MXRecord> records = mx.records().stream().map(MXRecord.class::cast).toList();
        // RFC 7505 §3: a null MX is a single MX whose exchange is the root; one among others
        // (which §3 forbids publishing) names no host, so only the others are used.
        if (records.size() == 1 && records.getFirst().getTarget().equals(Name.root)) {
            return new NullMx();
        }
        List<MXRecord> usable = new ArrayList<>(records.stream().filter(r -> !r.getTarget().equals(Name.root)).toList());
        if (usable.isEmpty()) {
            return new NullMx();
        }
        // RFC 5321 §5.1: ascending preference, equal preferences in random order.
        synchronized (random) {
            Collections.shuffle(usable, random);
        }
        usable.sort(Comparator.comparingInt(MXRecord::getPriority)); // stable: the shuffle survives within a preference
        usable = usable.subList(0, Math.min(usable.size(), MAX_MX_HOSTS));

        List<Result> resolved = resolveAll(usable.stream().map(MXRecord::getTarget).toList());
        List<MxHost> hosts = new ArrayList<>();
        String failure = null;
        for (int i = 0; i < usable.size(); i++) {
            MXRecord exchange = usable.get(i);
            String host = text(exchange.getTarget());
            switch (resolved.get(i)) {
                case Records r when !r.records().isEmpty() ->
                        hosts.add(new MxHost(host, exchange.getPriority(), addresses(r), r.secure()));
                case Failure f -> failure = failure != null ? failure : host + ": " + f.reason();
                default -> LOG.debug("MX host {} of {} has no address", host, domain);
            }
        }
        if (!hosts.isEmpty()) {
            return new Hosts(hosts, mx.secure());
        }
        // RFC 5321 §5.1: MX records none of which is usable are an error; temporary if a look-up may yet succeed.
        return failure != null ? new Temporary("no MX host of " + domain + " resolved: " + failure)
                : new NoSuchDomain("no MX host of " + domain + " has an address");
    }

    /** RFC 5321 §5.1 and §4.1.3: a domain literal names its address, with no DNS look-up. */
    private static Destination literal(String domain) {
        if (!domain.endsWith("]")) {
            return new NoSuchDomain("\"" + domain + "\" is not an address literal");
        }
        String inner = domain.substring(1, domain.length() - 1);
        boolean v6 = inner.regionMatches(true, 0, "IPv6:", 0, 5);
        String address = v6 ? inner.substring(5) : inner;
        if (v6 != address.contains(":") || address.contains("/")) {
            return new NoSuchDomain("\"" + domain + "\" is not an address literal");
        }
        try {
            Cidr.parse(address); // refuses names: a literal is never looked up
            InetAddress ip = InetAddress.getByName(address);
            return new Hosts(List.of(new MxHost(domain, 0, List.of(ip), false)), false);
        } catch (IllegalArgumentException | UnknownHostException e) {
            return new NoSuchDomain("\"" + domain + "\" is not an address literal");
        }
    }

    @Override
    public Tlsa tlsa(String host, int port) {
        if (!dnssec) {
            return new NoTlsa(); // without validation no TLSA record is secure (RFC 7672 §2.2)
        }
        Name name = name("_" + port + "._tcp." + host); // RFC 7672 §2.2, RFC 6698 §3
        if (name == null) {
            return new TlsaFailure("\"" + host + "\" is not a host name in A-labels");
        }
        return switch (lookup(name, Type.TLSA)) {
            case Failure f -> new TlsaFailure("TLSA of " + name + ": " + f.reason());
            case NoName n -> new NoTlsa();
            case Records r when r.records().isEmpty() || !r.secure() -> new NoTlsa();
            case Records r -> new SecureTlsa(r.records().stream().map(TLSARecord.class::cast)
                    .map(t -> new TlsaRecord(t.getCertificateUsage(), t.getSelector(), t.getMatchingType(),
                            t.getCertificateAssociationData()))
                    .toList());
        };
    }

    // ---- DnsLookup ----

    @Override
    public Answer<String> txt(String domain) {
        return answer(lookup(domain, Type.TXT), r -> {
            List<String> values = new ArrayList<>();
            int octets = 0;
            for (Record record : r.records()) {
                StringBuilder joined = new StringBuilder(); // RFC 7208 §3.3: strings joined with nothing between
                for (byte[] string : ((TXTRecord) record).getStringsAsByteArrays()) {
                    octets += string.length;
                    joined.append(new String(string, StandardCharsets.UTF_8));
                }
                values.add(joined.toString());
            }
            return octets > MAX_TXT_OCTETS
                    ? new Failed<>("TXT records of " + domain + " exceed " + MAX_TXT_OCTETS + " octets")
                    : new Found<>(values);
        });
    }

    @Override
    public Answer<InetAddress> addresses(String domain) {
        Name name = name(domain);
        return answer(name == null ? new NoName() : hostAddresses(name), r -> new Found<>(addresses(r)));
    }

    @Override
    public Answer<String> mx(String domain) {
        return answer(lookup(domain, Type.MX), r -> new Found<>(r.records().stream().map(MXRecord.class::cast)
                .sorted(Comparator.comparingInt(MXRecord::getPriority))
                .map(m -> text(m.getTarget())).toList()));
    }

    @Override
    public Answer<String> ptr(InetAddress address) {
        return answer(lookup(ReverseMap.fromAddress(address), Type.PTR), r -> new Found<>(r.records().stream()
                .map(p -> text(((PTRRecord) p).getTarget())).toList()));
    }

    /** A look-up's result as mail authentication sees it: NXDOMAIN and NODATA alike are "none". */
    private static <T> Answer<T> answer(Result result, Function<Records, Answer<T>> found) {
        return switch (result) {
            case Failure f -> new Failed<>(f.reason());
            case NoName n -> new NotFound<>();
            case Records r when r.records().isEmpty() -> new NotFound<>();
            case Records r -> found.apply(r);
        };
    }

    /** A name that cannot be written in DNS has no records. */
    private Result lookup(String domain, int type) {
        Name name = name(domain);
        return name == null ? new NoName() : lookup(name, type);
    }

    // ---- look-ups ----

    /** What one look-up found at the end of its CNAME chain. */
    private sealed interface Result {
    }

    /** NOERROR: the records of the type asked (none for NODATA). */
    private record Records(List<Record> records, boolean secure) implements Result {
    }

    /** NXDOMAIN. */
    private record NoName() implements Result {
    }

    /** No usable answer: timeout, SERVFAIL (DNSSEC bogus included), malformed or mismatched. */
    private record Failure(String reason) implements Result {
    }

    /** AAAA and A of {@code name} together, IPv6 first; a failure of either fails both. */
    private Result hostAddresses(Name name) {
        try (ExecutorService executor = Executors.newVirtualThreadPerTaskExecutor()) {
            Future<Result> v6 = executor.submit(() -> lookup(name, Type.AAAA));
            Result v4 = lookup(name, Type.A);
            return combine(join(v6), v4);
        }
    }

    private static Result combine(Result v6, Result v4) {
        if (v6 instanceof Failure f) return f;
        if (v4 instanceof Failure f) return f;
        if (v6 instanceof Records a && v4 instanceof Records b) {
            List<Record> both = new ArrayList<>(a.records().subList(0, Math.min(a.records().size(), MAX_ADDRESSES_PER_FAMILY)));
            both.addAll(b.records().subList(0, Math.min(b.records().size(), MAX_ADDRESSES_PER_FAMILY)));
            return new Records(both, a.secure() && b.secure());
        }
        return v6 instanceof Records ? v6 : v4; // one name, two answers: NXDOMAIN for one type means for both
    }

    /** The addresses of each name, looked up in parallel. */
    private List<Result> resolveAll(List<Name> names) {
        try (ExecutorService executor = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<Result>> futures = names.stream().map(n -> executor.submit(() -> hostAddresses(n))).toList();
            return futures.stream().map(DnsResolver::join).toList();
        }
    }

    private static Result join(Future<Result> future) {
        try {
            return future.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Failure("interrupted");
        } catch (ExecutionException e) {
            // lookup returns a Failure for everything the network does; anything else is a bug to see
            throw new IllegalStateException("DNS look-up failed unexpectedly", e.getCause());
        }
    }

    /**
     * The records of {@code type} at {@code name}, following CNAMEs (RFC 1034 §3.6.2, leniently for
     * MX targets, which RFC 5321 §5.1 says must not be aliases) within one answer when the resolver
     * chased them, or by asking again for the target when it did not; secure only if every answer
     * used was.
     */
    private Result lookup(Name name, int type) {
        Set<Name> seen = new HashSet<>();
        Name current = name;
        boolean secure = dnssec;
        int cnames = 0;
        while (true) {
            seen.add(current);
            Message response;
            try {
                response = query(current, type);
            } catch (QueryFailure e) {
                LOG.debug("DNS {} {}: {}", current, Type.string(type), e.getMessage());
                return new Failure(e.getMessage());
            }
            secure &= response.getHeader().getFlag(Flags.AD);
            int rcode = response.getRcode();
            if (rcode != Rcode.NOERROR && rcode != Rcode.NXDOMAIN) {
                return new Failure(Rcode.string(rcode) + validationReason(response));
            }
            List<Record> answer = response.getSection(Section.ANSWER);
            Name asked = current;
            while (true) {
                Name owner = current;
                List<Record> found = answer.stream().filter(r -> r.getType() == type && r.getName().equals(owner)).toList();
                if (!found.isEmpty()) {
                    return new Records(found, secure);
                }
                CNAMERecord alias = (CNAMERecord) answer.stream()
                        .filter(r -> r.getType() == Type.CNAME && r.getName().equals(owner)).findFirst().orElse(null);
                if (alias == null) {
                    break;
                }
                if (++cnames > MAX_CNAME_CHAIN) {
                    return new Failure("CNAME chain from " + name + " longer than " + MAX_CNAME_CHAIN);
                }
                if (!seen.add(alias.getTarget())) {
                    return new Failure("CNAME loop at " + alias.getTarget());
                }
                current = alias.getTarget();
            }
            if (current.equals(asked) || rcode == Rcode.NXDOMAIN) {
                // The end of the chain: it has no such records, or (NXDOMAIN) no such name.
                return rcode == Rcode.NXDOMAIN ? new NoName() : new Records(List.of(), secure);
            }
            // The chain went on beyond what this answer holds: ask for its end.
        }
    }

    private static final class QueryFailure extends Exception {
        QueryFailure(String message) {
            super(message, null, false, false);
        }
    }

    private Message query(Name name, int type) throws QueryFailure {
        Record question = Record.newRecord(name, type, DClass.IN);
        CompletableFuture<Message> future = resolver.sendAsync(Message.newQuery(question)).toCompletableFuture();
        Message response;
        try {
            response = future.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            future.cancel(true);
            throw new QueryFailure("no answer within " + timeout.toMillis() + " ms");
        } catch (InterruptedException e) {
            future.cancel(true);
            Thread.currentThread().interrupt();
            throw new QueryFailure("interrupted");
        } catch (ExecutionException e) {
            // dnsjava completes exceptionally for I/O errors, malformed and mismatched messages
            Throwable cause = e.getCause() != null ? e.getCause() : e;
            throw new QueryFailure(cause.getClass().getSimpleName() + ": " + cause.getMessage());
        }
        Record echoed = response.getQuestion();
        if (echoed == null || !echoed.getName().equals(name) || echoed.getType() != type
                || echoed.getDClass() != DClass.IN) {
            throw new QueryFailure("the answer is for another question (" + echoed + ")"); // RFC 5452 §9.1
        }
        return response;
    }

    /** The reason dnsjava's validator gives for a bogus answer, if it gave one. */
    private static String validationReason(Message response) {
        for (Record r : response.getSection(Section.ADDITIONAL)) {
            if (r.getDClass() == ValidatingResolver.VALIDATION_REASON_QCLASS && r instanceof TXTRecord txt) {
                return " (DNSSEC: " + String.join("", txt.getStrings()) + ")";
            }
        }
        return "";
    }

    private static List<InetAddress> addresses(Records records) {
        List<InetAddress> out = new ArrayList<>();
        for (Record r : records.records()) {
            InetAddress address = switch (r) {
                case AAAARecord a -> a.getAddress();
                case ARecord a -> a.getAddress();
                default -> null;
            };
            if (address != null) {
                try {
                    out.add(InetAddress.getByAddress(address.getAddress())); // without the owner name dnsjava attaches
                } catch (UnknownHostException e) {
                    throw new IllegalStateException("an address of 4 or 16 octets", e);
                }
            }
        }
        return out;
    }

    /** An absolute name from ASCII text with or without the final dot; null if it is not one. */
    private static Name name(String text) {
        if (text.isEmpty() || !text.chars().allMatch(c -> c > ' ' && c < 0x7f)) {
            return null; // IDNs arrive as A-labels (RFC 5890 §2.3.2.1); anything else is a caller's mistake
        }
        try {
            return Name.fromString(text, Name.root);
        } catch (TextParseException e) {
            return null;
        }
    }

    /** A name as mail writes it: without the final dot; the root as ".". */
    private static String text(Name name) {
        return name.equals(Name.root) ? "." : name.toString(true);
    }
}
