package org.castellan.security.mailauth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.castellan.security.mailauth.ZoneDns.ip;

import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Optional;
import org.castellan.security.mailauth.Spf.Result;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class SpfTest {

    private static final Clock CLOCK = Clock.fixed(Instant.ofEpochSecond(1_800_000_000L), ZoneOffset.UTC);

    /** RFC 7208 Appendix A's zone (example.com, example.org and the reverse zones). */
    static ZoneDns appendixA() {
        return new ZoneDns()
                .mx("example.com", "mail-a.example.com", "mail-b.example.com")
                .a("example.com", "192.0.2.10", "192.0.2.11")
                .a("amy.example.com", "192.0.2.65")
                .a("bob.example.com", "192.0.2.66")
                .a("mail-a.example.com", "192.0.2.129")
                .a("mail-b.example.com", "192.0.2.130")
                .mx("example.org", "mail-c.example.org")
                .a("mail-c.example.org", "192.0.2.140")
                .ptr("192.0.2.10", "example.com")
                .ptr("192.0.2.11", "example.com")
                .ptr("192.0.2.65", "amy.example.com")
                .ptr("192.0.2.66", "bob.example.com")
                .ptr("192.0.2.129", "mail-a.example.com")
                .ptr("192.0.2.130", "mail-b.example.com")
                .ptr("192.0.2.140", "mail-c.example.org")
                .ptr("10.0.0.4", "bob.example.com");
    }

    private static Spf.Outcome check(ZoneDns dns, String client, String sender) {
        return new Spf(dns, "mx.example.net", CLOCK).checkMailFrom(ip(client), "helo.example.net", Optional.of(sender));
    }

    private static Result result(String record, String client) {
        return check(appendixA().txt("example.com", record), client, "user@example.com").result();
    }

    /** RFC 7208 Appendix A.1, each record with the hosts its text says pass or fail. */
    @ParameterizedTest(name = "{0} from {1}: {2}")
    @CsvSource(delimiter = '|', textBlock = """
            v=spf1 +all                         | 198.51.100.7 | PASS
            v=spf1 a -all                       | 192.0.2.10   | PASS
            v=spf1 a -all                       | 192.0.2.11   | PASS
            v=spf1 a -all                       | 192.0.2.65   | FAIL
            v=spf1 a:example.org -all           | 192.0.2.10   | FAIL
            v=spf1 a:example.org -all           | 192.0.2.140  | FAIL
            v=spf1 mx -all                      | 192.0.2.129  | PASS
            v=spf1 mx -all                      | 192.0.2.130  | PASS
            v=spf1 mx -all                      | 192.0.2.10   | FAIL
            v=spf1 mx:example.org -all          | 192.0.2.140  | PASS
            v=spf1 mx:example.org -all          | 192.0.2.129  | FAIL
            v=spf1 mx mx:example.org -all       | 192.0.2.129  | PASS
            v=spf1 mx mx:example.org -all       | 192.0.2.130  | PASS
            v=spf1 mx mx:example.org -all       | 192.0.2.140  | PASS
            v=spf1 mx/30 mx:example.org/30 -all | 192.0.2.128  | PASS
            v=spf1 mx/30 mx:example.org/30 -all | 192.0.2.131  | PASS
            v=spf1 mx/30 mx:example.org/30 -all | 192.0.2.132  | FAIL
            v=spf1 mx/30 mx:example.org/30 -all | 192.0.2.140  | PASS
            v=spf1 mx/30 mx:example.org/30 -all | 192.0.2.143  | PASS
            v=spf1 mx/30 mx:example.org/30 -all | 192.0.2.144  | FAIL
            v=spf1 ptr -all                     | 192.0.2.65   | PASS
            v=spf1 ptr -all                     | 192.0.2.140  | FAIL
            v=spf1 ptr -all                     | 10.0.0.4     | FAIL
            v=spf1 ip4:192.0.2.128/28 -all      | 192.0.2.65   | FAIL
            v=spf1 ip4:192.0.2.128/28 -all      | 192.0.2.129  | PASS
            v=spf1 -ip4:192.0.2.0/24 +all       | 192.0.2.1    | FAIL
            v=spf1 -ip4:192.0.2.0/24 +all       | 198.51.100.1 | PASS
            v=spf1 -ptr +all                    | 192.0.2.65   | FAIL
            v=spf1 -ptr +all                    | 192.0.2.140  | PASS
            """)
    void appendixA1AndA4(String record, String client, Result expected) {
        assertThat(result(record, client)).isEqualTo(expected);
    }

    /** RFC 7208 Appendix A.2: related domains share one record through include and redirect. */
    @Test
    void appendixA2MultipleDomains() {
        ZoneDns dns = appendixA()
                .txt("example.com", "v=spf1 a -all")
                .txt("example.net", "v=spf1 ip4:198.51.100.0/24 -all")
                .txt("example.org", "v=spf1 include:example.com include:example.net -all")
                .txt("la.example.org", "v=spf1 redirect=example.org");
        assertThat(check(dns, "192.0.2.10", "bob@example.org").result()).isEqualTo(Result.PASS);
        assertThat(check(dns, "198.51.100.9", "bob@example.org").result()).isEqualTo(Result.PASS);
        assertThat(check(dns, "203.0.113.1", "bob@example.org").result()).isEqualTo(Result.FAIL);
        assertThat(check(dns, "198.51.100.9", "bob@la.example.org").result()).isEqualTo(Result.PASS);
        assertThat(check(dns, "203.0.113.1", "bob@la.example.org").result()).isEqualTo(Result.FAIL);
    }

    /** RFC 7208 Appendix A.3: DNSBL-style exists with l1r+ and ir macros. */
    @Test
    void appendixA3DnsblStyle() {
        ZoneDns dns = appendixA()
                .txt("example.com", "v=spf1 mx include:mobile-users._spf.%{d} include:remote-users._spf.%{d} -all")
                .txt("mobile-users._spf.example.com", "v=spf1 exists:%{l1r+}.%{d}")
                .txt("remote-users._spf.example.com", "v=spf1 exists:%{ir}.%{l1r+}.%{d}")
                .a("mary.mobile-users._spf.example.com", "127.0.0.2")
                .a("fred.mobile-users._spf.example.com", "127.0.0.2")
                .a("15.15.168.192.joel.remote-users._spf.example.com", "127.0.0.2")
                .a("16.15.168.192.joel.remote-users._spf.example.com", "127.0.0.2");
        assertThat(check(dns, "203.0.113.5", "mary@example.com").result()).isEqualTo(Result.PASS);
        assertThat(check(dns, "203.0.113.5", "fred+news@example.com").result()).isEqualTo(Result.PASS);
        assertThat(check(dns, "192.168.15.15", "joel@example.com").result()).isEqualTo(Result.PASS);
        assertThat(check(dns, "192.168.15.16", "joel@example.com").result()).isEqualTo(Result.PASS);
        assertThat(check(dns, "192.168.15.17", "joel@example.com").result()).isEqualTo(Result.FAIL);
        assertThat(check(dns, "192.0.2.129", "anyone@example.com").result()).isEqualTo(Result.PASS);
    }

    @Nested
    class RecordSelection {

        @Test
        void noRecordIsNone() {
            assertThat(check(appendixA(), "192.0.2.10", "a@example.com").result()).isEqualTo(Result.NONE);
        }

        @Test
        void nxdomainIsNone() {
            assertThat(check(appendixA(), "192.0.2.10", "a@nowhere.example").result()).isEqualTo(Result.NONE);
        }

        @Test
        void otherTxtRecordsAreIgnored() {
            ZoneDns dns = appendixA().txt("example.com", "google-site-verification=abc", "v=spf10 -all", "v=spf1 a -all");
            assertThat(check(dns, "192.0.2.10", "a@example.com").result()).isEqualTo(Result.PASS);
        }

        @Test
        void twoSpfRecordsArePermerror() { // RFC 7208 §4.5
            ZoneDns dns = appendixA().txt("example.com", "v=spf1 +all", "v=spf1 -all");
            assertThat(check(dns, "192.0.2.10", "a@example.com").result()).isEqualTo(Result.PERMERROR);
        }

        @Test
        void dnsFailureIsTemperror() { // RFC 7208 §4.4
            assertThat(check(appendixA().failing("example.com"), "192.0.2.10", "a@example.com").result())
                    .isEqualTo(Result.TEMPERROR);
        }

        @Test
        void malformedDomainIsNone() { // RFC 7208 §4.3
            assertThat(check(appendixA(), "192.0.2.10", "a@localhost").result()).isEqualTo(Result.NONE);
            assertThat(check(appendixA(), "192.0.2.10", "a@" + "x".repeat(64) + ".example").result()).isEqualTo(Result.NONE);
        }

        @Test
        void labelsOf63AndNamesOf253OctetsAreStillDomains() { // RFC 7208 §4.3, RFC 1035 §2.3.4
            String label63 = "x".repeat(63) + ".example";
            String name253 = "a".repeat(63) + "." + "b".repeat(63) + "." + "c".repeat(63) + "." + "d".repeat(61);
            ZoneDns dns = appendixA().txt(label63, "v=spf1 +all").txt(name253, "v=spf1 +all").txt("e" + name253, "v=spf1 +all");
            assertThat(check(dns, "192.0.2.10", "a@" + label63).result()).isEqualTo(Result.PASS);
            assertThat(check(dns, "192.0.2.10", "a@" + name253).result()).isEqualTo(Result.PASS);
            assertThat(check(dns, "192.0.2.10", "a@e" + name253).result()).isEqualTo(Result.NONE); // 254 octets
        }

        @Test
        void noMatchIsNeutral() { // RFC 7208 §4.7
            assertThat(result("v=spf1 ip4:198.51.100.1", "192.0.2.10")).isEqualTo(Result.NEUTRAL);
        }

        @Test
        void versionIsCaseInsensitive() {
            assertThat(result("V=SPF1 A -ALL", "192.0.2.10")).isEqualTo(Result.PASS);
        }
    }

    @Nested
    class Syntax {

        @ParameterizedTest(name = "{0}")
        @CsvSource(delimiter = '|', textBlock = """
                v=spf1 foo -all                     | PERMERROR
                v=spf1 a:1.2.3.4 -all               | PERMERROR
                v=spf1 a:localhost -all             | PERMERROR
                v=spf1 ip4:192.0.2.1/33 -all        | PERMERROR
                v=spf1 ip4:192.0.2.01 -all          | PERMERROR
                v=spf1 ip4:192.0.2.256 -all         | PERMERROR
                v=spf1 ip6:2001:db8::/129 -all      | PERMERROR
                v=spf1 ip6:192.0.2.1 -all           | PERMERROR
                v=spf1 include -all                 | PERMERROR
                v=spf1 exists: -all                 | PERMERROR
                v=spf1 a: -all                      | PERMERROR
                v=spf1 mx:/24 -all                  | PERMERROR
                v=spf1 -all redirect=               | PERMERROR
                v=spf1 -all exp=                    | PERMERROR
                v=spf1 all:example.com              | PERMERROR
                v=spf1 a/024 -all                   | PERMERROR
                v=spf1 redirect=a.example redirect=b.example | PERMERROR
                v=spf1 exp=a.example exp=b.example -all | PERMERROR
                v=spf1 exists:%{x}.example.com -all | PERMERROR
                v=spf1 exists:%{c}.example.com -all | PERMERROR
                v=spf1 exists:%{d0}.example.com -all | PERMERROR
                v=spf1 exists:%{d.example.com -all  | PERMERROR
                v=spf1 a:ex%ample.com -all          | PERMERROR
                v=spf1 a -all moo=%{x}              | PERMERROR
                v=spf1 a -all foo=bar               | PASS
                v=spf1 a -all x-ignored=%{d}        | PASS
                v=spf1   a   -all                   | PASS
                v=spf1 a/24//64 -all                | PASS
                v=spf1 a:example.com/24 -all        | PASS
                v=spf1 a:example.com. -all          | PASS
                v=spf1 -ip4:192.0.2.0/24 ip4:0.0.0.0/0 | FAIL
                v=spf1 ip4:192.0.2.10/32 -all       | PASS
                v=spf1 ip4:192.0.2.255 -all         | FAIL
                v=spf1 ip6:2001:db8::/128 -all      | FAIL
                v=spf1 a:!~.example.com -all        | FAIL
                v=spf1 exists:example.com% -all     | PERMERROR
                v=spf1 exists:%{d}% -all            | PERMERROR
                """)
        void record(String record, Result expected) {
            assertThat(result(record, "192.0.2.10")).isEqualTo(expected);
        }

        @Test
        void syntaxErrorAfterAMatchIsStillPermerror() { // RFC 7208 §4.6: the record is parsed whole first
            assertThat(result("v=spf1 +all bogus:thing", "192.0.2.10")).isEqualTo(Result.PERMERROR);
        }

        @Test
        void tabIsNotASeparator() {
            assertThat(result("v=spf1 a\t-all", "192.0.2.10")).isEqualTo(Result.PERMERROR);
        }
    }

    @Nested
    class Mechanisms {

        @Test
        void ip6WithCidr() {
            ZoneDns dns = appendixA().txt("example.com", "v=spf1 ip6:2001:db8::/32 -all");
            assertThat(check(dns, "2001:db8:1::5", "a@example.com").result()).isEqualTo(Result.PASS);
            assertThat(check(dns, "2001:db9::5", "a@example.com").result()).isEqualTo(Result.FAIL);
            assertThat(check(dns, "192.0.2.10", "a@example.com").result()).isEqualTo(Result.FAIL);
        }

        @Test
        void ipv4MappedClientIsIpv4() { // RFC 7208 §5
            assertThat(check(appendixA().txt("example.com", "v=spf1 ip4:192.0.2.0/24 -all"), "::ffff:192.0.2.7", "a@example.com")
                    .result()).isEqualTo(Result.PASS);
        }

        /** Only ::ffff:0:0/96 is IPv4 (RFC 4291 §2.5.5.2): an address that merely ends like one stays IPv6. */
        @ParameterizedTest
        @CsvSource({"2001:db8::ffff:192.0.2.7", "::1:ffff:c000:207", "::ff:c000:207", "::ff00:c000:207"})
        void anIpv6ClientThatOnlyLooksMappedIsNotIpv4(String client) { // RFC 7208 §5
            assertThat(check(appendixA().txt("example.com", "v=spf1 ip4:192.0.2.0/24 -all"), client, "a@example.com")
                    .result()).isEqualTo(Result.FAIL);
        }

        @Test
        void existsNeedsAnAddressRecordNotAnAaaa() { // RFC 7208 §5.7: an A query whatever the client's family
            ZoneDns dns = appendixA().a("v6only.example", "2001:db8::1")
                    .txt("example.com", "v=spf1 exists:v6only.example -all");
            assertThat(check(dns, "192.0.2.1", "a@example.com").result()).isEqualTo(Result.FAIL);
        }

        @Test
        void dualCidrAppliesPerFamily() {
            ZoneDns dns = appendixA().a("dual.example.com", "192.0.2.200", "2001:db8:1:2::1")
                    .txt("example.com", "v=spf1 a:dual.example.com/24//64 -all");
            assertThat(check(dns, "192.0.2.1", "a@example.com").result()).isEqualTo(Result.PASS);
            assertThat(check(dns, "2001:db8:1:2:ffff::9", "a@example.com").result()).isEqualTo(Result.PASS);
            assertThat(check(dns, "2001:db8:1:3::1", "a@example.com").result()).isEqualTo(Result.FAIL);
        }

        @Test
        void includeOfADomainWithoutRecordIsPermerror() { // RFC 7208 §5.2
            assertThat(result("v=spf1 include:example.org -all", "192.0.2.10")).isEqualTo(Result.PERMERROR);
        }

        @Test
        void includeTemperrorIsTemperror() {
            ZoneDns dns = appendixA().failing("broken.example").txt("example.com", "v=spf1 include:broken.example -all");
            assertThat(check(dns, "192.0.2.10", "a@example.com").result()).isEqualTo(Result.TEMPERROR);
        }

        @Test
        void includedFailIsNoMatch() { // RFC 7208 §5.2: the including record goes on
            ZoneDns dns = appendixA().txt("other.example", "v=spf1 -all").txt("example.com", "v=spf1 include:other.example ~all");
            assertThat(check(dns, "192.0.2.10", "a@example.com").result()).isEqualTo(Result.SOFTFAIL);
        }

        @Test
        void redirectToNoRecordIsPermerror() { // RFC 7208 §6.1
            assertThat(result("v=spf1 redirect=example.org", "192.0.2.10")).isEqualTo(Result.PERMERROR);
        }

        @Test
        void redirectIsIgnoredWithAll() { // RFC 7208 §6.1
            assertThat(result("v=spf1 ?all redirect=nowhere.example", "192.0.2.10")).isEqualTo(Result.NEUTRAL);
        }

        @Test
        void qualifiers() {
            assertThat(result("v=spf1 ~all", "192.0.2.10")).isEqualTo(Result.SOFTFAIL);
            assertThat(result("v=spf1 ?all", "192.0.2.10")).isEqualTo(Result.NEUTRAL);
            assertThat(result("v=spf1 -all", "192.0.2.10")).isEqualTo(Result.FAIL);
        }

        @Test
        void existsQueriesAForAnIpv6Client() { // RFC 7208 §5.7
            ZoneDns dns = appendixA().a("yes.example.com", "127.0.0.2").a("v6only.example.com", "::1")
                    .txt("example.com", "v=spf1 exists:v6only.example.com exists:yes.example.com -all");
            assertThat(check(dns, "2001:db8::1", "a@example.com").result()).isEqualTo(Result.PASS);
        }

        @Test
        void ptrDnsErrorDoesNotMatch() { // RFC 7208 §5.5
            ZoneDns dns = appendixA().txt("example.com", "v=spf1 ptr ~all");
            assertThat(check(dns, "203.0.113.50", "a@example.com").result()).isEqualTo(Result.SOFTFAIL);
        }

        @Test
        void explanationOfAFail() { // RFC 7208 §6.2
            ZoneDns dns = appendixA().txt("example.com", "v=spf1 mx -all exp=explain._spf.%{d}")
                    .txt("explain._spf.example.com", "%{i} is not one of %{d}'s designated mail servers; see %{r} at %{t}");
            Spf.Outcome o = check(dns, "192.0.2.7", "a@example.com");
            assertThat(o.result()).isEqualTo(Result.FAIL);
            assertThat(o.explanation()).contains("192.0.2.7 is not one of example.com's designated mail servers; see mx.example.net at 1800000000");
        }
    }

    @Nested
    class Limits {

        @Test
        void eleventhDnsTermIsPermerror() { // RFC 7208 §4.6.4
            ZoneDns dns = appendixA();
            StringBuilder record = new StringBuilder("v=spf1");
            for (int i = 0; i < 10; i++) record.append(" a:example.com");
            dns.txt("ten.example", record + " ip4:192.0.2.77 -all");
            dns.txt("eleven.example", record + " a:example.com ip4:192.0.2.77 -all");
            assertThat(check(dns, "192.0.2.77", "a@ten.example").result()).isEqualTo(Result.PASS);
            assertThat(check(dns, "192.0.2.77", "a@eleven.example").result()).isEqualTo(Result.PERMERROR);
        }

        @Test
        void termsCountAcrossIncludes() {
            ZoneDns dns = appendixA();
            for (int i = 0; i < 12; i++) dns.txt("l" + i + ".example", "v=spf1 include:l" + (i + 1) + ".example");
            dns.txt("l12.example", "v=spf1 +all");
            assertThat(check(dns, "192.0.2.77", "a@l0.example").result()).isEqualTo(Result.PERMERROR);
        }

        @Test
        void includeLoopEndsAsPermerror() {
            ZoneDns dns = appendixA().txt("loop.example", "v=spf1 include:loop.example -all");
            assertThat(check(dns, "192.0.2.77", "a@loop.example").result()).isEqualTo(Result.PERMERROR);
            assertThat(dns.queries).isLessThanOrEqualTo(12);
        }

        @Test
        void thirdVoidLookupIsPermerror() { // RFC 7208 §4.6.4
            ZoneDns dns = appendixA()
                    .txt("two.example", "v=spf1 a:n1.example a:n2.example ip4:192.0.2.77 -all")
                    .txt("three.example", "v=spf1 a:n1.example a:n2.example a:n3.example ip4:192.0.2.77 -all");
            assertThat(check(dns, "192.0.2.77", "a@two.example").result()).isEqualTo(Result.PASS);
            assertThat(check(dns, "192.0.2.77", "a@three.example").result()).isEqualTo(Result.PERMERROR);
        }

        /** Each term that queries the DNS counts, not only a and include: here the eleventh would match. */
        @ParameterizedTest(name = "{0} from {1}")
        @CsvSource(delimiter = '|', textBlock = """
                mx:example.com      | 192.0.2.129
                ptr:example.com     | 192.0.2.65
                exists:example.com  | 192.0.2.1
                a:example.com       | 192.0.2.10
                include:ok.example  | 192.0.2.1
                """)
        void theEleventhTermOfAnyKindIsPermerror(String term, String client) { // RFC 7208 §4.6.4
            String nine = " a:mail-c.example.org".repeat(9);
            ZoneDns dns = appendixA().txt("ok.example", "v=spf1 +all")
                    .txt("ten.example", "v=spf1" + nine + " " + term + " -all")
                    .txt("eleven.example", "v=spf1" + nine + " a:mail-c.example.org " + term + " -all");
            assertThat(check(dns, client, "a@ten.example").result()).isEqualTo(Result.PASS);
            assertThat(check(dns, client, "a@eleven.example").result()).isEqualTo(Result.PERMERROR);
        }

        /** An A query of a name that has only AAAA records answers nothing: a void lookup (RFC 7208 §4.6.4). */
        @Test
        void aNameWithAddressesOfTheOtherFamilyOnlyIsAVoidLookup() {
            ZoneDns dns = appendixA()
                    .a("v6a.example", "2001:db8::a").a("v6b.example", "2001:db8::b").a("v6c.example", "2001:db8::c")
                    .txt("two.example", "v=spf1 a:v6a.example a:v6b.example ip4:192.0.2.77 -all")
                    .txt("three.example", "v=spf1 a:v6a.example a:v6b.example a:v6c.example ip4:192.0.2.77 -all");
            assertThat(check(dns, "192.0.2.77", "a@two.example").result()).isEqualTo(Result.PASS);
            assertThat(check(dns, "192.0.2.77", "a@three.example").result()).isEqualTo(Result.PERMERROR);
        }

        @Test
        void moreThanTenMxNamesIsPermerror() { // RFC 7208 §4.6.4
            ZoneDns dns = appendixA().txt("many.example", "v=spf1 mx -all");
            for (int i = 0; i < 11; i++) dns.mx("many.example", "mx" + i + ".many.example").a("mx" + i + ".many.example", "192.0.2." + i);
            assertThat(check(dns, "192.0.2.0", "a@many.example").result()).isEqualTo(Result.PERMERROR);
        }

        @Test
        void onlyTenPtrNamesAreValidated() { // RFC 7208 §4.6.4: the rest are ignored
            ZoneDns dns = appendixA().txt("example.com", "v=spf1 ptr -all");
            for (int i = 0; i < 10; i++) dns.ptr("192.0.2.99", "n" + i + ".elsewhere.example");
            dns.ptr("192.0.2.99", "host.example.com").a("host.example.com", "192.0.2.99");
            assertThat(check(dns, "192.0.2.99", "a@example.com").result()).isEqualTo(Result.FAIL);
        }
    }

    @Nested
    class Identities {

        @Test
        void heloIdentity() { // RFC 7208 §2.3
            ZoneDns dns = appendixA().txt("mail-a.example.com", "v=spf1 a -all");
            Spf spf = new Spf(dns, "mx.example.net", CLOCK);
            Spf.Outcome o = spf.checkHelo(ip("192.0.2.129"), "mail-a.example.com");
            assertThat(o.result()).isEqualTo(Result.PASS);
            assertThat(o.sender()).isEqualTo("postmaster@mail-a.example.com");
            assertThat(o.identity()).isEqualTo(Spf.Identity.HELO);
            assertThat(spf.checkHelo(ip("192.0.2.130"), "mail-a.example.com").result()).isEqualTo(Result.FAIL);
        }

        @Test
        void nullSenderUsesPostmasterAtHelo() { // RFC 7208 §2.4
            ZoneDns dns = appendixA().txt("mail-a.example.com", "v=spf1 exists:%{l}.ok.example -all").a("postmaster.ok.example", "127.0.0.1");
            Spf.Outcome o = new Spf(dns, "mx.example.net", CLOCK).checkMailFrom(ip("192.0.2.1"), "mail-a.example.com", Optional.empty());
            assertThat(o.result()).isEqualTo(Result.PASS);
            assertThat(o.domain()).isEqualTo("mail-a.example.com");
        }

        @Test
        void heloAddressLiteralIsNone() {
            assertThat(new Spf(appendixA(), "mx.example.net", CLOCK).checkHelo(ip("192.0.2.1"), "[192.0.2.1]").result())
                    .isEqualTo(Result.NONE);
        }
    }

    /** RFC 7208 §7.4's examples: sender strong-bad@email.example.com from 192.0.2.3 or 2001:db8::cb01. */
    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            %{s}                               | strong-bad@email.example.com
            %{o}                               | email.example.com
            %{d}                               | email.example.com
            %{d4}                              | email.example.com
            %{d3}                              | email.example.com
            %{d2}                              | example.com
            %{d1}                              | com
            %{dr}                              | com.example.email
            %{d2r}                             | example.email
            %{l}                               | strong-bad
            %{l-}                              | strong.bad
            %{lr}                              | strong-bad
            %{lr-}                             | bad.strong
            %{l1r-}                            | strong
            %{ir}.%{v}._spf.%{d2}              | 3.2.0.192.in-addr._spf.example.com
            %{lr-}.lp._spf.%{d2}               | bad.strong.lp._spf.example.com
            %{lr-}.lp.%{ir}.%{v}._spf.%{d2}    | bad.strong.lp.3.2.0.192.in-addr._spf.example.com
            %{ir}.%{v}.%{l1r-}.lp._spf.%{d2}   | 3.2.0.192.in-addr.strong.lp._spf.example.com
            %{d2}.trusted-domains.example.net  | example.com.trusted-domains.example.net
            %%%_%-                             | '% %20'
            %{S}                               | strong-bad%40email.example.com
            """)
    void macroExamples(String macro, String expected) {
        Macro m = Macro.parse(macro, Macro.Use.DOMAIN).orElseThrow();
        assertThat(context("192.0.2.3").expand(m)).isEqualTo(expected);
    }

    /** RFC 7208 §7.3: an upper-case macro letter URL-escapes all but RFC 3986 §2.3's unreserved characters. */
    @Test
    void upperCaseMacrosEscapeAllButTheUnreservedCharacters() {
        Macro m = Macro.parse("%{L}", Macro.Use.DOMAIN).orElseThrow();
        Macro.Context c = new Macro.Context("AZaz09-._~/:@[`{é@email.example.com", "email.example.com", ip("192.0.2.3"),
                "helo.example.com", "mx.example.net", 0, d -> "unknown");
        assertThat(c.expand(m)).isEqualTo("AZaz09-._~%2F%3A%40%5B%60%7B%C3%A9");
    }

    @Test
    void macroIpv6Example() { // RFC 7208 §7.4
        Macro m = Macro.parse("%{ir}.%{v}._spf.%{d2}", Macro.Use.DOMAIN).orElseThrow();
        assertThat(context("2001:db8::cb01").expand(m))
                .isEqualTo("1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6._spf.example.com");
    }

    @Test
    void longExpansionLosesLeftLabels() { // RFC 7208 §4.8
        String label = "a".repeat(60);
        Macro m = Macro.parse("%{s}." + label + "." + label + "." + label + ".example", Macro.Use.DOMAIN).orElseThrow();
        String d = context("192.0.2.3").expandDomain(m);
        assertThat(d.length()).isLessThanOrEqualTo(253);
        assertThat(d).endsWith(label + ".example");
    }

    private static Macro.Context context(String client) {
        return new Macro.Context("strong-bad@email.example.com", "email.example.com", ip(client), "helo.example.com",
                "mx.example.net", 0, d -> "unknown");
    }
}
