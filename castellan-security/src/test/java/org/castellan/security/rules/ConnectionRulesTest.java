package org.castellan.security.rules;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ConnectionRulesTest {

    private static final ConnectionRules RULES = new ConnectionRules(List.of(
            entry("192.0.2.66", Set.of(), RuleAction.ALLOW),
            entry("192.0.2.0/24", Set.of(), RuleAction.DENY),
            entry("10.0.0.0/8", Set.of("imaps", "submissions"), RuleAction.ALLOW),
            entry("0.0.0.0/0", Set.of("imaps", "submissions"), RuleAction.REQUIRE_CERT),
            entry("2001:db8:1::/48", Set.of("imaps"), RuleAction.REQUEST_CERT),
            entry("2001:db8::/32", Set.of(), RuleAction.DENY),
            entry("::/0", Set.of("imaps"), RuleAction.REQUIRE_CERT)));

    @ParameterizedTest(name = "{0} on {1} -> {2}")
    @CsvSource(delimiter = '|', textBlock = """
            192.0.2.66        | mx          | ALLOW
            192.0.2.66        | imaps       | ALLOW
            192.0.2.67        | mx          | DENY
            192.0.2.67        | imaps       | DENY
            ::ffff:192.0.2.67 | mx          | DENY
            10.1.2.3          | imaps       | ALLOW
            10.1.2.3          | submissions | ALLOW
            10.1.2.3          | mx          | ALLOW
            203.0.113.5       | imaps       | REQUIRE_CERT
            203.0.113.5       | mx          | ALLOW
            ::ffff:10.1.2.3   | imaps       | ALLOW
            ::ffff:203.0.113.5 | submissions | REQUIRE_CERT
            2001:db8:1::5     | imaps       | REQUEST_CERT
            2001:db8:1::5     | mx          | DENY
            2001:db8:2::5     | imaps       | DENY
            2001:db9::5       | imaps       | REQUIRE_CERT
            2001:db9::5       | mx          | ALLOW
            ::1               | pop3        | ALLOW
            """)
    void firstMatchingRuleWinsAndNoMatchAllows(String remote, String listener, RuleAction expected)
            throws UnknownHostException {
        assertThat(RULES.decide(InetAddress.getByName(remote), listener)).isEqualTo(expected);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({"192.0.2.1", "2001:db8::1", "::1", "127.0.0.1"})
    void noRulesAllowEverything(String remote) throws UnknownHostException {
        assertThat(ConnectionRules.none().decide(InetAddress.getByName(remote), "any")).isEqualTo(RuleAction.ALLOW);
        assertThat(new ConnectionRules(List.of()).decide(InetAddress.getByName(remote), "any"))
                .isEqualTo(RuleAction.ALLOW);
    }

    @ParameterizedTest(name = "reversed order: {0} on {1} -> {2}")
    @CsvSource(delimiter = '|', textBlock = """
            192.0.2.66 | mx | DENY
            192.0.2.67 | mx | DENY
            """)
    void orderDecides(String remote, String listener, RuleAction expected) throws UnknownHostException {
        ConnectionRules denyFirst = new ConnectionRules(List.of(
                entry("192.0.2.0/24", Set.of(), RuleAction.DENY),
                entry("192.0.2.66", Set.of(), RuleAction.ALLOW)));
        assertThat(denyFirst.decide(InetAddress.getByName(remote), listener)).isEqualTo(expected);
    }

    private static ConnectionRules.Entry entry(String cidr, Set<String> listeners, RuleAction action) {
        return new ConnectionRules.Entry(Cidr.parse(cidr), listeners, action);
    }
}
