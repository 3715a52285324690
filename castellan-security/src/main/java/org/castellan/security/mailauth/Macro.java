package org.castellan.security.mailauth;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.function.UnaryOperator;
import java.util.regex.Pattern;

/**
 * An SPF macro-string (RFC 7208 §7): parsed once, without I/O, then expanded against a check's
 * {@link Context}. A string that is not valid for its use is no macro at all (empty), which the
 * record parser turns into a permerror.
 */
record Macro(String text, List<Part> parts) {

    /** Where a macro-string stands: explanations alone may use c, r and t, and spaces (RFC 7208 §7.2). */
    enum Use { DOMAIN, EXPLANATION }

    sealed interface Part {
    }

    record Literal(String text) implements Part {
    }

    /**
     * {@code %{letter digits r delimiters}} (RFC 7208 §7.1).
     *
     * @param keep how many right-hand parts to keep, 0 for all
     * @param escape an upper-case letter: the value is URL-escaped (§7.3)
     */
    record Expand(char letter, int keep, boolean reverse, String delimiters, boolean escape) implements Part {
    }

    /** RFC 7208 §7.3: a DIGIT transformer of at least 127 must work; three digits hold that, more is no name's part count. */
    private static final int MAX_DIGITS = 3;
    private static final String LETTERS = "slodiphv";
    private static final String EXPLANATION_LETTERS = "crt";
    private static final String DELIMITERS = ".-+,/_=";
    private static final Pattern TOPLABEL = Pattern.compile("[A-Za-z0-9]*[A-Za-z][A-Za-z0-9]*|[A-Za-z0-9]+-[A-Za-z0-9-]*[A-Za-z0-9]");

    /** RFC 7208 §7.1's macro-string (or explain-string for {@link Use#EXPLANATION}); empty when it is not one. */
    static Optional<Macro> parse(String s, Use use) {
        List<Part> parts = new ArrayList<>();
        StringBuilder literal = new StringBuilder();
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c != '%') {
                boolean visible = c >= 0x21 && c <= 0x7e;
                if (!visible && !(c == ' ' && use == Use.EXPLANATION)) return Optional.empty(); // macro-literal, §7.1
                literal.append(c);
                continue;
            }
            if (i + 1 >= s.length()) return Optional.empty();
            char next = s.charAt(++i);
            switch (next) {
                case '%' -> literal.append('%');
                case '_' -> literal.append(' ');
                case '-' -> literal.append("%20");
                case '{' -> {
                    int end = s.indexOf('}', i);
                    if (end < 0) return Optional.empty();
                    Optional<Expand> e = expand(s.substring(i + 1, end), use);
                    if (e.isEmpty()) return Optional.empty();
                    if (!literal.isEmpty()) parts.add(new Literal(literal.toString()));
                    literal.setLength(0);
                    parts.add(e.get());
                    i = end;
                }
                default -> { return Optional.empty(); } // RFC 7208 §7.1: any other % is a syntax error
            }
        }
        if (!literal.isEmpty()) parts.add(new Literal(literal.toString()));
        return Optional.of(new Macro(s, List.copyOf(parts)));
    }

    /**
     * RFC 7208 §7.1's domain-spec: a macro-string ending in a macro-expand or in "." toplabel
     * (optionally a final dot), so that "a:1.2.3.4" is not taken as a name.
     */
    static Optional<Macro> parseDomainSpec(String s) {
        if (s.isEmpty()) return Optional.empty();
        Optional<Macro> m = parse(s, Use.DOMAIN);
        if (m.isEmpty()) return m;
        List<Part> parts = m.get().parts();
        if (parts.get(parts.size() - 1) instanceof Expand) return m;
        // %%, %_ and %- are macro-expands too; they end up in literals, so look at the raw text.
        if (s.endsWith("%%") || s.endsWith("%_") || s.endsWith("%-")) return m;
        String t = s.endsWith(".") ? s.substring(0, s.length() - 1) : s;
        int dot = t.lastIndexOf('.');
        if (dot < 0) return Optional.empty();
        String top = t.substring(dot + 1);
        return TOPLABEL.matcher(top).matches() ? m : Optional.empty();
    }

    private static Optional<Expand> expand(String body, Use use) {
        if (body.isEmpty()) return Optional.empty();
        char letter = body.charAt(0);
        char lower = Character.toLowerCase(letter);
        boolean allowed = LETTERS.indexOf(lower) >= 0 || (use == Use.EXPLANATION && EXPLANATION_LETTERS.indexOf(lower) >= 0);
        if (!allowed || !Character.isLetter(letter)) return Optional.empty();
        int i = 1;
        while (i < body.length() && Character.isDigit(body.charAt(i))) i++;
        int keep = 0;
        if (i > 1) {
            String digits = body.substring(1, i);
            if (digits.length() > MAX_DIGITS) return Optional.empty();
            keep = Integer.parseInt(digits);
            if (keep == 0) return Optional.empty(); // RFC 7208 §7.3: a DIGIT transformer is not zero
        }
        boolean reverse = i < body.length() && (body.charAt(i) == 'r' || body.charAt(i) == 'R');
        if (reverse) i++;
        String delimiters = body.substring(i);
        for (char d : delimiters.toCharArray()) if (DELIMITERS.indexOf(d) < 0) return Optional.empty();
        return Optional.of(new Expand(lower, keep, reverse, delimiters, Character.isUpperCase(letter)));
    }

    /**
     * The values the letters stand for (RFC 7208 §7.2).
     *
     * @param validated the {@code p} macro: a validated name of the client's address for a domain
     */
    record Context(String sender, String domain, InetAddress ip, String helo, String receivingHost, long timestamp,
                   UnaryOperator<String> validated) {

        String expand(Macro m) {
            StringBuilder out = new StringBuilder();
            for (Part p : m.parts()) {
                switch (p) {
                    case Literal l -> out.append(l.text());
                    case Expand e -> out.append(expand(e));
                }
            }
            return out.toString();
        }

        /** RFC 7208 §4.8: an expansion longer than a domain name loses labels on the left until it fits. */
        String expandDomain(Macro m) {
            String d = Spf.withoutDot(expand(m));
            while (d.length() > Spf.MAX_DOMAIN && d.indexOf('.') >= 0) d = d.substring(d.indexOf('.') + 1);
            return d;
        }

        private String expand(Expand e) {
            String value = switch (e.letter()) {
                case 's' -> sender;
                case 'l' -> sender.substring(0, sender.lastIndexOf('@'));
                case 'o' -> sender.substring(sender.lastIndexOf('@') + 1);
                case 'd' -> domain;
                case 'i' -> dotted(ip);
                case 'p' -> validated.apply(domain);
                case 'v' -> ip instanceof Inet4Address ? "in-addr" : "ip6";
                case 'h' -> helo;
                case 'c' -> ip.getHostAddress();
                case 'r' -> receivingHost;
                case 't' -> Long.toString(timestamp);
                default -> throw new IllegalStateException("letter checked by parse: " + e.letter());
            };
            String delimiters = e.delimiters().isEmpty() ? "." : e.delimiters();
            List<String> parts = new ArrayList<>(Arrays.asList(value.split("[" + Pattern.quote(delimiters) + "]", -1)));
            if (e.reverse()) Collections.reverse(parts);
            if (e.keep() > 0 && e.keep() < parts.size()) parts = parts.subList(parts.size() - e.keep(), parts.size());
            String joined = String.join(".", parts);
            return e.escape() ? urlEscape(joined) : joined;
        }
    }

    /** RFC 7208 §7.2's {@code i}: dotted quad, or 32 dot-separated nibbles for IPv6. */
    static String dotted(InetAddress ip) {
        if (ip instanceof Inet4Address) return ip.getHostAddress();
        StringBuilder out = new StringBuilder();
        for (byte b : ip.getAddress()) {
            if (!out.isEmpty()) out.append('.');
            out.append(Character.forDigit((b >> 4) & 0xf, 16)).append('.').append(Character.forDigit(b & 0xf, 16));
        }
        return out.toString();
    }

    /** RFC 7208 §7.3: upper-case letters escape all but RFC 3986's unreserved characters. */
    private static String urlEscape(String s) {
        StringBuilder out = new StringBuilder();
        for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
            char c = (char) (b & 0xff);
            if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || "-._~".indexOf(c) >= 0) {
                out.append(c);
            } else {
                out.append('%').append(String.format("%02X", b & 0xff));
            }
        }
        return out.toString();
    }
}
