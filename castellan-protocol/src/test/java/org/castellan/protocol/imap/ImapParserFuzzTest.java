package org.castellan.protocol.imap;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import java.nio.ByteBuffer;

/**
 * Jazzer fuzz target for the IMAP command parser (docs/design.md §5.8: bad input gets a protocol
 * error, never a crash). In {@code ./mvnw verify} it runs in regression mode over the seed
 * corpus in {@code ImapParserFuzzTestInputs/commands}; {@code JAZZER_FUZZ=1} fuzzes for real.
 *
 * <p>The input is cut into chunks of fuzzer-chosen sizes and fed in a fuzzer-chosen mode with a
 * fuzzer-chosen literal limit: the parser must only ever return results, consume input or ask
 * for more, and every command it returns must be printable (records of records).
 */
class ImapParserFuzzTest {

    /** Results per input before the loop is declared stuck; each needs at least one byte. */
    private static final int MAX_STEPS = 100_000;

    @FuzzTest(maxDuration = "30s")
    void commands(FuzzedDataProvider data) {
        ImapParser.Mode mode = data.pickValue(ImapParser.Mode.values());
        long maxLiteral = data.consumeLong(0, 1 << 20);
        int chunk = data.consumeInt(1, 64);
        byte[] input = data.consumeRemainingAsBytes();
        ImapParser parser = new ImapParser();
        ByteBuffer in = ByteBuffer.wrap(input, 0, Math.min(chunk, input.length));
        for (int steps = 0; ; steps++) {
            assertThat(steps).as("results without progress").isLessThan(MAX_STEPS);
            ImapParser.Result r = parser.next(in, mode, maxLiteral);
            switch (r) {
                case ImapParser.NeedMore n -> {
                    if (in.limit() == input.length) return;
                    in.limit(Math.min(input.length, in.limit() + chunk));
                }
                case ImapParser.Error e -> {
                    assertThat(e.message()).isNotBlank();
                    if (e.fatal()) return; // the session closes here
                }
                default -> assertThat(r.toString()).isNotEmpty();
            }
        }
    }
}
