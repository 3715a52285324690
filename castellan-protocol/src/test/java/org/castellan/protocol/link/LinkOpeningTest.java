package org.castellan.protocol.link;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The opening exchange of docs/roles.md §2: what the edge writes, the node reads back unchanged. */
class LinkOpeningTest {

    private static final LinkOpening OPENING = new LinkOpening("imap", "zoë@exämple.org", "SCRAM-SHA-256-PLUS",
            "2001:db8::7", 51234, Optional.of("TLSv1.3"), Optional.of("TLS_AES_128_GCM_SHA256"), Optional.of("1f3a"),
            "edge-1/3k", List.of("name", "Thunder bird\r\n* OK", "version", "128.0"));

    @Test
    void everyFieldSurvivesTheLineEvenSpacesLineBreaksAndUtf8() {
        String line = OPENING.format();
        assertThat(line).endsWith("\r\n").doesNotContain("\r\n*").startsWith("OPEN protocol=imap account=zo%C3%AB%40");
        assertThat(line.substring(0, line.length() - 2)).doesNotContain("\r", "\n");
        assertThat(LinkOpening.parse(line.substring(0, line.length() - 2))).isEqualTo(new LinkOpening.Valid(OPENING));
    }

    @Test
    void aCleartextClientWithoutIdHasNoTlsWords() {
        var plain = new LinkOpening("pop3", "bob@example.org", "USER", "192.0.2.7", 110, Optional.empty(),
                Optional.empty(), Optional.empty(), "7", List.of());
        String line = plain.format();
        assertThat(line).doesNotContain("tls=", "cipher=", "certificate=", "id.");
        assertThat(LinkOpening.parse(line.strip())).isEqualTo(new LinkOpening.Valid(plain));
    }

    @Test
    void anIdListTooLongForTheLineIsLeftOut() {
        var chatty = new LinkOpening("imap", "a@example.org", "LOGIN", "192.0.2.7", 1, Optional.empty(), Optional.empty(),
                Optional.empty(), "7", List.of("x", "\u00ff".repeat(LinkOpening.MAX_LINE)));
        assertThat(chatty.format()).hasSizeLessThanOrEqualTo(LinkOpening.MAX_LINE).doesNotContain("id.");
    }

    @Test
    void aSubmissionCarriesTheEhloDomain() {
        var submission = new LinkOpening(LinkOpening.SUBMISSION, "bob@example.org", "PLAIN", "192.0.2.7", 51000,
                Optional.of("TLSv1.3"), Optional.of("TLS_AES_256_GCM_SHA384"), Optional.empty(), "9", List.of(),
                Optional.of("[192.0.2.7] laptop"));
        String line = submission.format();
        assertThat(line).contains(" ehlo=%5B192.0.2.7%5D%20laptop");
        assertThat(LinkOpening.parse(line.strip())).isEqualTo(new LinkOpening.Valid(submission));
    }

    /** HTTPS and LDAP authenticate at the node: no account; the certificate itself travels, for EST. */
    @Test
    void anHttpsOpeningCarriesTheClientsCertificateWithoutAnAccount() {
        byte[] der = new byte[1500];
        for (int i = 0; i < der.length; i++) der[i] = (byte) (i * 31);
        var https = new LinkOpening(LinkOpening.HTTPS, "", "", "192.0.2.7", 50443, Optional.of("TLSv1.3"),
                Optional.of("TLS_AES_128_GCM_SHA256"), Optional.of("5e"), "w1", List.of()).withClientCertificate(der);
        String line = https.format();
        assertThat(line).doesNotContain("account=", "%").contains(" certificate-der=").hasSizeLessThan(LinkOpening.MAX_LINE);
        var parsed = LinkOpening.parse(line.strip());
        assertThat(parsed).isEqualTo(new LinkOpening.Valid(https));
        assertThat(((LinkOpening.Valid) parsed).opening().clientCertificateDer().orElseThrow()).isEqualTo(der);
        assertThat(LinkOpening.parse("OPEN protocol=ldap client=192.0.2.1 port=9 session=1")).isInstanceOf(LinkOpening.Valid.class);
        // A certificate too large for the line goes as its serial alone.
        String huge = https.withClientCertificate(new byte[LinkOpening.MAX_LINE]).format();
        assertThat(huge).hasSizeLessThanOrEqualTo(LinkOpening.MAX_LINE).doesNotContain("certificate-der=").contains(" certificate=5e");
    }

    /** A delivery from the MX relay queue asserts no account: the recipients are the transaction's. */
    @Test
    void anMxDeliveryNeedsNoAccountButOthersDo() {
        var mx = new LinkOpening(LinkOpening.MX, "", "", "198.51.100.4", 25, Optional.empty(), Optional.empty(),
                Optional.empty(), "q17", List.of(), Optional.of("mail.example.net"));
        assertThat(mx.format()).doesNotContain("account=", "mechanism=");
        assertThat(LinkOpening.parse(mx.format().strip())).isEqualTo(new LinkOpening.Valid(mx));
        assertThat(LinkOpening.parse("OPEN protocol=submission client=192.0.2.1 port=9 session=1"))
                .isEqualTo(new LinkOpening.Invalid("no account"));
    }

    @Test
    void unknownWordsAreSkipped() {
        assertThat(LinkOpening.parse("OPEN protocol=pop3 account=a%40b mechanism=USER client=192.0.2.1 port=9 session=1 later=x"))
                .isInstanceOf(LinkOpening.Valid.class);
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "open protocol=imap", "OPEN", "OPEN protocol=imap account=a mechanism=LOGIN client=192.0.2.1 port=9",
            "OPEN protocol=smtp account=a mechanism=LOGIN client=192.0.2.1 port=9 session=1",
            "OPEN protocol=imap account=a mechanism=LOGIN client=192.0.2.1 port=70000 session=1",
            "OPEN protocol=imap account=a mechanism=LOGIN client=host.example port=9 session=1",
            "OPEN protocol=imap account=a%4 mechanism=LOGIN client=192.0.2.1 port=9 session=1",
            "OPEN protocol=imap account=%FF mechanism=LOGIN client=192.0.2.1 port=9 session=1",
            "OPEN protocol=imap account=a account=b mechanism=LOGIN client=192.0.2.1 port=9 session=1",
            "OPEN protocol=imap  account=a mechanism=LOGIN client=192.0.2.1 port=9 session=1"})
    void aBrokenLineIsInvalidNotAnException(String line) {
        assertThat(LinkOpening.parse(line)).isInstanceOf(LinkOpening.Invalid.class);
    }

    @Test
    void answers() {
        assertThat(new LinkOpening.Ready("IMAP4rev1 IMAP4rev2 IDLE").line()).isEqualTo("READY IMAP4rev1 IMAP4rev2 IDLE\r\n");
        assertThat(new LinkOpening.Refused("IN-USE", "locked\r\n").line()).isEqualTo("NO IN-USE locked??\r\n");
        assertThat(LinkOpening.parseAnswer("READY IMAP4rev2 IDLE")).hasValue(new LinkOpening.Ready("IMAP4rev2 IDLE"));
        assertThat(LinkOpening.parseAnswer("NO UNAVAILABLE Try later"))
                .hasValue(new LinkOpening.Refused("UNAVAILABLE", "Try later"));
        assertThat(LinkOpening.parseAnswer("* OK hello")).isEmpty();
        assertThat(LinkOpening.parseAnswer("NO bad")).isEmpty();
    }
}
