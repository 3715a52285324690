package org.castellan.security.mailauth;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.castellan.security.mailauth.AuthenticationResults.Entry;
import org.castellan.security.mailauth.AuthenticationResults.Header;
import org.junit.jupiter.api.Test;

class AuthenticationResultsTest {

    private static final String ID = "mx.example.net";

    private static Spf.Outcome spf(Spf.Result r, Spf.Identity identity, String domain, String sender) {
        return new Spf.Outcome(r, identity, domain, sender, Optional.empty(), "");
    }

    @Test
    void rendersEachMethodOnItsOwnLine() { // RFC 8601 §2.2, §2.7
        List<Entry> entries = new ArrayList<>();
        entries.add(AuthenticationResults.spf(spf(Spf.Result.PASS, Spf.Identity.MAILFROM, "example.com", "alice@example.com")));
        entries.addAll(AuthenticationResults.dkim(List.of(new SignatureCheck("pass", "example.com", Optional.of("sel1"), Optional.empty()))));
        entries.add(AuthenticationResults.dmarc(new Dmarc.Verdict(Dmarc.Result.PASS, Optional.of("example.com"),
                Optional.of(Dmarc.Policy.REJECT), Dmarc.Policy.NONE, true, true, "")));
        assertThat(AuthenticationResults.field(ID, entries)).isEqualTo("""
                Authentication-Results: mx.example.net;\r
                \tspf=pass smtp.mailfrom=alice@example.com;\r
                \tdkim=pass header.d=example.com header.s=sel1;\r
                \tdmarc=pass (p=reject dis=none) header.from=example.com\r
                """);
    }

    @Test
    void noResultsIsNone() {
        assertThat(AuthenticationResults.field(ID, List.of())).isEqualTo("Authentication-Results: mx.example.net; none\r\n");
    }

    @Test
    void noSignatureIsDkimNone() {
        assertThat(AuthenticationResults.dkim(List.of())).extracting(Entry::result).containsExactly("none");
    }

    @Test
    void heloIdentityUsesSmtpHelo() {
        String f = AuthenticationResults.field(ID, List.of(AuthenticationResults.spf(
                spf(Spf.Result.NONE, Spf.Identity.HELO, "client.example.org", "postmaster@client.example.org"))));
        assertThat(f).contains("spf=none smtp.helo=client.example.org");
    }

    @Test
    void quotesWhatIsNotATokenOrAddressAndDropsLineBreaks() {
        String f = AuthenticationResults.field(ID, List.of(AuthenticationResults.spf(spf(Spf.Result.FAIL, Spf.Identity.MAILFROM,
                "example.com", "\"odd local\"@example.com\r\nX-Injected: yes"))));
        assertThat(f).contains("smtp.mailfrom=\"\\\"odd local\\\"@example.com??X-Injected: yes\"");
        assertThat(f.split("\r\n")).hasSize(2);
    }

    @Test
    void foldsLongEntries() {
        String longDomain = "a".repeat(40) + ".example.com";
        String f = AuthenticationResults.field(ID, AuthenticationResults.dkim(List.of(
                new SignatureCheck("fail", longDomain, Optional.of("s".repeat(30)), Optional.of("signature did not verify")))));
        for (String line : f.split("\r\n")) assertThat(line.length()).isLessThanOrEqualTo(AuthenticationResults.LINE);
        assertThat(f.replace("\r\n\t", " ")).contains("dkim=fail (signature did not verify) header.d=" + longDomain + " header.s=");
    }

    private static Header strip(String message) {
        byte[] b = message.getBytes(StandardCharsets.UTF_8);
        return AuthenticationResults.withoutOurs(b, b.length, true, ID).orElseThrow();
    }

    @Test
    void removesOnlyFieldsClaimingOurId() { // RFC 8601 §5
        String message = "Received: from a\r\n"
                + "Authentication-Results: mx.example.net; spf=pass\r\n smtp.mailfrom=x@example.com\r\n"
                + "authentication-results: (comment) \"MX.Example.Net\"; dkim=pass\r\n"
                + "Authentication-Results: other.example; spf=fail\r\n"
                + "Authentication-Results: mx.example.net.evil; spf=pass\r\n"
                + "Subject: hi\r\n"
                + "\r\n"
                + "Authentication-Results: mx.example.net; in the body\r\n";
        Header h = strip(message);
        assertThat(h.removed()).isEqualTo(2);
        assertThat(new String(h.kept(), StandardCharsets.UTF_8)).isEqualTo("Received: from a\r\n"
                + "Authentication-Results: other.example; spf=fail\r\n"
                + "Authentication-Results: mx.example.net.evil; spf=pass\r\n"
                + "Subject: hi\r\n\r\n");
        assertThat(message.substring(h.end())).isEqualTo("Authentication-Results: mx.example.net; in the body\r\n");
    }

    @Test
    void headerWithoutBody() {
        Header h = strip("Subject: x\r\nAuthentication-Results: mx.example.net; none\r\n");
        assertThat(new String(h.kept(), StandardCharsets.UTF_8)).isEqualTo("Subject: x\r\n");
        assertThat(h.removed()).isEqualTo(1);
    }

    @Test
    void headerNotEndedInWhatWasReadIsEmpty() {
        byte[] b = "Subject: x\r\nX-Long: yyyy".getBytes(StandardCharsets.US_ASCII);
        assertThat(AuthenticationResults.withoutOurs(b, b.length, false, ID)).isEmpty();
    }

    @Test
    void authservIdForms() {
        assertThat(AuthenticationResults.authservId(" example.org; spf=pass")).contains("example.org");
        assertThat(AuthenticationResults.authservId(" (a (nested) comment) example.org 1; none")).contains("example.org");
        assertThat(AuthenticationResults.authservId(" \"quoted\\\"id\";")).contains("quoted\"id");
        assertThat(AuthenticationResults.authservId(" (unclosed")).isEmpty();
        // RFC 8601 §2.2: authserv-id is a value (token or quoted-string) after CFWS; nothing else is one.
        assertThat(AuthenticationResults.authservId("")).isEmpty();
        assertThat(AuthenticationResults.authservId(" \t ")).isEmpty();
        assertThat(AuthenticationResults.authservId(" ; spf=pass")).isEmpty();
        assertThat(AuthenticationResults.authservId(" \"unterminated\\")).isEmpty();
        assertThat(AuthenticationResults.authservId("\texample.org(comment); none")).contains("example.org");
        assertThat(AuthenticationResults.authservId(" (a \\) still comment) example.org; none")).contains("example.org");
    }
}
