package org.castellan.security.escrow;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;

/**
 * Jazzer fuzz target for {@link EscrowShare#parse}, which reads what an operator types or pastes
 * during a recovery. Never an exception; a refusal is one line; an accepted share formats back to
 * a line that parses to the same share. {@code ./mvnw verify} runs it in regression mode over
 * {@code EscrowShareFuzzTestInputs}; {@code JAZZER_FUZZ=1} fuzzes for real (docs/testing.md).
 */
class EscrowShareFuzzTest {

    @FuzzTest(maxDuration = "30s")
    void shares(FuzzedDataProvider data) {
        String line = data.consumeRemainingAsString();
        switch (EscrowShare.parse(line)) {
            case EscrowShare.Parsed p -> {
                EscrowShare share = p.share();
                assertThat(share.index()).isBetween(1, Shamir.MAX_SHARES);
                assertThat(share.threshold()).isBetween(Shamir.MIN_THRESHOLD, Shamir.MAX_SHARES);
                assertThat(EscrowShare.parse(share.format())).isEqualTo(p);
            }
            case EscrowShare.Damaged d -> assertThat(d.reason()).isNotBlank().doesNotContain("\n");
        }
    }
}
