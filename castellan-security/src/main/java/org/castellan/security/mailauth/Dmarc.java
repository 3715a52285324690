package org.castellan.security.mailauth;

import com.google.common.net.InternetDomainName;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.random.RandomGenerator;

/**
 * DMARC (RFC 7489): finds the policy of the RFC5322.From domain, checks whether SPF or DKIM
 * passed for an aligned domain, and says which policy to apply.
 *
 * <p>What it trusts: the DNS answers it is given, the SPF result and the list of domains whose
 * DKIM signatures verified. The organizational domain comes from the Public Suffix List bundled
 * with Guava ({@link InternetDomainName#topPrivateDomain()}, RFC 7489 §3.2). Aggregate and
 * failure reports ({@code rua}, {@code ruf}) are parsed but not sent.
 *
 * <p>Failure: a DNS failure gives {@link Result#TEMPERROR}, a record whose tags are malformed
 * {@link Result#PERMERROR}; neither applies a policy. Never throws for what DNS or a message holds.
 */
public final class Dmarc {

    /** RFC 7489 §6.3: pct is a percentage. */
    static final int PERCENT = 100;

    /** RFC 7489 §6.3's p and sp. */
    public enum Policy {
        NONE, QUARANTINE, REJECT;

        public String keyword() {
            return name().toLowerCase(Locale.ROOT);
        }

        /** RFC 7489 §6.6.4: what applies to a failing message not selected by pct. */
        Policy nextLower() {
            return this == REJECT ? QUARANTINE : NONE;
        }
    }

    /** RFC 7489 §3.1: adkim and aspf. */
    public enum Alignment { RELAXED, STRICT }

    /** The results RFC 8601 §2.7 registers for dmarc (RFC 7489 §11.2). */
    public enum Result {
        NONE, PASS, FAIL, TEMPERROR, PERMERROR;

        public String keyword() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /**
     * A DMARC policy record (RFC 7489 §6.3).
     *
     * @param subdomainPolicy sp, for subdomains of the domain that published it; p when absent
     * @param percent pct, 0 to 100
     * @param aggregateReports rua, parsed, not sent
     * @param failureReports ruf, parsed, not sent
     */
    public record PolicyRecord(Policy policy, Policy subdomainPolicy, Alignment dkim, Alignment spf, int percent,
                               List<String> aggregateReports, List<String> failureReports) {
        public PolicyRecord {
            aggregateReports = List.copyOf(aggregateReports);
            failureReports = List.copyOf(failureReports);
        }
    }

    /** What parsing a TXT record gives: a record, nothing DMARC (ignored), or a DMARC record with bad tags. */
    sealed interface Parsed {
        record Valid(PolicyRecord record) implements Parsed {}

        record NotDmarc() implements Parsed {}

        record Invalid(String problem) implements Parsed {}
    }

    /**
     * The verdict on one message.
     *
     * @param fromDomain the RFC5322.From domain evaluated (the first failing one of several)
     * @param requested the policy the domain asks for (p, or sp for a subdomain); empty without a record
     * @param apply what to do: {@link Policy#NONE} unless the result is fail; after pct sampling
     * @param detail for logs and the Authentication-Results comment
     */
    public record Verdict(Result result, Optional<String> fromDomain, Optional<Policy> requested, Policy apply,
                          boolean spfAligned, boolean dkimAligned, String detail) {
    }

    private final DnsLookup dns;
    private final RandomGenerator random;

    /** @param random draws pct samples (RFC 7489 §6.6.4); tests give a fixed one */
    public Dmarc(DnsLookup dns, RandomGenerator random) {
        this.dns = Objects.requireNonNull(dns, "dns");
        this.random = Objects.requireNonNull(random, "random");
    }

    /**
     * Evaluates a message.
     *
     * @param fromDomains the domains of the RFC5322.From mailboxes; RFC 7489 §6.6.1: with several,
     *     each is evaluated and the strictest policy among those that fail applies; with none there
     *     is nothing to evaluate (result none)
     * @param spf the SPF result of the MAIL FROM identity, {@code spfDomain} the domain it checked
     * @param dkimPassDomains the d= of every DKIM signature that verified under a key not in testing
     *     mode (RFC 6376 §3.6.1: the messages of a domain testing DKIM count as unsigned)
     */
    public Verdict evaluate(Collection<String> fromDomains, Spf.Result spf, String spfDomain, List<String> dkimPassDomains) {
        Set<String> domains = new LinkedHashSet<>();
        for (String d : fromDomains) domains.add(Spf.withoutDot(d.toLowerCase(Locale.ROOT)));
        Verdict worst = null;
        for (String domain : domains) {
            Verdict v = evaluate(domain, spf, spfDomain, dkimPassDomains);
            if (worst == null || rank(v) > rank(worst)) worst = v;
        }
        return worst != null ? worst
                : new Verdict(Result.NONE, Optional.empty(), Optional.empty(), Policy.NONE, false, false, "no From domain");
    }

    /** Fail with the strictest policy first, then temperror, permerror, pass, none. */
    private static int rank(Verdict v) {
        return switch (v.result()) {
            case FAIL -> 10 + v.apply().ordinal();
            case TEMPERROR -> 4;
            case PERMERROR -> 3;
            case PASS -> 2;
            case NONE -> 1;
        };
    }

    private Verdict evaluate(String from, Spf.Result spf, String spfDomain, List<String> dkimPassDomains) {
        Optional<String> fromDomain = Optional.of(from);
        if (!Spf.validDomain(from)) { // a domain literal or a single label: no policy can be published for it
            return new Verdict(Result.NONE, fromDomain, Optional.empty(), Policy.NONE, false, false, "not a domain name");
        }
        // RFC 7489 §6.6.3: the From domain's record, else the organizational domain's.
        String organizational = organizationalDomain(from);
        Discovery found = discover(from);
        boolean atOrganizational = false;
        if (found instanceof Discovery.Absent && !organizational.equals(from)) {
            found = discover(organizational);
            atOrganizational = true;
        }
        PolicyRecord record;
        switch (found) {
            case Discovery.Failed f -> {
                return new Verdict(Result.TEMPERROR, fromDomain, Optional.empty(), Policy.NONE, false, false, f.reason());
            }
            case Discovery.Absent a -> {
                return new Verdict(Result.NONE, fromDomain, Optional.empty(), Policy.NONE, false, false, "no DMARC record");
            }
            case Discovery.Bad b -> {
                return new Verdict(Result.PERMERROR, fromDomain, Optional.empty(), Policy.NONE, false, false, b.problem());
            }
            case Discovery.Found f -> record = f.record();
        }
        // RFC 7489 §6.3: sp applies to subdomains of the domain that published it.
        Policy requested = atOrganizational ? record.subdomainPolicy() : record.policy();
        boolean spfAligned = spf == Spf.Result.PASS && aligned(spfDomain, from, record.spf()); // §3.1.2
        boolean dkimAligned = dkimPassDomains.stream().anyMatch(d -> aligned(d, from, record.dkim())); // §3.1.1
        if (spfAligned || dkimAligned) {
            return new Verdict(Result.PASS, fromDomain, Optional.of(requested), Policy.NONE, spfAligned, dkimAligned,
                    spfAligned ? "SPF aligned" : "DKIM aligned");
        }
        if (spf == Spf.Result.TEMPERROR) {
            // SPF could not be evaluated: it might have passed aligned, so failing the message would be a guess.
            return new Verdict(Result.TEMPERROR, fromDomain, Optional.of(requested), Policy.NONE, false, false,
                    "SPF temperror and no aligned DKIM pass");
        }
        // RFC 7489 §6.6.4: a message outside the pct sample gets the next-lower policy.
        boolean sampled = record.percent() >= PERCENT || random.nextInt(PERCENT) < record.percent();
        Policy apply = sampled ? requested : requested.nextLower();
        return new Verdict(Result.FAIL, fromDomain, Optional.of(requested), apply, false, false,
                "neither SPF nor DKIM aligned with " + from + (sampled ? "" : " (not in the pct=" + record.percent() + " sample)"));
    }

    private sealed interface Discovery {
        record Found(PolicyRecord record) implements Discovery {}

        record Absent() implements Discovery {}

        record Bad(String problem) implements Discovery {}

        record Failed(String reason) implements Discovery {}
    }

    /** RFC 7489 §6.6.3 steps 1-2 and 5-6 at one name. */
    private Discovery discover(String domain) {
        String name = "_dmarc." + domain;
        List<Parsed> dmarc = new ArrayList<>();
        switch (dns.txt(name)) {
            case DnsLookup.Failed<String> f -> { return new Discovery.Failed("TXT " + name + ": " + f.reason()); }
            case DnsLookup.NotFound<String> n -> { return new Discovery.Absent(); }
            case DnsLookup.Found<String> f -> {
                for (String txt : f.values()) {
                    Parsed p = parse(txt);
                    if (!(p instanceof Parsed.NotDmarc)) dmarc.add(p);
                }
            }
        }
        // §6.6.3: several records, or none, and DMARC is not applied.
        if (dmarc.size() != 1) return new Discovery.Absent();
        return switch (dmarc.get(0)) {
            case Parsed.Valid v -> new Discovery.Found(v.record());
            case Parsed.Invalid i -> new Discovery.Bad(name + ": " + i.problem());
            case Parsed.NotDmarc n -> new Discovery.Absent();
        };
    }

    /** RFC 7489 §6.4: a tag-value list (RFC 6376 §3.2) whose first tag is v=DMARC1. */
    static Parsed parse(String txt) {
        String[] tags = txt.split(";", -1);
        String first = tags[0].strip();
        int eq = first.indexOf('=');
        if (eq < 0 || !first.substring(0, eq).strip().equals("v") || !first.substring(eq + 1).strip().equals("DMARC1")) {
            return new Parsed.NotDmarc();
        }
        String p = null;
        String sp = null;
        Alignment adkim = Alignment.RELAXED;
        Alignment aspf = Alignment.RELAXED;
        int pct = PERCENT;
        List<String> rua = List.of();
        List<String> ruf = List.of();
        Set<String> seen = new LinkedHashSet<>();
        for (int i = 1; i < tags.length; i++) {
            String tag = tags[i].strip();
            if (tag.isEmpty()) continue; // a trailing ";" is allowed
            int at = tag.indexOf('=');
            if (at <= 0) return new Parsed.Invalid("not a tag=value: " + tag);
            String name = tag.substring(0, at).strip();
            String value = tag.substring(at + 1).strip();
            String lower = value.toLowerCase(Locale.ROOT); // ABNF literals are case-insensitive (RFC 5234 §2.3)
            if (!seen.add(name)) return new Parsed.Invalid("tag " + name + " appears twice"); // RFC 6376 §3.2
            switch (name) {
                case "p" -> p = lower;
                case "sp" -> sp = lower;
                case "adkim", "aspf" -> {
                    Alignment a = switch (lower) {
                        case "r" -> Alignment.RELAXED;
                        case "s" -> Alignment.STRICT;
                        default -> null;
                    };
                    if (a == null) return new Parsed.Invalid(name + "=" + value + " is not r or s");
                    if (name.equals("adkim")) adkim = a;
                    else aspf = a;
                }
                case "pct" -> {
                    if (!value.matches("[0-9]{1,3}") || Integer.parseInt(value) > PERCENT) {
                        return new Parsed.Invalid("pct=" + value + " is not 0 to 100");
                    }
                    pct = Integer.parseInt(value);
                }
                case "rua" -> rua = uris(value);
                case "ruf" -> ruf = uris(value);
                default -> { } // RFC 7489 §6.3: unknown tags (fo, rf, ri among those not acted on) are ignored
            }
        }
        Optional<Policy> policy = policy(p);
        Optional<Policy> subdomain = sp == null ? policy : policy(sp);
        if (policy.isEmpty() || subdomain.isEmpty()) {
            // RFC 7489 §6.6.3 step 6: without a valid p (or with a bad sp), a record with a valid rua
            // counts as p=none; otherwise DMARC is not applied.
            if (rua.stream().anyMatch(u -> u.regionMatches(true, 0, "mailto:", 0, 7))) {
                return new Parsed.Valid(new PolicyRecord(Policy.NONE, Policy.NONE, adkim, aspf, pct, rua, ruf));
            }
            return new Parsed.NotDmarc();
        }
        return new Parsed.Valid(new PolicyRecord(policy.get(), subdomain.get(), adkim, aspf, pct, rua, ruf));
    }

    private static Optional<Policy> policy(String value) {
        if (value == null) return Optional.empty();
        return switch (value) {
            case "none" -> Optional.of(Policy.NONE);
            case "quarantine" -> Optional.of(Policy.QUARANTINE);
            case "reject" -> Optional.of(Policy.REJECT);
            default -> Optional.empty();
        };
    }

    /** RFC 7489 §6.4's dmarc-uri list: comma-separated, each possibly with a "!size" suffix. */
    private static List<String> uris(String value) {
        List<String> out = new ArrayList<>();
        for (String u : value.split(",")) if (!u.isBlank()) out.add(u.strip());
        return out;
    }

    /** RFC 7489 §3.1: strict alignment wants the same name, relaxed the same organizational domain. */
    static boolean aligned(String identifier, String from, Alignment mode) {
        String a = Spf.withoutDot(identifier.toLowerCase(Locale.ROOT));
        String b = Spf.withoutDot(from.toLowerCase(Locale.ROOT));
        return mode == Alignment.STRICT ? a.equals(b) : organizationalDomain(a).equals(organizationalDomain(b));
    }

    /**
     * RFC 7489 §3.2: the public suffix plus one label. A name under no listed suffix takes the
     * list's default rule ("*": its last label is the suffix); a name that is not a valid domain
     * name is its own organizational domain.
     */
    static String organizationalDomain(String domain) {
        String d = Spf.withoutDot(domain.toLowerCase(Locale.ROOT));
        InternetDomainName name;
        try {
            name = InternetDomainName.from(d);
        } catch (IllegalArgumentException e) {
            return d;
        }
        if (name.isUnderPublicSuffix()) return name.topPrivateDomain().toString();
        if (name.isPublicSuffix()) return d;
        List<String> labels = name.parts();
        return labels.size() <= 2 ? d : String.join(".", labels.subList(labels.size() - 2, labels.size()));
    }
}
