package org.castellan.server.outbound;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** RFC 8461 §3.1 records, §3.2 policies and §4.1 MX matching, from the RFC's own examples. */
class MtaStsTest {

    /** RFC 8461 §3.2's example policy. */
    static final String EXAMPLE_POLICY = """
            version: STSv1
            mode: enforce
            mx: mail.example.com
            mx: *.example.net
            mx: backupmx.example.com
            max_age: 604800
            """;

    @Test
    void recordOfTheRfc() {
        assertThat(MtaStsRecord.parse("v=STSv1; id=20160831085700Z;")).contains(new MtaStsRecord("20160831085700Z"));
        assertThat(MtaStsRecord.parse("v=STSv1;id=abc")).contains(new MtaStsRecord("abc"));
        assertThat(MtaStsRecord.parse("v=STSv1; id=abc; ext_1=value")).contains(new MtaStsRecord("abc"));
    }

    @Test
    void invalidRecords() {
        assertThat(MtaStsRecord.parse("v=STSv1;")).isEmpty(); // no id
        assertThat(MtaStsRecord.parse("v=STSv2; id=1")).isEmpty();
        assertThat(MtaStsRecord.parse(" v=STSv1; id=1")).isEmpty(); // the version starts the record
        assertThat(MtaStsRecord.parse("id=1; v=STSv1")).isEmpty();
        assertThat(MtaStsRecord.parse("v=STSv1; id=" + "a".repeat(33))).isEmpty(); // 1*32 characters
        assertThat(MtaStsRecord.parse("v=STSv1; id=20160831-085700")).isEmpty();
        assertThat(MtaStsRecord.parse("v=STSv1; id=1; id=2")).isEmpty();
        assertThat(MtaStsRecord.parse("v=STSv1; ; id=1")).isEmpty();
    }

    @Test
    void exactlyOneStsRecordAmongTheTxtRecords() {
        // RFC 8461 §3.1: records not starting with v=STSv1 are discarded; more than one left means no policy.
        assertThat(MtaStsRecord.select(List.of("v=spf1 -all", "v=STSv1; id=7;"))).contains(new MtaStsRecord("7"));
        assertThat(MtaStsRecord.select(List.of("v=STSv1; id=7;", "v=STSv1; id=8;"))).isEmpty();
        assertThat(MtaStsRecord.select(List.of())).isEmpty();
    }

    @Test
    void policyOfTheRfc() {
        MtaStsPolicy expected = new MtaStsPolicy(MtaStsPolicy.Mode.ENFORCE,
                List.of("mail.example.com", "*.example.net", "backupmx.example.com"), Duration.ofSeconds(604800));
        assertThat(MtaStsPolicy.parse(EXAMPLE_POLICY)).isEqualTo(new MtaStsPolicy.Valid(expected));
        assertThat(MtaStsPolicy.parse(EXAMPLE_POLICY.replace("\n", "\r\n"))).isEqualTo(new MtaStsPolicy.Valid(expected));
        assertThat(MtaStsPolicy.parse("mx: mail.example.com\nmax_age:86400\nunknown_key: whatever\nmode:testing\nversion: STSv1"))
                .isEqualTo(new MtaStsPolicy.Valid(new MtaStsPolicy(MtaStsPolicy.Mode.TESTING, List.of("mail.example.com"), Duration.ofDays(1))));
        assertThat(MtaStsPolicy.parse("version: STSv1\nmode: none\nmax_age: 31557600\n"))
                .isEqualTo(new MtaStsPolicy.Valid(new MtaStsPolicy(MtaStsPolicy.Mode.NONE, List.of(), Duration.ofSeconds(31557600))));
    }

    @Test
    void invalidPolicies() {
        assertThat(MtaStsPolicy.parse(EXAMPLE_POLICY.replace("version: STSv1\n", ""))).isInstanceOf(MtaStsPolicy.Invalid.class);
        assertThat(MtaStsPolicy.parse(EXAMPLE_POLICY.replace("STSv1", "STSv2"))).isInstanceOf(MtaStsPolicy.Invalid.class);
        assertThat(MtaStsPolicy.parse(EXAMPLE_POLICY.replace("enforce", "strict"))).isInstanceOf(MtaStsPolicy.Invalid.class);
        assertThat(MtaStsPolicy.parse(EXAMPLE_POLICY.replace("604800", "31557601"))).isInstanceOf(MtaStsPolicy.Invalid.class);
        assertThat(MtaStsPolicy.parse(EXAMPLE_POLICY.replace("604800", "12345678901"))).isInstanceOf(MtaStsPolicy.Invalid.class);
        assertThat(MtaStsPolicy.parse(EXAMPLE_POLICY.replace("604800", "-1"))).isInstanceOf(MtaStsPolicy.Invalid.class);
        assertThat(MtaStsPolicy.parse("version: STSv1\nmode: enforce\nmax_age: 86400\n")).isInstanceOf(MtaStsPolicy.Invalid.class);
        assertThat(MtaStsPolicy.parse(EXAMPLE_POLICY.replace("mail.example.com", "mail.*.com"))).isInstanceOf(MtaStsPolicy.Invalid.class);
        assertThat(MtaStsPolicy.parse("<html>not found</html>")).isInstanceOf(MtaStsPolicy.Invalid.class);
        assertThat(MtaStsPolicy.parse("")).isInstanceOf(MtaStsPolicy.Invalid.class);
    }

    @Test
    void wildcardStandsForExactlyTheLeftmostLabel() {
        MtaStsPolicy policy = ((MtaStsPolicy.Valid) MtaStsPolicy.parse(EXAMPLE_POLICY)).policy();
        assertThat(policy.mxAllowed("mail.example.com")).isTrue();
        assertThat(policy.mxAllowed("MAIL.Example.COM.")).isTrue();
        assertThat(policy.mxAllowed("mx1.example.net")).isTrue();
        // RFC 8461 §4.1: the wildcard matches one label only, and not the bare domain.
        assertThat(policy.mxAllowed("example.net")).isFalse();
        assertThat(policy.mxAllowed("a.mx1.example.net")).isFalse();
        assertThat(policy.mxAllowed("other.example.com")).isFalse();
        assertThat(policy.mxAllowed("mail.example.com.evil.test")).isFalse();
    }

    static MtaStsPolicy example() {
        return ((MtaStsPolicy.Valid) MtaStsPolicy.parse(EXAMPLE_POLICY)).policy();
    }
}
