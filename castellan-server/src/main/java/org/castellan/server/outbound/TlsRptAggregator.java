package org.castellan.server.outbound;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Counts the outcome of every outbound TLS negotiation per policy (RFC 8460 §4): successes, and
 * failures by their details, until the day's report {@link #drain drains} them. Thread-safe; the
 * engine calls it once per session.
 */
public final class TlsRptAggregator {

    /**
     * RFC 8460 §4.4: what one failure was. Failures with equal details are counted together
     * ({@code failed-session-count}).
     */
    public record FailureDetails(
            TlsRptResultType resultType,
            Optional<String> sendingMtaIp,
            String receivingMxHostname,
            Optional<String> receivingMxHelo,
            Optional<String> receivingIp,
            Optional<String> additionalInformation,
            Optional<String> failureReasonCode) {

        /** The usual case: the type, the MX host and its address. */
        public static FailureDetails of(TlsRptResultType type, String mxHost, String receivingIp) {
            return new FailureDetails(type, Optional.empty(), mxHost, Optional.empty(), Optional.of(receivingIp),
                    Optional.empty(), Optional.empty());
        }
    }

    /** The counts of one policy. */
    public record PolicyResult(TlsRptPolicy policy, long successes, Map<FailureDetails, Long> failures) {
        public PolicyResult {
            failures = Map.copyOf(failures);
        }

        public long failureCount() {
            return failures.values().stream().mapToLong(Long::longValue).sum();
        }
    }

    private static final class Counts {
        long successes;
        final Map<FailureDetails, Long> failures = new LinkedHashMap<>();
    }

    private final Map<TlsRptPolicy, Counts> counts = new LinkedHashMap<>();

    public synchronized void success(TlsRptPolicy policy) {
        counts.computeIfAbsent(policy, p -> new Counts()).successes++;
    }

    public synchronized void failure(TlsRptPolicy policy, FailureDetails details) {
        counts.computeIfAbsent(policy, p -> new Counts()).failures.merge(details, 1L, Long::sum);
    }

    /** What was counted since the last drain, by policy domain, and starts counting afresh. */
    public synchronized Map<String, List<PolicyResult>> drain() {
        Map<String, List<PolicyResult>> byDomain = new HashMap<>();
        counts.forEach((policy, c) -> byDomain.computeIfAbsent(policy.policyDomain(), d -> new ArrayList<>())
                .add(new PolicyResult(policy, c.successes, c.failures)));
        counts.clear();
        return byDomain;
    }
}
