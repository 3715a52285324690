package org.castellan.server.outbound;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.zip.GZIPOutputStream;

/**
 * One aggregate TLS report for one policy domain (RFC 8460 §4): who reports, for which period, and
 * per policy the session counts and failure details, as the JSON of RFC 8460 §4.4.
 *
 * @param organizationName who sends the report ({@code organization-name})
 * @param contactInfo an address or URI for questions about it ({@code contact-info})
 * @param reportId unique per report ({@code report-id})
 * @param start the period's start, inclusive (normally 00:00 UTC)
 * @param end the period's end (normally 24 hours later)
 */
public record TlsRptReport(String organizationName, String contactInfo, String reportId, Instant start, Instant end,
        List<TlsRptAggregator.PolicyResult> policies) {

    private static final ObjectMapper JSON = new ObjectMapper();

    public TlsRptReport {
        policies = List.copyOf(policies);
    }

    /** The report as RFC 8460 §4.4 JSON. */
    public String json() {
        ObjectNode root = JSON.createObjectNode();
        root.put("organization-name", organizationName);
        ObjectNode range = root.putObject("date-range");
        range.put("start-datetime", DateTimeFormatter.ISO_INSTANT.format(start)); // RFC 3339 date-time
        range.put("end-datetime", DateTimeFormatter.ISO_INSTANT.format(end));
        root.put("contact-info", contactInfo);
        root.put("report-id", reportId);
        ArrayNode list = root.putArray("policies");
        for (TlsRptAggregator.PolicyResult result : policies) {
            ObjectNode entry = list.addObject();
            ObjectNode policy = entry.putObject("policy");
            policy.put("policy-type", result.policy().type().json());
            if (!result.policy().policyString().isEmpty()) {
                ArrayNode strings = policy.putArray("policy-string");
                result.policy().policyString().forEach(strings::add);
            }
            policy.put("policy-domain", result.policy().policyDomain());
            if (!result.policy().mxHosts().isEmpty()) {
                ArrayNode mx = policy.putArray("mx-host");
                result.policy().mxHosts().forEach(mx::add);
            }
            ObjectNode summary = entry.putObject("summary");
            summary.put("total-successful-session-count", result.successes());
            summary.put("total-failure-session-count", result.failureCount());
            if (!result.failures().isEmpty()) {
                ArrayNode details = entry.putArray("failure-details");
                for (Map.Entry<TlsRptAggregator.FailureDetails, Long> f : result.failures().entrySet()) {
                    details.add(details(f.getKey(), f.getValue()));
                }
            }
        }
        try {
            return JSON.writerWithDefaultPrettyPrinter().writeValueAsString(root);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("a tree of strings and numbers always serializes", e);
        }
    }

    private static ObjectNode details(TlsRptAggregator.FailureDetails d, long count) {
        ObjectNode node = JSON.createObjectNode();
        node.put("result-type", d.resultType().json());
        put(node, "sending-mta-ip", d.sendingMtaIp());
        node.put("receiving-mx-hostname", d.receivingMxHostname());
        put(node, "receiving-mx-helo", d.receivingMxHelo());
        put(node, "receiving-ip", d.receivingIp());
        node.put("failed-session-count", count);
        put(node, "additional-information", d.additionalInformation());
        put(node, "failure-reason-code", d.failureReasonCode());
        return node;
    }

    private static void put(ObjectNode node, String name, Optional<String> value) {
        value.ifPresent(v -> node.put(name, v));
    }

    /** The report gzipped, as RFC 8460 §5.1 sends it ({@code application/tlsrpt+gzip}). */
    public byte[] gzip() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (GZIPOutputStream gz = new GZIPOutputStream(out)) {
            gz.write(json().getBytes(StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException("gzip into memory failed", e);
        }
        return out.toByteArray();
    }
}
