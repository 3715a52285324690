package org.castellan.security.mailauth;

import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * A DKIM-Signature field read for verification (RFC 6376 §3.5), with the checks of §6.1.1 made.
 * Pure: {@link #parse} returns a signature or the result to report instead.
 */
record DkimSignature(String field, DkimAlgorithm algorithm, String domain, String selector, String identity,
                     List<String> signedFields, DkimCanonicalization headerCanonicalization,
                     DkimCanonicalization bodyCanonicalization, byte[] bodyHash, byte[] signature, OptionalLong bodyLength,
                     Optional<Instant> expires) {

    /**
     * Digits read in l=, t= and x=: more would overflow a long. RFC 6376 §3.5 allows t= and x= 12
     * digits and l= 76; an l= beyond 10^18 octets claims more than any body has anyway.
     */
    private static final int MAX_DIGITS = 18;

    /** A parsed signature, or the result that ends its check early. */
    sealed interface Parsed {
    }

    record Ok(DkimSignature signature) implements Parsed {
    }

    record Early(DkimResult result) implements Parsed {
    }

    static Parsed parse(String field, Instant now) {
        int colon = field.indexOf(':');
        Map<String, String> tags = DkimTags.parse(field.substring(colon + 1)).orElse(null);
        if (tags == null) return early(DkimResult.Status.NEUTRAL, "", "", "", Optional.empty(), "signature syntax");
        String domain = tags.getOrDefault("d", "");
        String selector = tags.getOrDefault("s", "");
        String identity = tags.getOrDefault("i", "@" + domain);
        Optional<DkimAlgorithm> algorithm = Optional.ofNullable(tags.get("a")).flatMap(DkimAlgorithm::fromTag);
        for (String required : List.of("v", "a", "b", "bh", "d", "h", "s")) { // RFC 6376 §6.1.1
            if (!tags.containsKey(required)) {
                return early(DkimResult.Status.NEUTRAL, domain, selector, identity, algorithm, "signature has no " + required + "=");
            }
        }
        if (!tags.get("v").equals("1")) return early(DkimResult.Status.NEUTRAL, domain, selector, identity, algorithm, "signature version");
        if (algorithm.isEmpty()) {
            // RFC 8301 §3.1: rsa-sha1 signatures are not valid, whatever they say.
            return early(DkimResult.Status.PERMERROR, domain, selector, identity, algorithm,
                    "algorithm " + (printable(tags.get("a")) ? tags.get("a") : "(malformed)") + " not accepted");
        }
        if (!validDomain(domain) || !validDomain(selector)) {
            return early(DkimResult.Status.NEUTRAL, domain, selector, identity, algorithm, "signature d= or s= syntax");
        }
        if (!printable(identity)) return early(DkimResult.Status.NEUTRAL, domain, selector, identity, algorithm, "i= syntax");
        int at = identity.lastIndexOf('@');
        String identityDomain = at < 0 ? "" : identity.substring(at + 1);
        if (!identityDomain.equalsIgnoreCase(domain) && !lower(identityDomain).endsWith("." + lower(domain))) {
            return early(DkimResult.Status.PERMERROR, domain, selector, identity, algorithm, "i= not within d="); // RFC 6376 §6.1.1
        }
        List<String> signed = Arrays.stream(tags.get("h").split(":")).map(DkimTags::strip).toList();
        if (signed.stream().noneMatch(n -> n.equalsIgnoreCase("from"))) {
            return early(DkimResult.Status.PERMERROR, domain, selector, identity, algorithm, "From not signed"); // RFC 6376 §5.4
        }
        String[] c = tags.getOrDefault("c", "simple/simple").split("/", -1);
        Optional<DkimCanonicalization> headerCanon = DkimCanonicalization.fromTag(DkimTags.strip(c[0]));
        Optional<DkimCanonicalization> bodyCanon = c.length == 1 ? Optional.of(DkimCanonicalization.SIMPLE)
                : c.length == 2 ? DkimCanonicalization.fromTag(DkimTags.strip(c[1])) : Optional.empty();
        if (headerCanon.isEmpty() || bodyCanon.isEmpty()) {
            return early(DkimResult.Status.NEUTRAL, domain, selector, identity, algorithm, "unknown canonicalization");
        }
        String q = tags.get("q");
        if (q != null && Arrays.stream(q.split(":")).map(DkimTags::strip).noneMatch(m -> m.equalsIgnoreCase("dns/txt"))) {
            return early(DkimResult.Status.NEUTRAL, domain, selector, identity, algorithm, "unknown query method");
        }
        Optional<byte[]> bh = DkimTags.base64(tags.get("bh"));
        Optional<byte[]> b = DkimTags.base64(tags.get("b"));
        if (bh.isEmpty() || b.isEmpty() || b.get().length == 0) {
            return early(DkimResult.Status.NEUTRAL, domain, selector, identity, algorithm, "b= or bh= not base64");
        }
        OptionalLong l = OptionalLong.empty();
        Optional<Instant> expires = Optional.empty();
        OptionalLong t = OptionalLong.empty();
        for (String name : List.of("l", "t", "x")) {
            if (!tags.containsKey(name)) continue;
            String digits = tags.get(name);
            if (digits.isEmpty() || digits.length() > MAX_DIGITS || !digits.chars().allMatch(ch -> ch >= '0' && ch <= '9')) {
                return early(DkimResult.Status.NEUTRAL, domain, selector, identity, algorithm, name + "= is not a number");
            }
            long value = Long.parseLong(digits);
            switch (name) {
                case "l" -> l = OptionalLong.of(value);
                case "t" -> t = OptionalLong.of(value);
                default -> expires = Optional.of(Instant.ofEpochSecond(value));
            }
        }
        if (expires.isPresent() && t.isPresent() && expires.get().getEpochSecond() <= t.getAsLong()) {
            // RFC 6376 §3.5: x= MUST be greater than t=.
            return early(DkimResult.Status.NEUTRAL, domain, selector, identity, algorithm, "x= not after t=");
        }
        if (expires.isPresent() && now.isAfter(expires.get())) {
            return early(DkimResult.Status.NEUTRAL, domain, selector, identity, algorithm, "signature expired");
        }
        return new Ok(new DkimSignature(field, algorithm.get(), domain, selector, identity, signed, headerCanon.get(),
                bodyCanon.get(), bh.get(), b.get(), l, expires));
    }

    /** The result of this signature with {@code status}; l= and the octets after it as the body hasher counted them. */
    DkimResult result(DkimResult.Status status, String reason, long canonicalBodyLength, boolean testing) {
        long unsigned = bodyLength.isPresent() ? Math.max(0, canonicalBodyLength - bodyLength.getAsLong()) : 0;
        String b = java.util.Base64.getEncoder().encodeToString(signature);
        return new DkimResult(status, domain, selector, identity, Optional.of(algorithm), reason, bodyLength, unsigned, testing,
                b.substring(0, Math.min(b.length(), DkimResult.SIGNATURE_PREFIX)));
    }

    /** The DNS name of the key record (RFC 6376 §3.6.2.1). */
    String keyName() {
        return selector + "._domainkey." + domain;
    }

    /**
     * A result before verification. Its d=, s= and i= are reported only when well-formed, so that
     * a forged value can never carry a line break or a ';' into an Authentication-Results field.
     */
    private static Early early(DkimResult.Status status, String domain, String selector, String identity,
                               Optional<DkimAlgorithm> algorithm, String reason) {
        return new Early(new DkimResult(status, validDomain(domain) ? domain : "", validDomain(selector) ? selector : "",
                printable(identity) ? identity : "", algorithm, reason, OptionalLong.empty(), 0, false, ""));
    }

    /** No white space, controls or ';' (RFC 6376 §3.5: i= is a local part and a domain; UTF-8 octets pass). */
    private static boolean printable(String value) {
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (c <= ' ' || c == 0x7f || c == ';') return false;
        }
        return true;
    }

    /** Dot-separated labels of letters, digits, '-' and '_' (selectors and _-prefixed names use it). */
    private static boolean validDomain(String name) {
        if (name.isEmpty() || name.length() > 253) return false;
        for (String label : name.split("\\.", -1)) {
            if (label.isEmpty() || label.length() > 63) return false;
            for (int i = 0; i < label.length(); i++) {
                char ch = label.charAt(i);
                boolean alnum = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
                if (!alnum && ch != '-' && ch != '_') return false;
            }
        }
        return true;
    }

    private static String lower(String s) {
        return s.toLowerCase(Locale.ROOT);
    }
}
