package org.castellan.security.mailauth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.castellan.security.mailauth.DkimTestKeys.RFC8463_BRISBANE;
import static org.castellan.security.mailauth.DkimTestKeys.RFC8463_MESSAGE;
import static org.castellan.security.mailauth.DkimTestKeys.RFC8463_SIGNATURES;
import static org.castellan.security.mailauth.DkimTestKeys.rfc8463Signed;

import java.nio.charset.StandardCharsets;
import java.security.KeyPairGenerator;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Optional;
import org.castellan.security.mailauth.DkimResult.Status;
import org.castellan.security.mailauth.DkimTestKeys.Zone;
import org.junit.jupiter.api.Test;

/** DkimVerifier on RFC 8463 Appendix A's message, and on what RFC 6376 §6 and RFC 8301 refuse. */
class DkimVerifierTest {

    final DkimVerifier verifier = new DkimVerifier(Zone.rfc8463());

    @Test
    void bothSignaturesOfRfc8463AppendixAVerify() {
        List<DkimResult> results = verifier.verify(rfc8463Signed());
        assertThat(results).extracting(DkimResult::status).containsExactly(Status.PASS, Status.PASS);
        assertThat(results).extracting(DkimResult::domain).containsOnly("football.example.com");
        assertThat(results).extracting(DkimResult::selector).containsExactly("brisbane", "test");
        assertThat(results).extracting(DkimResult::algorithm)
                .containsExactly(Optional.of(DkimAlgorithm.ED25519_SHA256), Optional.of(DkimAlgorithm.RSA_SHA256));
        assertThat(results).extracting(DkimResult::identity).containsOnly("@football.example.com");
        assertThat(results).extracting(DkimResult::signaturePrefix).containsExactly("/gCrinpcQOoI", "F45dVWDfMbQD");
    }

    @Test
    void aChangedSignedFieldFailsBothSignatures() {
        String tampered = new String(rfc8463Signed(), StandardCharsets.ISO_8859_1).replace("Is dinner ready?", "Is dinner burnt?");
        assertThat(verifier.verify(bytes(tampered)))
                .allSatisfy(r -> assertThat(r).extracting(DkimResult::status, DkimResult::reason)
                        .containsExactly(Status.FAIL, "signature did not verify"));
    }

    @Test
    void anAddedFromFailsThemToo() { // h= names From twice: a second From is signed as present
        String added = new String(rfc8463Signed(), StandardCharsets.ISO_8859_1)
                .replace("From: Joe", "From: Mallory <m@evil.example>\r\nFrom: Joe");
        assertThat(verifier.verify(bytes(added))).extracting(DkimResult::status).containsOnly(Status.FAIL);
    }

    @Test
    void aChangedBodyFailsOnTheBodyHash() {
        String tampered = new String(rfc8463Signed(), StandardCharsets.ISO_8859_1).replace("We lost", "We won");
        assertThat(verifier.verify(bytes(tampered))).extracting(DkimResult::reason).containsOnly("body hash did not verify");
        assertThat(verifier.verify(bytes(tampered))).extracting(DkimResult::status).containsOnly(Status.FAIL);
    }

    @Test
    void refoldingAndWhiteSpaceDoNotMatterInRelaxed() {
        String refolded = new String(rfc8463Signed(), StandardCharsets.ISO_8859_1)
                .replace("Subject: Is dinner ready?", "subject:   Is dinner\r\n\tready?  ")
                .replace("Are you hungry yet?", "Are  you hungry yet?   ");
        assertThat(verifier.verify(bytes(refolded))).extracting(DkimResult::status).containsOnly(Status.PASS);
    }

    @Test
    void noSignatureIsNoResult() {
        assertThat(verifier.verify(bytes(RFC8463_MESSAGE))).isEmpty();
    }

    @Test
    void rsaSha1IsRefusedAsRfc8301Says() {
        String sha1 = new String(rfc8463Signed(), StandardCharsets.ISO_8859_1).replace("a=rsa-sha256", "a=rsa-sha1");
        DkimResult rsa = verifier.verify(bytes(sha1)).get(1);
        assertThat(rsa.status()).isEqualTo(Status.PERMERROR);
        assertThat(rsa.reason()).contains("rsa-sha1");
        assertThat(rsa.domain()).isEqualTo("football.example.com");
        assertThat(rsa.selector()).isEqualTo("test");
    }

    @Test
    void anRsaKeyUnder1024BitsIsNotUsed() throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
        g.initialize(512);
        Zone zone = Zone.rfc8463().with("test._domainkey.football.example.com",
                DkimKeyRecord.format(g.generateKeyPair().getPublic()));
        DkimResult rsa = new DkimVerifier(zone).verify(rfc8463Signed()).get(1);
        assertThat(rsa.status()).isEqualTo(Status.PERMERROR);
        assertThat(rsa.reason()).isEqualTo("key of 512 bits is too small");
    }

    @Test
    void keyRecordOutcomes() {
        Zone zone = new Zone().failing("brisbane._domainkey.football.example.com")
                .with("test._domainkey.football.example.com", "v=DKIM1; k=rsa; p=");
        List<DkimResult> results = new DkimVerifier(zone).verify(rfc8463Signed());
        assertThat(results).extracting(DkimResult::status, DkimResult::reason).containsExactly(
                org.assertj.core.groups.Tuple.tuple(Status.TEMPERROR, "key lookup failed: SERVFAIL"),
                org.assertj.core.groups.Tuple.tuple(Status.PERMERROR, "key revoked"));
        assertThat(new DkimVerifier(new Zone()).verify(rfc8463Signed())).extracting(DkimResult::status)
                .containsOnly(Status.PERMERROR);
        Zone wrongType = new Zone().with("brisbane._domainkey.football.example.com", DkimTestKeys.RFC8463_TEST);
        assertThat(new DkimVerifier(wrongType).verify(rfc8463Signed()).get(0).reason()).contains("does not match");
    }

    @Test
    void signatureSyntaxErrorsAreNeutralAndAnUnsignedFromIsAPermanentError() {
        String noFrom = new String(rfc8463Signed(), StandardCharsets.ISO_8859_1)
                .replace("h=from : to :\r\n subject : date : message-id : from : subject : date;",
                        "h=to :\r\n subject : date : message-id : subject : date;");
        assertThat(verifier.verify(bytes(noFrom)).get(0)).extracting(DkimResult::status, DkimResult::reason)
                .containsExactly(Status.PERMERROR, "From not signed");
        String broken = new String(rfc8463Signed(), StandardCharsets.ISO_8859_1).replace("s=brisbane;", "s=brisbane; s=again;");
        assertThat(verifier.verify(bytes(broken)).get(0).status()).isEqualTo(Status.NEUTRAL);
        String noBh = new String(rfc8463Signed(), StandardCharsets.ISO_8859_1)
                .replace(" bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n b=/gCr", " b=/gCr");
        assertThat(verifier.verify(bytes(noBh)).get(0)).extracting(DkimResult::status, DkimResult::reason)
                .containsExactly(Status.NEUTRAL, "signature has no bh=");
        String foreignIdentity = new String(rfc8463Signed(), StandardCharsets.ISO_8859_1)
                .replaceFirst("i=@football.example.com", "i=@example.net");
        assertThat(verifier.verify(bytes(foreignIdentity)).get(0).status()).isEqualTo(Status.PERMERROR);
    }

    /**
     * RFC 6376 §3.6.1, t=s: "the "i=" domain MUST NOT be a subdomain of "d="". Without the flag a
     * subdomain is the signer's own; with it only d= itself passes the check.
     */
    @Test
    void aStrictKeyRefusesAnIdentityInASubdomainOfTheSigningDomain() {
        String subdomain = new String(rfc8463Signed(), StandardCharsets.ISO_8859_1)
                .replaceFirst("i=@football.example.com", "i=@news.football.example.com");
        Zone strict = Zone.rfc8463().with("brisbane._domainkey.football.example.com", RFC8463_BRISBANE + "; t=s");
        assertThat(new DkimVerifier(strict).verify(bytes(subdomain)).get(0))
                .extracting(DkimResult::status, DkimResult::reason)
                .containsExactly(Status.PERMERROR, "key record requires i= in d= itself (t=s)");
        assertThat(new DkimVerifier(strict).verify(rfc8463Signed()).get(0).status()).isEqualTo(Status.PASS);
        assertThat(verifier.verify(bytes(subdomain)).get(0).reason()).isNotEqualTo("key record requires i= in d= itself (t=s)");
    }

    /** RFC 6376 §3.6.1, t=y: the domain is testing DKIM, which the result must carry for whoever weighs it. */
    @Test
    void aPassUnderAKeyInTestingModeSaysSo() {
        Zone testing = Zone.rfc8463().with("brisbane._domainkey.football.example.com", RFC8463_BRISBANE + "; t=y");
        assertThat(new DkimVerifier(testing).verify(rfc8463Signed())).extracting(DkimResult::status, DkimResult::testing)
                .containsExactly(org.assertj.core.groups.Tuple.tuple(Status.PASS, true),
                        org.assertj.core.groups.Tuple.tuple(Status.PASS, false));
    }

    @Test
    void atMostFiveSignaturesAreChecked() {
        String many = RFC8463_SIGNATURES.repeat(3) + RFC8463_MESSAGE;
        Zone counting = Zone.rfc8463();
        List<DkimResult> results = new DkimVerifier(counting).verify(bytes(many));
        assertThat(results).hasSize(DkimVerifier.MAX_SIGNATURES).extracting(DkimResult::status).containsOnly(Status.PASS);
        assertThat(counting.queries).isEqualTo(2); // one query per key record, however many signatures use it
    }

    @Test
    void anExpiredSignatureIsNeutral() throws Exception {
        Instant signedAt = Instant.parse("2026-12-01T10:00:00Z");
        var pair = DkimTestKeys.ed25519();
        var key = new DkimSigner.Key("example.org", "e1", pair.getPrivate());
        byte[] message = bytes("From: a@example.org\r\nSubject: hi\r\n\r\nbody\r\n");
        byte[] signature = new DkimSigner(List.of(key), Optional.of(java.time.Duration.ofHours(1))).sign(message, signedAt);
        assertThat(new String(signature, StandardCharsets.ISO_8859_1)).contains("x=" + (signedAt.getEpochSecond() + 3600) + ";");
        Zone zone = new Zone().with("e1._domainkey.example.org", DkimKeyRecord.format(pair.getPublic()));
        byte[] signed = concat(signature, message);
        assertThat(new DkimVerifier(zone, Clock.fixed(signedAt.plusSeconds(60), ZoneOffset.UTC)).verify(signed).get(0).status())
                .isEqualTo(Status.PASS);
        assertThat(new DkimVerifier(zone, Clock.fixed(signedAt.plusSeconds(7200), ZoneOffset.UTC)).verify(signed).get(0))
                .extracting(DkimResult::status, DkimResult::reason).containsExactly(Status.NEUTRAL, "signature expired");
    }

    @Test
    void anOversizedHeaderSectionIsOnePermanentError() {
        String huge = "X-Filler: " + "a".repeat(DkimHeaderSection.MAX_HEADER_SECTION) + "\r\n" + RFC8463_MESSAGE;
        assertThat(verifier.verify(bytes(RFC8463_SIGNATURES + huge))).singleElement()
                .extracting(DkimResult::status).isEqualTo(Status.PERMERROR);
    }

    static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.ISO_8859_1);
    }

    static byte[] concat(byte[] a, byte[] b) {
        byte[] all = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, all, a.length, b.length);
        return all;
    }
}
