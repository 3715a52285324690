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
 * @param reason a short reason for a result other than pass, for the field's comment and logs
 */
public record SignatureCheck(String result, String domain, Optional<String> selector, Optional<String> reason) {

    public SignatureCheck {
        result = Objects.requireNonNull(result, "result").toLowerCase(Locale.ROOT);
        Objects.requireNonNull(domain, "domain");
        Objects.requireNonNull(selector, "selector");
        Objects.requireNonNull(reason, "reason");
    }

    public boolean passed() {
        return result.equals("pass");
    }
}
