package org.castellan.security.mailauth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.castellan.security.mailauth.DkimVerifierTest.bytes;
import static org.castellan.security.mailauth.DkimVerifierTest.concat;

import java.io.InputStream;
import java.io.SequenceInputStream;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.Signature;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.castellan.security.mailauth.DkimResult.Status;
import org.castellan.security.mailauth.DkimTestKeys.Zone;
import org.junit.jupiter.api.Test;

/** DkimSigner against RFC 8463 Appendix A and DkimVerifier. */
class DkimSignerTest {

    static final Instant NOW = Instant.parse("2026-12-06T18:00:00Z");
    static final Pattern TAG = Pattern.compile("(?:^|;)\\s*([a-z]+)=([^;]*)");

    @Test
    void signingTheRfc8463MessageGivesItsBodyHashAndASignatureThatVerifies() throws Exception {
        var key = new DkimSigner.Key("football.example.com", "brisbane", DkimTestKeys.rfc8463Ed25519());
        byte[] signature = new DkimSigner(List.of(key)).sign(bytes(DkimTestKeys.RFC8463_MESSAGE), NOW);
        Map<String, String> tags = tags(signature);
        assertThat(tags.get("bh")).isEqualTo(DkimTestKeys.RFC8463_BODY_HASH);
        assertThat(tags).containsEntry("a", "ed25519-sha256").containsEntry("c", "relaxed/relaxed")
                .containsEntry("d", "football.example.com").containsEntry("s", "brisbane")
                .containsEntry("t", String.valueOf(NOW.getEpochSecond()))
                .containsEntry("h", "from:to:subject:date:message-id:from");
        List<DkimResult> results = new DkimVerifier(Zone.rfc8463())
                .verify(concat(signature, bytes(DkimTestKeys.RFC8463_MESSAGE)));
        assertThat(results).extracting(DkimResult::status).containsExactly(Status.PASS);
    }

    /** d= and s= are required tags of every signature (RFC 6376 §3.5): a key lacking either is refused when made. */
    @Test
    void aKeyNeedsItsDomainAndItsSelector() throws Exception {
        var key = DkimTestKeys.ed25519().getPrivate();
        assertThatThrownBy(() -> new DkimSigner.Key(null, "s", key)).isInstanceOf(NullPointerException.class).hasMessage("domain");
        assertThatThrownBy(() -> new DkimSigner.Key("example.org", null, key)).isInstanceOf(NullPointerException.class)
                .hasMessage("selector");
    }

    @Test
    void theRfc8463Ed25519SignatureIsReproducedOverTheSha256OfTheHeaderData() throws Exception {
        // Ed25519 is deterministic: the same data and key give the RFC's b= octet for octet.
        DkimHeaderSection header = DkimHeaderSection.read(new java.io.ByteArrayInputStream(DkimTestKeys.rfc8463Signed())).orElseThrow();
        String field = header.named("DKIM-Signature").get(0).text();
        String data = DkimVerifier.signedData(header, List.of("from", "to", "subject", "date", "message-id", "from", "subject", "date"),
                DkimCanonicalization.RELAXED, DkimTags.withoutSignature(field));
        Signature ed = Signature.getInstance("Ed25519");
        ed.initSign(DkimTestKeys.rfc8463Ed25519());
        ed.update(java.security.MessageDigest.getInstance("SHA-256").digest(data.getBytes(StandardCharsets.ISO_8859_1)));
        assertThat(Base64.getEncoder().encodeToString(ed.sign())).isEqualTo(DkimTestKeys.RFC8463_ED25519_B);
    }

    @Test
    void dualSignsWithRsaAndEd25519FoldedTo78OctetsWithEveryPresentFieldAndFromOversigned() throws Exception {
        KeyPair rsa = DkimTestKeys.rsa2048();
        KeyPair ed = DkimTestKeys.ed25519();
        String message = "From: Alice <alice@example.org>\r\nTo: bob@example.net\r\nCc: carol@example.net\r\n"
                + "Subject: plans\r\nDate: Sun, 6 Dec 2026 18:00:00 +0000\r\nMessage-ID: <1@example.org>\r\n"
                + "Received: by relay\r\nX-Mailer: test\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
                + "\r\nHello Bob,\r\n\r\nsee you.\r\n\r\n\r\n";
        byte[] fields = new DkimSigner(List.of(new DkimSigner.Key("example.org", "c202612", rsa.getPrivate()),
                new DkimSigner.Key("example.org", "c202612e", ed.getPrivate()))).sign(bytes(message), NOW);
        String text = new String(fields, StandardCharsets.ISO_8859_1);
        assertThat(text).endsWith("\r\n").startsWith("DKIM-Signature: v=1; a=rsa-sha256;");
        assertThat(text.split("\r\n")).allSatisfy(line -> assertThat(line.length()).as(line).isLessThanOrEqualTo(78));
        assertThat(text.split("\r\n(?! )")).hasSize(2);
        assertThat(tags(fields).get("h")).isEqualTo("from:to:cc:subject:date:message-id:mime-version:content-type:from");
        Zone zone = new Zone().with("c202612._domainkey.example.org", DkimKeyRecord.format(rsa.getPublic()))
                .with("c202612e._domainkey.example.org", DkimKeyRecord.format(ed.getPublic()));
        List<DkimResult> results = new DkimVerifier(zone).verify(concat(fields, bytes(message)));
        assertThat(results).extracting(DkimResult::status).containsExactly(Status.PASS, Status.PASS);
        assertThat(results).extracting(DkimResult::selector).containsExactly("c202612", "c202612e");
    }

    @Test
    void refusesWeakKeysAndMessagesWithoutFrom() throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
        g.initialize(1024);
        assertThatThrownBy(() -> new DkimSigner(List.of(new DkimSigner.Key("example.org", "s", g.generateKeyPair().getPrivate()))))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("2048");
        var signer = new DkimSigner(List.of(new DkimSigner.Key("example.org", "s", DkimTestKeys.ed25519().getPrivate())));
        assertThatThrownBy(() -> signer.sign(bytes("To: b@example.net\r\n\r\nhi\r\n"), NOW))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("no From");
    }

    @Test
    void aThirtyMegabyteBodyIsSignedAndVerifiedFromAStream() throws Exception {
        KeyPair ed = DkimTestKeys.ed25519();
        var signer = new DkimSigner(List.of(new DkimSigner.Key("example.org", "big", ed.getPrivate())));
        byte[] header = bytes("From: a@example.org\r\nSubject: big\r\n\r\n");
        long size = 30L * 1024 * 1024;
        byte[] fields = signer.sign(new SequenceInputStream(new java.io.ByteArrayInputStream(header), body(size)), NOW);
        Zone zone = new Zone().with("big._domainkey.example.org", DkimKeyRecord.format(ed.getPublic()));
        InputStream signed = new SequenceInputStream(java.util.Collections.enumeration(List.of(
                new java.io.ByteArrayInputStream(fields), new java.io.ByteArrayInputStream(header), body(size))));
        assertThat(new DkimVerifier(zone).verify(signed)).extracting(DkimResult::status).containsExactly(Status.PASS);
    }

    /** {@code size} octets of 76-character lines made as they are read, never held whole. */
    static InputStream body(long size) {
        return new InputStream() {
            long position;

            @Override
            public int read() {
                if (position >= size) return -1;
                long p = position++;
                int column = (int) (p % 78);
                return column == 76 ? '\r' : column == 77 ? '\n' : 'a' + (int) ((p / 78) % 26);
            }

            @Override
            public int read(byte[] b, int off, int len) {
                if (position >= size) return -1;
                int n = (int) Math.min(len, size - position);
                for (int i = 0; i < n; i++) b[off + i] = (byte) read();
                return n;
            }
        };
    }

    /** The tags of the first signature field, values with FWS removed. */
    static Map<String, String> tags(byte[] fields) {
        String text = new String(fields, StandardCharsets.ISO_8859_1).split("\r\n(?! )")[0];
        text = text.substring(text.indexOf(':') + 1).replaceAll("\r\n ", "").replace(" ", "");
        Map<String, String> tags = new java.util.LinkedHashMap<>();
        Matcher m = TAG.matcher(text);
        while (m.find()) tags.put(m.group(1), m.group(2));
        return tags;
    }
}
