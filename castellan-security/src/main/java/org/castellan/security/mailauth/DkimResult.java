package org.castellan.security.mailauth;

import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * The result of one DKIM signature, as an Authentication-Results field reports it (RFC 8601 §2.7.1).
 * A message without signatures has no results: that is {@code dkim=none}.
 *
 * @param status what the check found
 * @param domain the signing domain (d=), empty when the signature did not say one readably
 * @param selector the selector (s=), empty likewise
 * @param identity the agent or user identifier (i=, or {@code @} and d= by default), empty likewise
 * @param algorithm the algorithm (a=), when known
 * @param reason what went wrong, for the comment in Authentication-Results and the log; empty on pass
 * @param bodyLength the body length the signature claims (l=), when it has one
 * @param unsignedBodyOctets canonical body octets after the l= count, which the signature does not
 *     cover; a pass with unsigned octets means content may have been appended (RFC 6376 §8.2)
 * @param testing the key record says the domain is testing DKIM (t=y): RFC 6376 §3.6.1 asks that
 *     such a message be treated like an unsigned one whatever the result
 * @param signaturePrefix the first {@link #SIGNATURE_PREFIX} characters of b=, which tell apart two
 *     signatures of one domain in Authentication-Results ({@code header.b}, RFC 6008 §2); empty
 *     when b= was missing or malformed
 */
public record DkimResult(Status status, String domain, String selector, String identity, Optional<DkimAlgorithm> algorithm,
                         String reason, OptionalLong bodyLength, long unsignedBodyOctets, boolean testing,
                         String signaturePrefix) {

    /** RFC 6008 §2 asks for at least 8 characters of b=; 12 make a collision of two signatures of one domain unlikely. */
    public static final int SIGNATURE_PREFIX = 12;

    /** RFC 8601 §2.7.1. */
    public enum Status {
        /** The signature verified. */
        PASS,
        /** The signature was acceptable but the body hash or the signature did not verify. */
        FAIL,
        /** The signature had a syntax error or could not otherwise be processed (expired, too many tags). */
        NEUTRAL,
        /** The key could not be fetched for now (a DNS failure): a later attempt may give a result. */
        TEMPERROR,
        /** An unrecoverable error: no key, a revoked, unusable or too small key, a refused algorithm, From not signed. */
        PERMERROR;

        /** The result keyword: {@code pass}, {@code fail}... */
        public String keyword() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    public DkimResult {
        Objects.requireNonNull(status, "status");
        Objects.requireNonNull(domain, "domain");
        Objects.requireNonNull(selector, "selector");
        Objects.requireNonNull(identity, "identity");
        Objects.requireNonNull(algorithm, "algorithm");
        Objects.requireNonNull(reason, "reason");
        Objects.requireNonNull(bodyLength, "bodyLength");
        Objects.requireNonNull(signaturePrefix, "signaturePrefix");
    }

    public boolean passed() {
        return status == Status.PASS;
    }
}
