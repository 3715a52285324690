package org.castellan.security.mailauth;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.List;
import org.junit.jupiter.api.Test;

/** RFC 6376 §3.4.5's example, and the body's edge cases of §3.4.3 and §3.4.4. */
class DkimCanonicalizationTest {

    /** RFC 6376 §3.4.5: the message of the example. */
    static final String EXAMPLE = "A: X\r\n"
            + "B : Y\t\r\n"
            + "\tZ  \r\n"
            + "\r\n"
            + " C \r\n"
            + "D \t E\r\n"
            + "\r\n"
            + "\r\n";

    @Test
    void relaxedHeadersOfTheRfcExample() throws Exception {
        DkimHeaderSection header = DkimHeaderSection.read(in(EXAMPLE)).orElseThrow();
        assertThat(header.fields()).extracting(DkimHeaderSection.Field::text).containsExactly("A: X", "B : Y\t\r\n\tZ  ");
        assertThat(header.fields().stream().map(f -> DkimCanonicalization.RELAXED.header(f.text())).toList())
                .containsExactly("a:X\r\n", "b:Y Z\r\n");
        assertThat(header.fields().stream().map(f -> DkimCanonicalization.SIMPLE.header(f.text())).toList())
                .containsExactly("A: X\r\n", "B : Y\t\r\n\tZ  \r\n");
    }

    @Test
    void bodiesOfTheRfcExample() {
        String body = EXAMPLE.substring(EXAMPLE.indexOf("\r\n\r\n") + 4);
        assertThat(hash(DkimCanonicalization.RELAXED, body)).isEqualTo(sha256(" C\r\nD E\r\n"));
        assertThat(hash(DkimCanonicalization.SIMPLE, body)).isEqualTo(sha256(" C \r\nD \t E\r\n"));
    }

    @Test
    void emptyBodiesAndMissingFinalLineEnds() {
        // RFC 6376 §3.4.3: an empty body is one CRLF in simple; §3.4.4: nothing in relaxed.
        for (String empty : List.of("", "\r\n", "\r\n\r\n", "\n\n")) {
            assertThat(hash(DkimCanonicalization.SIMPLE, empty)).as(empty).isEqualTo(sha256("\r\n"));
            assertThat(hash(DkimCanonicalization.RELAXED, empty)).as(empty).isEqualTo(sha256(""));
        }
        assertThat(hash(DkimCanonicalization.RELAXED, " \t \r\n")).isEqualTo(sha256(""));
        assertThat(hash(DkimCanonicalization.SIMPLE, "x")).isEqualTo(sha256("x\r\n"));
        assertThat(hash(DkimCanonicalization.RELAXED, "x  ")).isEqualTo(sha256("x\r\n"));
        // A bare CR is content, a LF alone ends a line.
        assertThat(hash(DkimCanonicalization.SIMPLE, "a\rb\nc\r\n")).isEqualTo(sha256("a\rb\r\nc\r\n"));
    }

    @Test
    void fedOneOctetAtATimeTheHashIsTheSame() {
        String body = " C \r\n\r\nD \t E\r\n\r\n \r\n";
        for (DkimCanonicalization c : DkimCanonicalization.values()) {
            DkimBodyHasher hasher = new DkimBodyHasher(c, -1);
            for (byte b : body.getBytes(StandardCharsets.ISO_8859_1)) hasher.update(new byte[] {b}, 0, 1);
            assertThat(hasher.finish()).as(c.tag()).isEqualTo(hash(c, body));
        }
    }

    @Test
    void aBodyLengthLimitHashesThatManyCanonicalOctetsAndCountsAll() {
        DkimBodyHasher hasher = new DkimBodyHasher(DkimCanonicalization.RELAXED, 5);
        byte[] body = "Hi  there\r\nmore\r\n".getBytes(StandardCharsets.ISO_8859_1);
        hasher.update(body, 0, body.length);
        assertThat(hasher.finish()).isEqualTo(sha256("Hi th"));
        assertThat(hasher.length()).isEqualTo("Hi there\r\nmore\r\n".length());
    }

    @Test
    void theSignatureValueIsRemovedWithItsWhiteSpaceAndNothingElse() {
        assertThat(DkimTags.withoutSignature("DKIM-Signature: v=1; bh=abc; b=de\r\n f ;x=1"))
                .isEqualTo("DKIM-Signature: v=1; bh=abc; b=;x=1");
        assertThat(DkimTags.withoutSignature("DKIM-Signature: v=1; b = xyz"))
                .isEqualTo("DKIM-Signature: v=1; b =");
    }

    private static byte[] hash(DkimCanonicalization c, String body) {
        DkimBodyHasher hasher = new DkimBodyHasher(c, -1);
        byte[] bytes = body.getBytes(StandardCharsets.ISO_8859_1);
        hasher.update(bytes, 0, bytes.length);
        return hasher.finish();
    }

    static byte[] sha256(String s) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.ISO_8859_1));
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    private static ByteArrayInputStream in(String s) {
        return new ByteArrayInputStream(s.getBytes(StandardCharsets.ISO_8859_1));
    }
}
