package org.castellan.server.outbound;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import java.util.stream.Collectors;

/**
 * Jazzer fuzz targets for the MTA-STS parsers, which read what any domain publishes: bad input is
 * an empty or {@link MtaStsPolicy.Invalid} result, never an exception, and what parses keeps
 * RFC 8461's limits and parses again the same when written out. {@code ./mvnw verify} runs them
 * in regression mode; {@code JAZZER_FUZZ=1} fuzzes (docs/testing.md).
 */
class MtaStsFuzzTest {

    @FuzzTest(maxDuration = "30s")
    void records(FuzzedDataProvider data) {
        MtaStsRecord.parse(data.consumeRemainingAsString()).ifPresent(r -> {
            assertThat(r.id()).matches("[A-Za-z0-9]{1,32}"); // RFC 8461 §3.1
            assertThat(MtaStsRecord.parse("v=STSv1; id=" + r.id() + ";")).contains(r);
        });
    }

    @FuzzTest(maxDuration = "30s")
    void policies(FuzzedDataProvider data) {
        String host = data.consumeString(80);
        if (MtaStsPolicy.parse(data.consumeRemainingAsString()) instanceof MtaStsPolicy.Valid v) {
            MtaStsPolicy p = v.policy();
            assertThat(p.maxAge().getSeconds()).isBetween(0L, MtaStsPolicy.MAX_AGE_LIMIT); // RFC 8461 §3.2
            if (p.mode() != MtaStsPolicy.Mode.NONE) assertThat(p.mx()).isNotEmpty();
            String written = "version: STSv1\nmode: " + p.mode().text() + "\n"
                    + p.mx().stream().map(m -> "mx: " + m + "\n").collect(Collectors.joining())
                    + "max_age: " + p.maxAge().getSeconds() + "\n";
            assertThat(MtaStsPolicy.parse(written)).isEqualTo(v);
            p.mx().stream().filter(m -> !m.startsWith("*.")).forEach(m -> assertThat(p.mxAllowed(m)).isTrue());
            p.mxAllowed(host);
        }
    }
}
