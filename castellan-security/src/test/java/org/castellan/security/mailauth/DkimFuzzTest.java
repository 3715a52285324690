package org.castellan.security.mailauth;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import java.util.List;
import org.castellan.security.mailauth.DkimTestKeys.Zone;

/**
 * Jazzer fuzz target for DKIM verification, which reads what any sender writes: never an
 * exception, at most {@link DkimVerifier#MAX_SIGNATURES} results, no line break, white space or
 * ';' in a reported d=, s= or i= (they go into Authentication-Results), and a pass only for a key
 * the zone has. {@code ./mvnw verify} runs it in regression mode over {@code DkimFuzzTestInputs}
 * (the RFC 8463 message among them); {@code JAZZER_FUZZ=1} fuzzes for real (docs/testing.md).
 */
class DkimFuzzTest {

    @FuzzTest(maxDuration = "30s")
    void messages(FuzzedDataProvider data) {
        byte[] message = data.consumeRemainingAsBytes();
        Zone zone = Zone.rfc8463();
        List<DkimResult> results = new DkimVerifier(zone).verify(message);
        assertThat(results.size()).isLessThanOrEqualTo(DkimVerifier.MAX_SIGNATURES);
        for (DkimResult r : results) {
            for (String value : List.of(r.domain(), r.selector(), r.identity())) {
                assertThat(value).as(r.toString()).doesNotContain("\r", "\n", " ", "\t", ";");
            }
            assertThat(r.reason()).as(r.toString()).doesNotContain("\r", "\n");
            if (r.passed()) {
                assertThat(zone.txt.keySet()).contains((r.selector() + "._domainkey." + r.domain()).toLowerCase(java.util.Locale.ROOT));
            }
        }
    }
}
