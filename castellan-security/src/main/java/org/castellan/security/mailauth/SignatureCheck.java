package org.castellan.security.mailauth;

import java.util.Locale;
import java.util.Objects;
import java.util.Optional;

/**
 * The outcome of verifying one DKIM signature, as DMARC (RFC 7489 §3.1.1) and
 * Authentication-Results (RFC 8601 §2.7.1) need it; the verifier produces one per signature.
 *
 * @param result RFC 8601 §2.7.1's dkim result: pass, fail, neutral, policy, temperror, permerror
 * @param domain the signature's d= tag
 * @param selector its s= tag, when the signature was readable enough to have one
 * @param reason a short reason for a result other than pass, or that a pass was under a key in
 *     testing mode, for the field's comment and logs
 * @param testing the key record said {@code t=y}: the domain is testing DKIM
 */
public record SignatureCheck(String result, String domain, Optional<String> selector, Optional<String> reason,
                             boolean testing) {

    public SignatureCheck {
        result = Objects.requireNonNull(result, "result").toLowerCase(Locale.ROOT);
        Objects.requireNonNull(domain, "domain");
        Objects.requireNonNull(selector, "selector");
        Objects.requireNonNull(reason, "reason");
    }

    /** A check under a key that is not in testing mode. */
    public SignatureCheck(String result, String domain, Optional<String> selector, Optional<String> reason) {
        this(result, domain, selector, reason, false);
    }

    public boolean passed() {
        return result.equals("pass");
    }

    /**
     * Whether the signature vouches for its domain, for DMARC's identifier alignment (RFC 7489
     * §3.1.1): a pass, and not under a key in testing mode, whose messages RFC 6376 §3.6.1 says a
     * verifier must treat as unsigned.
     */
    public boolean vouches() {
        return passed() && !testing;
    }
}
