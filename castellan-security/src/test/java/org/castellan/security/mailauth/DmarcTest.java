package org.castellan.security.mailauth;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Optional;
import java.util.random.RandomGenerator;
import org.castellan.security.mailauth.Dmarc.Policy;
import org.castellan.security.mailauth.Dmarc.Result;
import org.castellan.security.mailauth.Dmarc.Verdict;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class DmarcTest {

    /** A pct draw that always gives {@code value} (RFC 7489 §6.6.4 samples with nextInt(100)). */
    private static RandomGenerator draws(int value) {
        return new RandomGenerator() {
            @Override
            public long nextLong() {
                throw new UnsupportedOperationException("only nextInt(bound) is drawn");
            }

            @Override
            public int nextInt(int bound) {
                return value;
            }
        };
    }

    private static Verdict verdict(ZoneDns dns, String from, Spf.Result spf, String spfDomain, String... dkim) {
        return new Dmarc(dns, draws(0)).evaluate(List.of(from), spf, spfDomain, List.of(dkim));
    }

    @Test
    void noRecordIsNone() {
        Verdict v = verdict(new ZoneDns(), "example.com", Spf.Result.FAIL, "example.com");
        assertThat(v.result()).isEqualTo(Result.NONE);
        assertThat(v.apply()).isEqualTo(Policy.NONE);
    }

    @Test
    void relaxedSpfAlignmentPasses() { // RFC 7489 §3.1.2
        ZoneDns dns = new ZoneDns().txt("_dmarc.example.com", "v=DMARC1; p=reject");
        Verdict v = verdict(dns, "example.com", Spf.Result.PASS, "bounces.example.com");
        assertThat(v.result()).isEqualTo(Result.PASS);
        assertThat(v.spfAligned()).isTrue();
        assertThat(v.requested()).contains(Policy.REJECT);
        assertThat(v.apply()).isEqualTo(Policy.NONE);
    }

    @Test
    void strictSpfAlignmentWantsTheSameName() {
        ZoneDns dns = new ZoneDns().txt("_dmarc.example.com", "v=DMARC1; p=reject; aspf=s");
        assertThat(verdict(dns, "example.com", Spf.Result.PASS, "bounces.example.com").result()).isEqualTo(Result.FAIL);
        assertThat(verdict(dns, "example.com", Spf.Result.PASS, "EXAMPLE.com").result()).isEqualTo(Result.PASS);
    }

    @Test
    void spfPassForAnotherDomainIsNotAligned() {
        ZoneDns dns = new ZoneDns().txt("_dmarc.example.com", "v=DMARC1; p=reject");
        Verdict v = verdict(dns, "example.com", Spf.Result.PASS, "example.net");
        assertThat(v.result()).isEqualTo(Result.FAIL);
        assertThat(v.apply()).isEqualTo(Policy.REJECT);
    }

    @Test
    void softfailIsNotAPass() {
        ZoneDns dns = new ZoneDns().txt("_dmarc.example.com", "v=DMARC1; p=quarantine");
        assertThat(verdict(dns, "example.com", Spf.Result.SOFTFAIL, "example.com").apply()).isEqualTo(Policy.QUARANTINE);
    }

    @Test
    void dkimAlignment() { // RFC 7489 §3.1.1
        ZoneDns dns = new ZoneDns().txt("_dmarc.example.com", "v=DMARC1; p=reject; adkim=s");
        Verdict v = verdict(dns, "example.com", Spf.Result.FAIL, "example.net", "mail.example.com", "example.com");
        assertThat(v.result()).isEqualTo(Result.PASS);
        assertThat(v.dkimAligned()).isTrue();
        assertThat(verdict(dns, "example.com", Spf.Result.FAIL, "example.net", "mail.example.com").result()).isEqualTo(Result.FAIL);
        ZoneDns relaxed = new ZoneDns().txt("_dmarc.example.com", "v=DMARC1; p=reject");
        assertThat(verdict(relaxed, "example.com", Spf.Result.FAIL, "example.net", "mail.example.com").result()).isEqualTo(Result.PASS);
    }

    @Test
    void organizationalDomainRecordUsesSp() { // RFC 7489 §6.6.3, §6.3
        ZoneDns dns = new ZoneDns().txt("_dmarc.example.co.uk", "v=DMARC1; p=reject; sp=quarantine");
        Verdict v = verdict(dns, "news.example.co.uk", Spf.Result.FAIL, "example.net");
        assertThat(v.result()).isEqualTo(Result.FAIL);
        assertThat(v.requested()).contains(Policy.QUARANTINE);
        assertThat(verdict(dns, "example.co.uk", Spf.Result.FAIL, "example.net").requested()).contains(Policy.REJECT);
    }

    @Test
    void pctSamplesAndAppliesTheNextLowerPolicyOutside() { // RFC 7489 §6.6.4
        ZoneDns dns = new ZoneDns().txt("_dmarc.example.com", "v=DMARC1; p=reject; pct=30");
        Dmarc in = new Dmarc(dns, draws(29));
        Dmarc out = new Dmarc(dns, draws(30));
        assertThat(in.evaluate(List.of("example.com"), Spf.Result.FAIL, "x.example", List.of()).apply()).isEqualTo(Policy.REJECT);
        assertThat(out.evaluate(List.of("example.com"), Spf.Result.FAIL, "x.example", List.of()).apply()).isEqualTo(Policy.QUARANTINE);
        ZoneDns quarantine = new ZoneDns().txt("_dmarc.example.com", "v=DMARC1; p=quarantine; pct=0");
        assertThat(verdict(quarantine, "example.com", Spf.Result.FAIL, "x.example").apply()).isEqualTo(Policy.NONE);
    }

    @Test
    void dnsFailureIsTemperror() {
        ZoneDns dns = new ZoneDns().failing("_dmarc.example.com");
        Verdict v = verdict(dns, "example.com", Spf.Result.FAIL, "x.example");
        assertThat(v.result()).isEqualTo(Result.TEMPERROR);
        assertThat(v.apply()).isEqualTo(Policy.NONE);
    }

    @Test
    void spfTemperrorWithoutAlignedDkimIsTemperror() {
        ZoneDns dns = new ZoneDns().txt("_dmarc.example.com", "v=DMARC1; p=reject");
        Verdict v = verdict(dns, "example.com", Spf.Result.TEMPERROR, "example.com");
        assertThat(v.result()).isEqualTo(Result.TEMPERROR);
        assertThat(v.apply()).isEqualTo(Policy.NONE);
        assertThat(verdict(dns, "example.com", Spf.Result.TEMPERROR, "example.com", "example.com").result()).isEqualTo(Result.PASS);
    }

    @Test
    void severalRecordsMeanNoPolicy() { // RFC 7489 §6.6.3
        ZoneDns dns = new ZoneDns().txt("_dmarc.example.com", "v=DMARC1; p=reject", "v=DMARC1; p=none");
        assertThat(verdict(dns, "example.com", Spf.Result.FAIL, "x.example").result()).isEqualTo(Result.NONE);
    }

    @Test
    void otherTxtRecordsAreNotDmarc() {
        ZoneDns dns = new ZoneDns().txt("_dmarc.example.com", "some verification", "v=DMARC1; p=reject");
        assertThat(verdict(dns, "example.com", Spf.Result.FAIL, "x.example").apply()).isEqualTo(Policy.REJECT);
    }

    @Test
    void badTagIsPermerror() {
        ZoneDns dns = new ZoneDns().txt("_dmarc.example.com", "v=DMARC1; p=reject; adkim=x");
        assertThat(verdict(dns, "example.com", Spf.Result.FAIL, "x.example").result()).isEqualTo(Result.PERMERROR);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            v=DMARC1; p=reject                                   | REJECT     | REJECT     | 100
            v=DMARC1;p=Quarantine;sp=none;pct=20;                | QUARANTINE | NONE       | 20
            v=DMARC1; p=none; rua=mailto:d@example.com; fo=1; rf=afrf; ri=86400; future=x | NONE | NONE | 100
            v=DMARC1; rua=mailto:d@example.com                   | NONE       | NONE       | 100
            v=DMARC1; p=bogus; rua=mailto:d@example.com          | NONE       | NONE       | 100
            v=DMARC1; p=reject; pct=100                          | REJECT     | REJECT     | 100
            v=DMARC1; p=reject; pct=0                            | REJECT     | REJECT     | 0
            """)
    void parses(String txt, Policy p, Policy sp, int pct) {
        Dmarc.PolicyRecord r = ((Dmarc.Parsed.Valid) Dmarc.parse(txt)).record();
        assertThat(r.policy()).isEqualTo(p);
        assertThat(r.subdomainPolicy()).isEqualTo(sp);
        assertThat(r.percent()).isEqualTo(pct);
    }

    @Test
    void parseRejects() {
        assertThat(Dmarc.parse("v=DMARC1; p=bogus")).isInstanceOf(Dmarc.Parsed.NotDmarc.class); // §6.6.3 step 6
        assertThat(Dmarc.parse("p=reject; v=DMARC1")).isInstanceOf(Dmarc.Parsed.NotDmarc.class); // v must be first
        assertThat(Dmarc.parse("v=dmarc1; p=reject")).isInstanceOf(Dmarc.Parsed.NotDmarc.class);
        assertThat(Dmarc.parse("v=DMARC1; p=reject; pct=101")).isInstanceOf(Dmarc.Parsed.Invalid.class);
        assertThat(Dmarc.parse("v=DMARC1; p=reject; p=none")).isInstanceOf(Dmarc.Parsed.Invalid.class);
        assertThat(Dmarc.parse("v=DMARC1; p=reject; =none")).isInstanceOf(Dmarc.Parsed.Invalid.class); // §6.4: a tag has a name
        // §6.6.3 step 6: only a valid rua (a mailto: URI, §6.2) turns a record without a valid p into p=none.
        assertThat(Dmarc.parse("v=DMARC1; p=bogus; rua=https://reports.example.com/")).isInstanceOf(Dmarc.Parsed.NotDmarc.class);
        Dmarc.PolicyRecord r = ((Dmarc.Parsed.Valid) Dmarc.parse("v=DMARC1; p=reject; rua=mailto:a@example.com,mailto:b@example.net!10m"))
                .record();
        assertThat(r.aggregateReports()).containsExactly("mailto:a@example.com", "mailto:b@example.net!10m");
    }

    @Test
    void severalFromDomainsTakeTheStrictestFailure() { // RFC 7489 §6.6.1
        ZoneDns dns = new ZoneDns()
                .txt("_dmarc.example.com", "v=DMARC1; p=none")
                .txt("_dmarc.example.org", "v=DMARC1; p=reject")
                .txt("_dmarc.example.net", "v=DMARC1; p=quarantine");
        Verdict v = new Dmarc(dns, draws(0)).evaluate(List.of("example.com", "example.org", "example.net"), Spf.Result.PASS,
                "example.com", List.of());
        assertThat(v.result()).isEqualTo(Result.FAIL);
        assertThat(v.fromDomain()).contains("example.org");
        assertThat(v.apply()).isEqualTo(Policy.REJECT);
    }

    /** Which of the no-policy cases it was, and which identifier aligned, is said: the log line of each message gives it. */
    @Test
    void eachNoneSaysWhyAndEachPassWhichIdentifierAligned() {
        ZoneDns dns = new ZoneDns().txt("_dmarc.example.com", "v=DMARC1; p=reject");
        assertThat(verdict(new ZoneDns(), "example.com", Spf.Result.FAIL, "example.com"))
                .extracting(Verdict::detail, Verdict::fromDomain).containsExactly("no DMARC record", Optional.of("example.com"));
        assertThat(verdict(dns, "localhost", Spf.Result.FAIL, "example.com"))
                .extracting(Verdict::detail, Verdict::fromDomain).containsExactly("not a domain name", Optional.of("localhost"));
        assertThat(verdict(dns, "example.com", Spf.Result.PASS, "example.com").detail()).isEqualTo("SPF aligned");
        assertThat(verdict(dns, "example.com", Spf.Result.FAIL, "x.example", "example.com").detail()).isEqualTo("DKIM aligned");
    }

    @Test
    void domainLiteralIsNone() {
        ZoneDns dns = new ZoneDns();
        assertThat(verdict(dns, "[192.0.2.1]", Spf.Result.FAIL, "x.example").result()).isEqualTo(Result.NONE);
        assertThat(dns.queries).isZero();
    }

    @Test
    void noFromDomainIsNone() {
        assertThat(new Dmarc(new ZoneDns(), draws(0)).evaluate(List.of(), Spf.Result.PASS, "example.com", List.of()).result())
                .isEqualTo(Result.NONE);
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource(delimiter = '|', textBlock = """
            example.com              | example.com
            mail.example.com         | example.com
            a.b.example.co.uk        | example.co.uk
            EXAMPLE.COM.             | example.com
            host.under.unlisted-tld-x | under.unlisted-tld-x
            com                      | com
            """)
    void organizationalDomain(String domain, String expected) { // RFC 7489 §3.2
        assertThat(Dmarc.organizationalDomain(domain)).isEqualTo(expected);
    }
}
