package org.castellan.security.mailauth;

import com.google.common.net.InetAddresses;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A parsed SPF record (RFC 7208 §4.6, §12's ABNF): its directives in order and the two modifiers
 * it defines. Pure; a record with any syntax error is empty, which {@link Spf} reports as a
 * permerror before evaluating anything (§4.6).
 */
record SpfRecord(List<Directive> directives, Optional<Macro> redirect, Optional<Macro> exp) {

    /** One directive; {@code text} is the term as written, for logs. */
    record Directive(Spf.Result qualifier, Mechanism mechanism, String text) {
    }

    sealed interface Mechanism {
    }

    record All() implements Mechanism {
    }

    record Include(Macro domain) implements Mechanism {
    }

    record A(Optional<Macro> domain, int prefix4, int prefix6) implements Mechanism {
    }

    record Mx(Optional<Macro> domain, int prefix4, int prefix6) implements Mechanism {
    }

    record Ptr(Optional<Macro> domain) implements Mechanism {
    }

    record Ip4(byte[] network, int prefix) implements Mechanism {
    }

    record Ip6(byte[] network, int prefix) implements Mechanism {
    }

    record Exists(Macro domain) implements Mechanism {
    }

    /** RFC 7208 §12: name = ALPHA *( ALPHA / DIGIT / "-" / "_" / "." ), then "=". */
    private static final Pattern MODIFIER = Pattern.compile("([A-Za-z][A-Za-z0-9._-]*)=(.*)", Pattern.DOTALL);
    private static final Pattern MECHANISM = Pattern.compile("([A-Za-z0-9]+)(.*)", Pattern.DOTALL);
    /** An optional ":domain-spec", then dual-cidr-length (RFC 7208 §5.3). */
    private static final Pattern DUAL_CIDR = Pattern.compile("(?::(.*?))?(?:/(0|[1-9][0-9]{0,2}))?(?://(0|[1-9][0-9]{0,2}))?",
            Pattern.DOTALL);
    private static final Pattern IP4 = Pattern.compile("(\\d{1,3})\\.(\\d{1,3})\\.(\\d{1,3})\\.(\\d{1,3})");
    private static final int IP4_BITS = 32;
    private static final int IP6_BITS = 128;

    static Optional<SpfRecord> parse(String record) {
        if (!Spf.isSpfRecord(record)) return Optional.empty();
        List<Directive> directives = new ArrayList<>();
        Optional<Macro> redirect = Optional.empty();
        Optional<Macro> exp = Optional.empty();
        // RFC 7208 §12: terms are separated by one or more SP; any other white space is a syntax error.
        for (String term : record.substring(6).split(" ")) {
            if (term.isEmpty()) continue;
            Matcher mod = MODIFIER.matcher(term);
            if (mod.matches()) {
                String name = mod.group(1).toLowerCase(Locale.ROOT);
                String value = mod.group(2);
                switch (name) {
                    case "redirect", "exp" -> {
                        Optional<Macro> spec = Macro.parseDomainSpec(value);
                        // RFC 7208 §6: each at most once.
                        if (spec.isEmpty() || (name.equals("redirect") ? redirect : exp).isPresent()) return Optional.empty();
                        if (name.equals("redirect")) redirect = spec;
                        else exp = spec;
                    }
                    default -> {
                        // RFC 7208 §6: unknown modifiers are ignored, but must still be a macro-string.
                        if (Macro.parse(value, Macro.Use.EXPLANATION).isEmpty() || value.indexOf(' ') >= 0) return Optional.empty();
                    }
                }
                continue;
            }
            Optional<Directive> d = directive(term);
            if (d.isEmpty()) return Optional.empty();
            directives.add(d.get());
        }
        // RFC 7208 §6.1: with an "all" present, redirect is ignored.
        if (directives.stream().anyMatch(d -> d.mechanism() instanceof All)) redirect = Optional.empty();
        return Optional.of(new SpfRecord(List.copyOf(directives), redirect, exp));
    }

    private static Optional<Directive> directive(String term) {
        Spf.Result qualifier = switch (term.charAt(0)) {
            case '+' -> Spf.Result.PASS;
            case '-' -> Spf.Result.FAIL;
            case '~' -> Spf.Result.SOFTFAIL;
            case '?' -> Spf.Result.NEUTRAL;
            default -> null;
        };
        String rest = qualifier == null ? term : term.substring(1);
        if (qualifier == null) qualifier = Spf.Result.PASS; // RFC 7208 §4.6.2: "+" is the default
        Matcher m = MECHANISM.matcher(rest);
        if (!m.matches()) return Optional.empty();
        String args = m.group(2);
        Optional<? extends Mechanism> mechanism = switch (m.group(1).toLowerCase(Locale.ROOT)) {
            case "all" -> args.isEmpty() ? Optional.of(new All()) : Optional.empty();
            case "include" -> required(args).flatMap(Macro::parseDomainSpec).map(Include::new);
            case "exists" -> required(args).flatMap(Macro::parseDomainSpec).map(Exists::new);
            case "ptr" -> args.isEmpty() ? Optional.of(new Ptr(Optional.empty()))
                    : required(args).flatMap(Macro::parseDomainSpec).map(spec -> new Ptr(Optional.of(spec)));
            case "a" -> dualCidr(args).map(c -> new A(c.domain, c.prefix4, c.prefix6));
            case "mx" -> dualCidr(args).map(c -> new Mx(c.domain, c.prefix4, c.prefix6));
            case "ip4" -> required(args).flatMap(SpfRecord::ip4);
            case "ip6" -> required(args).flatMap(SpfRecord::ip6);
            default -> Optional.empty(); // RFC 7208 §5: an unknown mechanism is a permerror
        };
        Spf.Result q = qualifier;
        return mechanism.map(mech -> new Directive(q, mech, term));
    }

    /** ":" then a non-empty argument. */
    private static Optional<String> required(String args) {
        return args.length() > 1 && args.charAt(0) == ':' ? Optional.of(args.substring(1)) : Optional.empty();
    }

    private record DualCidr(Optional<Macro> domain, int prefix4, int prefix6) {
    }

    private static Optional<DualCidr> dualCidr(String args) {
        Matcher m = DUAL_CIDR.matcher(args);
        if (!m.matches()) return Optional.empty();
        Optional<Macro> domain = Optional.empty();
        if (m.group(1) != null) {
            domain = Macro.parseDomainSpec(m.group(1));
            if (domain.isEmpty()) return Optional.empty();
        }
        int p4 = m.group(2) == null ? IP4_BITS : Integer.parseInt(m.group(2));
        int p6 = m.group(3) == null ? IP6_BITS : Integer.parseInt(m.group(3));
        if (p4 > IP4_BITS || p6 > IP6_BITS) return Optional.empty(); // RFC 7208 §5.6
        return Optional.of(new DualCidr(domain, p4, p6));
    }

    /** RFC 7208 §5.6: ip4-network [ip4-cidr-length], a dotted quad without leading zeros. */
    private static Optional<Mechanism> ip4(String arg) {
        int slash = arg.indexOf('/');
        String net = slash < 0 ? arg : arg.substring(0, slash);
        Optional<Integer> prefix = prefix(slash < 0 ? null : arg.substring(slash + 1), IP4_BITS);
        Matcher m = IP4.matcher(net);
        if (prefix.isEmpty() || !m.matches()) return Optional.empty();
        byte[] bytes = new byte[4];
        for (int i = 0; i < 4; i++) {
            String q = m.group(i + 1);
            int v = Integer.parseInt(q);
            if (v > 255 || (q.length() > 1 && q.charAt(0) == '0')) return Optional.empty();
            bytes[i] = (byte) v;
        }
        return Optional.of(new Ip4(bytes, prefix.get()));
    }

    /** RFC 7208 §5.6: ip6-network [ip6-cidr-length], RFC 4291's text forms. */
    private static Optional<Mechanism> ip6(String arg) {
        int slash = arg.indexOf('/');
        String net = slash < 0 ? arg : arg.substring(0, slash);
        Optional<Integer> prefix = prefix(slash < 0 ? null : arg.substring(slash + 1), IP6_BITS);
        // Guava parses literals only, never asks DNS; a form without ":" is no IPv6 network.
        if (prefix.isEmpty() || net.indexOf(':') < 0 || !InetAddresses.isInetAddress(net)) return Optional.empty();
        InetAddress a = InetAddresses.forString(net);
        byte[] bytes = a instanceof Inet6Address ? a.getAddress() : mapped((Inet4Address) a);
        return Optional.of(new Ip6(bytes, prefix.get()));
    }

    /** Guava gives IPv4-mapped forms ("::ffff:1.2.3.4") as IPv4; an ip6 network keeps all 128 bits. */
    private static byte[] mapped(Inet4Address a) {
        byte[] out = new byte[16];
        out[10] = (byte) 0xff;
        out[11] = (byte) 0xff;
        System.arraycopy(a.getAddress(), 0, out, 12, 4);
        return out;
    }

    private static Optional<Integer> prefix(String text, int bits) {
        if (text == null) return Optional.of(bits);
        if (!text.matches("0|[1-9][0-9]{0,2}")) return Optional.empty();
        int p = Integer.parseInt(text);
        return p <= bits ? Optional.of(p) : Optional.empty();
    }
}
