package org.castellan.server.dkim;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.castellan.security.mailauth.DkimAlgorithm;
import org.castellan.security.mailauth.DkimResult;
import org.castellan.security.mailauth.DkimSigner;
import org.castellan.security.mailauth.DkimVerifier;
import org.castellan.server.testing.TxtZone;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The server's signer for a domain is read once and kept while the domain's index is unchanged,
 * and follows a rotation made by another process (the {@code castellan dkim} command line works
 * on the same data directory through its own {@code DkimKeys}).
 */
class DkimKeysTest {

    private static final byte[] MESSAGE = "From: a@example.org\r\nSubject: s\r\n\r\nbody\r\n".getBytes(StandardCharsets.US_ASCII);

    @TempDir Path dir;

    @Test
    void theSignerIsKeptUntilTheKeysChangeAndThenSignsWithTheNewSelectors() throws Exception {
        DkimKeys server = new DkimKeys(dir);
        assertThat(server.signer("example.org")).isEmpty();

        DkimKeys commandLine = new DkimKeys(dir);
        commandLine.generate("example.org", Set.of(DkimAlgorithm.ED25519_SHA256), Instant.parse("2026-11-02T10:00:00Z"));
        DkimSigner first = server.signer("example.org").orElseThrow();
        assertThat(server.signer("Example.ORG")).containsSame(first);
        assertThat(selectorsSigning(first, commandLine)).containsExactly("c202611e");

        commandLine.rotate("example.org", Instant.parse("2026-12-06T10:00:00Z"));
        DkimSigner second = server.signer("example.org").orElseThrow();
        assertThat(second).isNotSameAs(first);
        assertThat(selectorsSigning(second, commandLine)).containsExactly("c202612e");
    }

    /** The selectors of the signatures {@code signer} makes, each verified against the published records. */
    private static List<String> selectorsSigning(DkimSigner signer, DkimKeys keys) throws Exception {
        Map<String, List<String>> records = new java.util.HashMap<>();
        keys.list("example.org").forEach(s -> records.put(s.dnsName(), List.of(s.record())));
        byte[] signed = concat(signer.sign(MESSAGE, Instant.now()), MESSAGE);
        List<DkimResult> results = new DkimVerifier(TxtZone.of(records)).verify(signed);
        assertThat(results).allSatisfy(r -> assertThat(r.status()).as(r.reason()).isEqualTo(DkimResult.Status.PASS));
        return results.stream().map(DkimResult::selector).toList();
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
