package org.castellan.server.outbound;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import org.castellan.server.outbound.RequireTlsPolicy.Authentication;
import org.castellan.server.outbound.RequireTlsPolicy.Demand;
import org.junit.jupiter.api.Test;

/** RFC 8689: REQUIRETLS at the next hop and the TLS-Required header field. */
class RequireTlsPolicyTest {

    private static byte[] mail(String header) {
        return (header + "\r\n\r\nTLS-Required: No in the body does not count\r\n").getBytes(StandardCharsets.US_ASCII);
    }

    private static final byte[] PLAIN = mail("From: a@example.org\r\nTo: b@example.com\r\nSubject: hi");

    @Test
    void requireTlsNeedsAnAuthenticatedHopThatOffersIt() {
        Demand d = RequireTlsPolicy.demand(true, PLAIN);
        assertThat(d).isEqualTo(Demand.REQUIRE_TLS);
        assertThat(RequireTlsPolicy.check(d, Authentication.DANE, true)).isEqualTo(new RequireTlsPolicy.Send(true));
        assertThat(RequireTlsPolicy.check(d, Authentication.MTA_STS, true)).isEqualTo(new RequireTlsPolicy.Send(true));
        assertThat(RequireTlsPolicy.check(d, Authentication.NONE, true))
                .isInstanceOfSatisfying(RequireTlsPolicy.Refuse.class, r -> assertThat(r.enhancedCode()).isEqualTo("5.7.10"));
        assertThat(RequireTlsPolicy.check(d, Authentication.DANE, false))
                .isInstanceOfSatisfying(RequireTlsPolicy.Refuse.class, r -> assertThat(r.enhancedCode()).isEqualTo("5.7.30"));
    }

    @Test
    void withoutRequireTlsAnyHopWillDoAndNothingIsPassedOn() {
        Demand d = RequireTlsPolicy.demand(false, PLAIN);
        assertThat(d).isEqualTo(Demand.USUAL);
        assertThat(RequireTlsPolicy.check(d, Authentication.NONE, false)).isEqualTo(new RequireTlsPolicy.Send(false));
        assertThat(RequireTlsPolicy.check(d, Authentication.DANE, true)).isEqualTo(new RequireTlsPolicy.Send(false));
        assertThat(RequireTlsPolicy.mayIgnorePolicyFailure(d)).isFalse();
    }

    @Test
    void tlsRequiredNoLetsPolicyFailuresPass() {
        for (String field : new String[] {"TLS-Required: No", "tls-required:no", "TLS-Required:   NO  ", "TLS-Required:\r\n No"}) {
            Demand d = RequireTlsPolicy.demand(false, mail("From: a@example.org\r\n" + field + "\r\nSubject: hi"));
            assertThat(d).as(field).isEqualTo(Demand.POLICY_FAILURES_IGNORED);
            assertThat(RequireTlsPolicy.mayIgnorePolicyFailure(d)).isTrue();
        }
    }

    @Test
    void otherValuesAndTheBodyDoNotCount() {
        assertThat(RequireTlsPolicy.demand(false, mail("TLS-Required: Yes"))).isEqualTo(Demand.USUAL);
        assertThat(RequireTlsPolicy.demand(false, mail("X-TLS-Required: No"))).isEqualTo(Demand.USUAL);
        assertThat(RequireTlsPolicy.demand(false, mail("Subject: TLS-Required: No"))).isEqualTo(Demand.USUAL);
        assertThat(RequireTlsPolicy.demand(false, PLAIN)).isEqualTo(Demand.USUAL);
        assertThat(RequireTlsPolicy.demand(false, "Subject: x\n\nTLS-Required: No\n".getBytes(StandardCharsets.US_ASCII)))
                .isEqualTo(Demand.USUAL);
    }

    @Test
    void requireTlsWinsOverTheHeaderField() {
        Demand d = RequireTlsPolicy.demand(true, mail("TLS-Required: No"));
        assertThat(d).isEqualTo(Demand.REQUIRE_TLS);
        assertThat(RequireTlsPolicy.mayIgnorePolicyFailure(d)).isFalse();
        assertThat(RequireTlsPolicy.check(d, Authentication.NONE, true)).isInstanceOf(RequireTlsPolicy.Refuse.class);
    }
}
