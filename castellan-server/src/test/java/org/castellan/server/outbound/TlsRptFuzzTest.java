package org.castellan.server.outbound;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;

/**
 * Jazzer fuzz target for the {@code _smtp._tls} record parser (RFC 8460 §3), which reads what any
 * domain publishes: bad input is an empty result, never an exception, and every destination it
 * keeps is a {@code mailto:} with an address or an {@code https:} with a host. {@code ./mvnw
 * verify} runs it in regression mode; {@code JAZZER_FUZZ=1} fuzzes (docs/testing.md).
 */
class TlsRptFuzzTest {

    @FuzzTest(maxDuration = "30s")
    void records(FuzzedDataProvider data) {
        TlsRptRecord.parse(data.consumeRemainingAsString()).ifPresent(r -> {
            assertThat(r.rua()).isNotEmpty();
            assertThat(r.mailboxes().size() + r.httpsEndpoints().size()).isEqualTo(r.rua().size());
            r.mailboxes().forEach(m -> assertThat(m).contains("@"));
            r.httpsEndpoints().forEach(u -> assertThat(u.getHost()).isNotNull());
        });
    }
}
