package org.castellan.server.outbound;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.LocalDate;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.zip.GZIPInputStream;
import org.castellan.server.dns.MailRouting.TlsaRecord;
import org.castellan.store.embedded.EmbeddedMailStore;
import org.junit.jupiter.api.Test;

/** RFC 8460: the reporting record, the aggregate JSON report (§4) and its mail form (§5.3). */
class TlsRptTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Instant START = Instant.parse("2026-12-05T00:00:00Z");
    private static final Instant END = Instant.parse("2026-12-06T00:00:00Z");

    /** RFC 8460 §4.4: the fields each object of the report may have. */
    private static final Set<String> REPORT_FIELDS = Set.of("organization-name", "date-range", "contact-info", "report-id", "policies");
    private static final Set<String> DATE_RANGE_FIELDS = Set.of("start-datetime", "end-datetime");
    private static final Set<String> POLICY_ENTRY_FIELDS = Set.of("policy", "summary", "failure-details");
    private static final Set<String> POLICY_FIELDS = Set.of("policy-type", "policy-string", "policy-domain", "mx-host");
    private static final Set<String> SUMMARY_FIELDS = Set.of("total-successful-session-count", "total-failure-session-count");
    private static final Set<String> DETAIL_FIELDS = Set.of("result-type", "sending-mta-ip", "receiving-mx-hostname",
            "receiving-mx-helo", "receiving-ip", "failed-session-count", "additional-information", "failure-reason-code");
    private static final Set<String> RESULT_TYPES = Set.of("starttls-not-supported", "certificate-host-mismatch",
            "certificate-expired", "certificate-not-trusted", "validation-failure", "tlsa-invalid", "dnssec-invalid",
            "dane-required", "sts-policy-fetch-error", "sts-policy-invalid", "sts-webpki-invalid");

    @Test
    void recordsOfTheRfc() {
        assertThat(TlsRptRecord.parse("v=TLSRPTv1;rua=mailto:reports@example.com"))
                .map(TlsRptRecord::mailboxes).contains(List.of("reports@example.com"));
        assertThat(TlsRptRecord.parse("v=TLSRPTv1; rua=https://reporting.example.com/v1/tlsrpt"))
                .map(TlsRptRecord::httpsEndpoints).contains(List.of(URI.create("https://reporting.example.com/v1/tlsrpt")));
        TlsRptRecord both = TlsRptRecord.parse("v=TLSRPTv1; rua=mailto:tlsrpt@example.com,https://r.example.com/t; ext=1;").orElseThrow();
        assertThat(both.rua()).hasSize(2);
        assertThat(TlsRptRecord.parse("v=TLSRPTv2; rua=mailto:a@example.com")).isEmpty();
        assertThat(TlsRptRecord.parse("v=TLSRPTv1; rua=http://insecure.example.com/")).isEmpty();
        assertThat(TlsRptRecord.parse("v=TLSRPTv1;")).isEmpty();
        assertThat(TlsRptRecord.select(List.of("v=TLSRPTv1; rua=mailto:a@example.com", "v=TLSRPTv1; rua=mailto:b@example.com"))).isEmpty();
        assertThat(TlsRptRecord.select(List.of("v=spf1 -all", "v=TLSRPTv1; rua=mailto:a@example.com"))).isPresent();
    }

    /**
     * A report of counts that went through the store (so every field of a failure is kept there),
     * for the domain example.com, with another domain's counts beside it.
     */
    static TlsRptReport report() {
        Path dir;
        try {
            dir = Files.createTempDirectory("tlsrpt-test");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        try (EmbeddedMailStore store = EmbeddedMailStore.open(dir)) {
            TlsRptAggregator aggregator = new TlsRptAggregator(store, Clock.fixed(START.plusSeconds(3600), ZoneOffset.UTC));
            TlsRptPolicy sts = TlsRptPolicy.sts("example.com", MtaStsTest.EXAMPLE_POLICY.replace("example.net", "example.com"),
                    ((MtaStsPolicy.Valid) MtaStsPolicy.parse(MtaStsTest.EXAMPLE_POLICY.replace("example.net", "example.com"))).policy());
            for (int i = 0; i < 3; i++) aggregator.success(sts);
            var expired = TlsRptAggregator.FailureDetails.of(TlsRptResultType.CERTIFICATE_EXPIRED, "mail.example.com", "192.0.2.7");
            aggregator.failure(sts, expired);
            aggregator.failure(sts, expired);
            aggregator.failure(sts, new TlsRptAggregator.FailureDetails(TlsRptResultType.STARTTLS_NOT_SUPPORTED,
                    Optional.of("198.51.100.1"), "backupmx.example.com", Optional.of("backup.example.com"),
                    Optional.of("2001:db8::25"), Optional.of("https://tls.example.org/why"), Optional.of("no STARTTLS in EHLO")));
            TlsRptPolicy tlsa = TlsRptPolicy.tlsa("example.com", "mx.example.com", List.of(new TlsaRecord(3, 1, 1, new byte[32])));
            aggregator.success(tlsa);
            aggregator.failure(TlsRptPolicy.none("other.example"), TlsRptAggregator.FailureDetails.of(
                    TlsRptResultType.VALIDATION_FAILURE, "mx.other.example", "192.0.2.9"));
            LocalDate day = LocalDate.ofInstant(START, ZoneOffset.UTC);
            assertThat(aggregator.dueBefore(day.plusDays(1))).containsOnlyKeys(day);
            assertThat(aggregator.dueBefore(day.plusDays(1)).get(day)).containsExactly("example.com", "other.example");
            assertThat(aggregator.dueBefore(day)).as("the day has not ended").isEmpty();
            List<TlsRptAggregator.PolicyResult> results = aggregator.drain(day, "example.com");
            assertThat(aggregator.drain(day, "example.com")).isEmpty();
            assertThat(aggregator.pending()).containsOnlyKeys("other.example");
            return new TlsRptReport("Castellan at mail.sender.test", "mailto:postmaster@sender.test",
                    "2026-12-05T00:00:00Z_example.com", START, END, results);
        } finally {
            try (var files = Files.walk(dir)) {
                files.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    @Test
    void reportJsonHasTheFieldsOfTheRfc() throws Exception {
        JsonNode root = JSON.readTree(report().json());
        assertThat(names(root)).isEqualTo(REPORT_FIELDS);
        assertThat(root.get("organization-name").asText()).isEqualTo("Castellan at mail.sender.test");
        assertThat(names(root.get("date-range"))).isEqualTo(DATE_RANGE_FIELDS);
        assertThat(OffsetDateTime.parse(root.at("/date-range/start-datetime").asText()).toInstant()).isEqualTo(START);
        assertThat(OffsetDateTime.parse(root.at("/date-range/end-datetime").asText()).toInstant()).isEqualTo(END);
        JsonNode policies = root.get("policies");
        assertThat(policies).hasSize(2);

        JsonNode sts = policies.get(0);
        assertThat(POLICY_ENTRY_FIELDS).containsAll(names(sts));
        assertThat(POLICY_FIELDS).containsAll(names(sts.get("policy")));
        assertThat(sts.at("/policy/policy-type").asText()).isEqualTo("sts");
        assertThat(sts.at("/policy/policy-domain").asText()).isEqualTo("example.com");
        assertThat(sts.at("/policy/policy-string")).extracting(JsonNode::asText)
                .containsExactly("version: STSv1", "mode: enforce", "mx: mail.example.com", "mx: *.example.com",
                        "mx: backupmx.example.com", "max_age: 604800");
        assertThat(sts.at("/policy/mx-host")).extracting(JsonNode::asText)
                .containsExactly("mail.example.com", "*.example.com", "backupmx.example.com");
        assertThat(names(sts.get("summary"))).isEqualTo(SUMMARY_FIELDS);
        assertThat(sts.at("/summary/total-successful-session-count").asLong()).isEqualTo(3);
        assertThat(sts.at("/summary/total-failure-session-count").asLong()).isEqualTo(3);
        JsonNode details = sts.get("failure-details");
        assertThat(details).hasSize(2);
        for (JsonNode d : details) {
            assertThat(DETAIL_FIELDS).containsAll(names(d));
            assertThat(RESULT_TYPES).contains(d.get("result-type").asText());
            assertThat(d.has("receiving-mx-hostname")).isTrue();
            assertThat(d.get("failed-session-count").isIntegralNumber()).isTrue();
        }
        JsonNode expired = find(details, "certificate-expired");
        assertThat(expired.get("failed-session-count").asLong()).isEqualTo(2);
        assertThat(expired.get("receiving-ip").asText()).isEqualTo("192.0.2.7");
        assertThat(names(find(details, "starttls-not-supported"))).isEqualTo(DETAIL_FIELDS);

        JsonNode tlsa = policies.get(1);
        assertThat(tlsa.at("/policy/policy-type").asText()).isEqualTo("tlsa");
        assertThat(tlsa.at("/policy/policy-string/0").asText()).isEqualTo("3 1 1 " + "00".repeat(32));
        assertThat(tlsa.has("failure-details")).isFalse();
        assertThat(tlsa.at("/summary/total-failure-session-count").asLong()).isZero();
    }

    @Test
    void everyResultTypeHasTheRfcName() {
        Set<String> names = new HashSet<>();
        for (TlsRptResultType t : TlsRptResultType.values()) names.add(t.json());
        assertThat(names).isEqualTo(RESULT_TYPES);
    }

    @Test
    void gzipRoundTrip() throws Exception {
        TlsRptReport report = report();
        try (GZIPInputStream in = new GZIPInputStream(new ByteArrayInputStream(report.gzip()))) {
            assertThat(new String(in.readAllBytes(), StandardCharsets.UTF_8)).isEqualTo(report.json());
        }
    }

    @Test
    void mailFormParsedByPythonsEmailModule() throws Exception {
        TlsRptReport report = report();
        byte[] mail = TlsRptMail.message(report, "example.com", "mail.sender.test", "tlsrpt@sender.test", "reports@example.com");
        String script = """
                import sys, json, gzip, email, email.policy
                m = email.message_from_bytes(sys.stdin.buffer.read(), policy=email.policy.default)
                parts = list(m.iter_parts())
                att = parts[1]
                print(json.dumps({
                  "type": m.get_content_type(),
                  "report_type": m.get_param("report-type"),
                  "defects": [str(d) for d in m.defects] + [str(d) for p in parts for d in p.defects],
                  "domain": m["TLS-Report-Domain"], "submitter": m["TLS-Report-Submitter"],
                  "subject": m["Subject"], "from": m["From"], "to": m["To"],
                  "parts": [p.get_content_type() for p in parts],
                  "filename": att.get_filename(),
                  "report": gzip.decompress(att.get_payload(decode=True)).decode("utf-8")}))
                """;
        Process p = new ProcessBuilder("python3", "-c", script).start();
        p.getOutputStream().write(mail);
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(err).isZero();
        JsonNode parsed = JSON.readTree(out);
        assertThat(parsed.get("type").asText()).isEqualTo("multipart/report");
        assertThat(parsed.get("report_type").asText()).isEqualTo("tlsrpt");
        assertThat(parsed.get("defects")).isEmpty();
        assertThat(parsed.get("domain").asText()).isEqualTo("example.com");
        assertThat(parsed.get("submitter").asText()).isEqualTo("mail.sender.test");
        assertThat(parsed.get("subject").asText())
                .isEqualTo("Report Domain: example.com Submitter: mail.sender.test Report-ID: <" + report.reportId() + ">");
        assertThat(parsed.get("parts")).extracting(JsonNode::asText).containsExactly("text/plain", "application/tlsrpt+gzip");
        assertThat(parsed.get("filename").asText()).isEqualTo("mail.sender.test!example.com!"
                + START.getEpochSecond() + "!" + END.getEpochSecond() + "!2026-12-05T00_00_00Z_example.com.json.gz");
        assertThat(parsed.get("report").asText()).isEqualTo(report.json());
    }

    @Test
    void addressWithALineBreakIsRefused() {
        assertThatThrownBy(() -> TlsRptMail.message(report(), "example.com", "mail.sender.test", "tlsrpt@sender.test",
                "a@example.com\r\nBcc: victim@example.org")).isInstanceOf(IllegalArgumentException.class);
    }

    private static Set<String> names(JsonNode node) {
        Set<String> names = new HashSet<>();
        node.fieldNames().forEachRemaining(names::add);
        return names;
    }

    private static JsonNode find(JsonNode details, String type) {
        for (JsonNode d : details) if (d.get("result-type").asText().equals(type)) return d;
        throw new AssertionError("no " + type + " in " + details);
    }
}
