package org.castellan.server.outbound;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * An MTA-STS policy (RFC 8461 §3.2): its mode, the MX host patterns it allows and how long a sender
 * may keep it. {@link #parse} is pure and never throws for bad input: it returns
 * {@link Invalid} with the reason, and a sender treats an invalid policy as none (RFC 8461 §3.3).
 *
 * @param mx the {@code mx} patterns in the order given, lower case: host names or {@code *.} wildcards
 */
public record MtaStsPolicy(Mode mode, List<String> mx, Duration maxAge) {

    /** RFC 8461 §3.2: {@code max_age} is at most 31557600 seconds (about a year). */
    public static final long MAX_AGE_LIMIT = 31_557_600;
    /** RFC 8461 §3.2: {@code sts-policy-max-age-value = 1*10(DIGIT)}. */
    private static final Pattern MAX_AGE = Pattern.compile("[0-9]{1,10}");
    /** RFC 8461 §3.2: an MX pattern is a domain, optionally behind a {@code *.} wildcard label. */
    private static final Pattern MX_PATTERN =
            Pattern.compile("(\\*\\.)?([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\\.)*[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\\.?");
    /** RFC 8461 §3.2: {@code sts-policy-ext-name = (ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-" / ".")}. */
    private static final Pattern EXTENSION_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,31}");

    public MtaStsPolicy {
        mx = List.copyOf(mx);
    }

    /** RFC 8461 §5: how a sender applies the policy. */
    public enum Mode {
        /** Deliver only to listed MX hosts over TLS with a valid certificate. */
        ENFORCE("enforce"),
        /** Deliver as without a policy, but report failures (TLS-RPT). */
        TESTING("testing"),
        /** The domain has withdrawn its policy. */
        NONE("none");

        private final String text;

        Mode(String text) {
            this.text = text;
        }

        public String text() {
            return text;
        }
    }

    /** What parsing a policy body gives. */
    public sealed interface Parsed {
    }

    public record Valid(MtaStsPolicy policy) implements Parsed {
    }

    public record Invalid(String reason) implements Parsed {
    }

    /**
     * RFC 8461 §4.1: whether {@code host} is an MX host this policy allows: equal to a pattern
     * (case-insensitive), or matching a {@code *.} pattern whose wildcard stands for exactly the
     * leftmost label ({@code *.example.com} allows {@code mail.example.com}, neither
     * {@code example.com} nor {@code a.mail.example.com}).
     */
    public boolean mxAllowed(String host) {
        String h = normalize(host);
        for (String pattern : mx) {
            if (pattern.startsWith("*.")) {
                int dot = h.indexOf('.');
                if (dot > 0 && h.substring(dot + 1).equals(pattern.substring(2))) return true;
            } else if (pattern.equals(h)) {
                return true;
            }
        }
        return false;
    }

    /**
     * Parses a policy body (RFC 8461 §3.2): {@code key: value} lines separated by CRLF or LF.
     * Unknown keys are ignored; of a key other than {@code mx} given twice, the first counts.
     */
    public static Parsed parse(String body) {
        String version = null;
        String mode = null;
        String maxAge = null;
        List<String> mx = new ArrayList<>();
        for (String raw : body.split("\r?\n", -1)) {
            String line = raw.strip();
            if (line.isEmpty()) continue;
            int colon = line.indexOf(':');
            if (colon <= 0) return new Invalid("not a key: value line: " + abbreviate(line));
            String key = line.substring(0, colon);
            String value = line.substring(colon + 1).strip(); // field-delim = ":" *WSP
            switch (key) {
                case "version" -> version = version == null ? value : version;
                case "mode" -> mode = mode == null ? value : mode;
                case "max_age" -> maxAge = maxAge == null ? value : maxAge;
                case "mx" -> {
                    if (!MX_PATTERN.matcher(value).matches()) return new Invalid("not an MX pattern: " + abbreviate(value));
                    mx.add(normalize(value));
                }
                default -> {
                    if (!EXTENSION_NAME.matcher(key).matches()) return new Invalid("not a key: " + abbreviate(key));
                }
            }
        }
        if (!"STSv1".equals(version)) return new Invalid("version is not STSv1");
        Mode m = null;
        for (Mode candidate : Mode.values()) if (candidate.text.equals(mode)) m = candidate;
        if (m == null) return new Invalid("mode is not enforce, testing or none");
        if (maxAge == null || !MAX_AGE.matcher(maxAge).matches()) return new Invalid("max_age is not a number of seconds");
        long seconds = Long.parseLong(maxAge);
        if (seconds > MAX_AGE_LIMIT) return new Invalid("max_age is over " + MAX_AGE_LIMIT);
        if (m != Mode.NONE && mx.isEmpty()) return new Invalid("no mx"); // RFC 8461 §3.2: mx is required but for mode none
        return new Valid(new MtaStsPolicy(m, mx, Duration.ofSeconds(seconds)));
    }

    private static String normalize(String name) {
        String n = name.toLowerCase(Locale.ROOT);
        return n.endsWith(".") ? n.substring(0, n.length() - 1) : n;
    }

    /** Operator-facing text quotes at most this much of a policy the domain publishes. */
    private static final int QUOTE_LIMIT = 64;

    private static String abbreviate(String s) {
        return s.length() > QUOTE_LIMIT ? s.substring(0, QUOTE_LIMIT) + "…" : s;
    }
}
