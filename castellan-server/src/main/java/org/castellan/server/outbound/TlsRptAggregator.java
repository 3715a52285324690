package org.castellan.server.outbound;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Clock;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SortedMap;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;
import org.castellan.store.StoreException;
import org.castellan.store.queue.OutboundQueue;
import org.castellan.store.queue.TlsSessionCount;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Counts the outcome of every outbound TLS negotiation per UTC day and policy (RFC 8460 §4):
 * successes, and failures by their details, until that day's report {@link #drain drains} them.
 * The counts live in the queue's store ({@link OutboundQueue#countTlsSession}), each session's
 * committed as it is counted, so a restart or a crash loses only the sessions not yet counted.
 * Thread-safe; the engine calls it once per session.
 *
 * <p>Failure: a count the store cannot take is logged and lost; the delivery it describes goes on.
 */
public final class TlsRptAggregator {

    private static final Logger LOG = LoggerFactory.getLogger(TlsRptAggregator.class);
    private static final ObjectMapper JSON = new ObjectMapper();

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

    private final OutboundQueue store;
    private final Clock clock;

    /** @param clock the day a session is counted in (UTC) */
    public TlsRptAggregator(OutboundQueue store, Clock clock) {
        this.store = store;
        this.clock = clock;
    }

    public void success(TlsRptPolicy policy) {
        count(policy, "");
    }

    public void failure(TlsRptPolicy policy, FailureDetails details) {
        count(policy, encode(details));
    }

    private void count(TlsRptPolicy policy, String result) {
        try {
            store.countTlsSession(today(), policy.policyDomain(), encode(policy), result);
        } catch (StoreException e) {
            LOG.warn("tlsrpt {}: a session could not be counted: {}", policy.policyDomain(), e.getMessage());
        }
    }

    /** The UTC day now, the day a session counted now belongs to (RFC 8460 §4.1). */
    private LocalDate today() {
        return LocalDate.ofInstant(clock.instant(), ZoneOffset.UTC);
    }

    /** The days before {@code day} that hold counts, oldest first, each with its policy domains: the reports due. */
    public SortedMap<LocalDate, SortedSet<String>> dueBefore(LocalDate day) {
        SortedMap<LocalDate, SortedSet<String>> due = new TreeMap<>();
        for (TlsSessionCount c : store.tlsSessions()) {
            if (c.day().isBefore(day)) due.computeIfAbsent(c.day(), d -> new TreeSet<>()).add(c.policyDomain());
        }
        return due;
    }

    /**
     * Removes the counts of one policy domain's day and returns them per policy: what that day's
     * report holds. Durable when it returns; a second drain of the same day and domain is empty.
     */
    public List<PolicyResult> drain(LocalDate day, String policyDomain) {
        return results(store.drainTlsSessions(day, policyDomain)).getOrDefault(policyDomain, List.of());
    }

    /** What is counted and not yet drained, by policy domain, every day together (the operator's view). */
    public Map<String, List<PolicyResult>> pending() {
        return results(store.tlsSessions());
    }

    private static Map<String, List<PolicyResult>> results(List<TlsSessionCount> counts) {
        Map<TlsRptPolicy, long[]> successes = new LinkedHashMap<>();
        Map<TlsRptPolicy, Map<FailureDetails, Long>> failures = new LinkedHashMap<>();
        for (TlsSessionCount c : counts) {
            TlsRptPolicy policy = policy(c.policyDomain(), c.policy());
            successes.computeIfAbsent(policy, p -> new long[1]);
            Map<FailureDetails, Long> f = failures.computeIfAbsent(policy, p -> new LinkedHashMap<>());
            if (c.result().isEmpty()) successes.get(policy)[0] += c.sessions();
            else f.merge(details(c.result()), c.sessions(), Long::sum);
        }
        Map<String, List<PolicyResult>> byDomain = new LinkedHashMap<>();
        successes.forEach((policy, s) -> byDomain.computeIfAbsent(policy.policyDomain(), d -> new ArrayList<>())
                .add(new PolicyResult(policy, s[0], failures.get(policy))));
        return byDomain;
    }

    // The store keeps a policy and a failure as JSON text: one spelling per value, so equal ones add up.

    private static String encode(TlsRptPolicy policy) {
        ObjectNode node = JSON.createObjectNode().put("type", policy.type().name());
        strings(node.putArray("policy"), policy.policyString());
        strings(node.putArray("mx"), policy.mxHosts());
        return text(node);
    }

    private static TlsRptPolicy policy(String domain, String text) {
        JsonNode node = tree(text);
        return new TlsRptPolicy(TlsRptPolicy.Type.valueOf(node.get("type").asText()), strings(node.get("policy")), domain,
                strings(node.get("mx")));
    }

    private static String encode(FailureDetails d) {
        ObjectNode node = JSON.createObjectNode().put("type", d.resultType().name()).put("mx", d.receivingMxHostname());
        d.sendingMtaIp().ifPresent(v -> node.put("sending-ip", v));
        d.receivingMxHelo().ifPresent(v -> node.put("helo", v));
        d.receivingIp().ifPresent(v -> node.put("ip", v));
        d.additionalInformation().ifPresent(v -> node.put("info", v));
        d.failureReasonCode().ifPresent(v -> node.put("code", v));
        return text(node);
    }

    private static FailureDetails details(String text) {
        JsonNode node = tree(text);
        return new FailureDetails(TlsRptResultType.valueOf(node.get("type").asText()), optional(node, "sending-ip"),
                node.get("mx").asText(), optional(node, "helo"), optional(node, "ip"), optional(node, "info"),
                optional(node, "code"));
    }

    private static Optional<String> optional(JsonNode node, String field) {
        return node.has(field) ? Optional.of(node.get(field).asText()) : Optional.empty();
    }

    private static void strings(ArrayNode array, List<String> values) {
        values.forEach(array::add);
    }

    private static List<String> strings(JsonNode array) {
        List<String> out = new ArrayList<>();
        array.forEach(v -> out.add(v.asText()));
        return out;
    }

    private static String text(ObjectNode node) {
        try {
            return JSON.writeValueAsString(node);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("a tree of strings always serializes", e);
        }
    }

    /** Only this class writes the column, so text that does not parse is a bug, not input. */
    private static JsonNode tree(String text) {
        try {
            return JSON.readTree(text);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("a TLS-RPT count the store holds is not what this class wrote: " + text, e);
        }
    }
}
