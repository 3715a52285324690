package org.castellan.server.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The {@code [outbound]} table and its {@code [[outbound.route]]} entries: defaults, values, errors with lines. */
class OutboundConfigTest {

    private static final Path FILE = Path.of("/etc/castellan/castellan.toml");

    private static final String SERVER = """
            [server]
            hostname = "mail.example.org"
            data-dir = "/var/lib/castellan"
            """;

    private static CastellanConfig parse(String text) throws ConfigException {
        return CastellanConfig.parse(text, FILE);
    }

    @Test
    void withoutTheTableTheDefaultsAreRfc5321s() throws ConfigException {
        Outbound o = parse(SERVER).outbound();
        assertThat(o).isEqualTo(Outbound.DEFAULTS);
        // RFC 5321 §4.5.3.2.1-6
        assertThat(List.of(o.greetingTimeout(), o.mailTimeout(), o.rcptTimeout(), o.dataTimeout(), o.dataBlockTimeout(),
                o.dataDoneTimeout())).containsExactly(Duration.ofMinutes(5), Duration.ofMinutes(5), Duration.ofMinutes(5),
                Duration.ofMinutes(2), Duration.ofMinutes(3), Duration.ofMinutes(10));
        assertThat(o.giveUp()).isEqualTo(Duration.ofDays(5));
    }

    @Test
    void theValuesAndRoutesWrittenAreKept() throws ConfigException {
        Outbound o = parse(SERVER + """
                [outbound]
                hostname = "out.example.org"
                greeting-timeout = "30s"
                retry-initial = "1m"
                retry-max = "1h"
                give-up = "2d"
                max-connections-per-destination = 2
                max-messages-per-connection = 10

                [[outbound.route]]
                domain = "partner.example"
                next-hop = ["mx1.partner.example:25", "[2001:db8::25]:2525", "192.0.2.7:25"]
                tls = "verify-name"
                ca-file = "partner-ca.pem"

                [[outbound.route]]
                domain = "*"
                next-hop = "relay.example.net:587"
                tls = "require"
                """).outbound();
        assertThat(o.hostname()).contains("out.example.org");
        assertThat(o.greetingTimeout()).isEqualTo(Duration.ofSeconds(30));
        assertThat(o.giveUp()).isEqualTo(Duration.ofDays(2));
        assertThat(o.maxConnectionsPerDestination()).isEqualTo(2);
        assertThat(o.routes()).containsExactly(
                new Outbound.Route("partner.example", List.of(new Outbound.NextHop("mx1.partner.example", 25),
                        new Outbound.NextHop("2001:db8::25", 2525), new Outbound.NextHop("192.0.2.7", 25)),
                        OutboundTls.VERIFY_NAME, Optional.of(Path.of("/var/lib/castellan/partner-ca.pem"))),
                new Outbound.Route("*", List.of(new Outbound.NextHop("relay.example.net", 587)), OutboundTls.REQUIRE,
                        Optional.empty()));
    }

    @Test
    void badRoutesAreReportedWithTheirLines() {
        assertThatThrownBy(() -> parse(SERVER + """
                [[outbound.route]]
                domain = "a.example"
                next-hop = "no-port.example"

                [[outbound.route]]
                domain = "b.example"
                next-hop = "relay.example:25"
                ca-file = "ca.pem"

                [[outbound.route]]
                domain = "a.example"
                next-hop = "relay.example:70000"
                colour = "blue"
                """)).isInstanceOf(ConfigException.class)
                .hasMessageContaining("castellan.toml:6: outbound.route[1].next-hop: expected \"host:port\"")
                .hasMessageContaining("castellan.toml:11: outbound.route[2].ca-file: ca-file is used only with tls = \"verify-name\"")
                .hasMessageContaining("castellan.toml:14: outbound.route[3].domain: a route for \"a.example\" is already on line 5")
                .hasMessageContaining("castellan.toml:15: outbound.route[3].next-hop: expected")
                .hasMessageContaining("castellan.toml:16: outbound.route[3].colour: unknown key");
    }

    @Test
    void aRouteNeedsADomainAndANextHop() {
        assertThatThrownBy(() -> parse(SERVER + """
                [[outbound.route]]
                tls = "none"
                """)).isInstanceOf(ConfigException.class)
                .hasMessageContaining("castellan.toml:4: outbound.route[1].domain: missing")
                .hasMessageContaining("castellan.toml:4: outbound.route[1].next-hop: missing");
    }

    @Test
    void tlsPoliciesKeepMxRoutingAndTheirValues() throws ConfigException {
        Outbound o = parse(SERVER + """
                [[outbound.tls-policy]]
                domain = "bank.example"
                tls = "verify-name"
                ca-file = "bank-ca.pem"

                [[outbound.tls-policy]]
                domain = "dane.example"
                tls = "dane-only"

                [[outbound.tls-policy]]
                domain = "partner.example"
                tls = "require"
                """).outbound();
        assertThat(o.routes()).isEmpty();
        assertThat(o.tlsPolicies()).containsExactly(
                new Outbound.TlsPolicy("bank.example", OutboundTls.VERIFY_NAME, Optional.of(Path.of("/var/lib/castellan/bank-ca.pem"))),
                new Outbound.TlsPolicy("dane.example", OutboundTls.DANE_ONLY, Optional.empty()),
                new Outbound.TlsPolicy("partner.example", OutboundTls.REQUIRE, Optional.empty()));
        assertThat(o.tlsPolicy("Partner.Example")).map(Outbound.TlsPolicy::tls).contains(OutboundTls.REQUIRE);
        assertThat(o.tlsPolicy("other.example")).isEmpty();
    }

    @Test
    void tlsPoliciesThatCouldNeverApplyAreReportedWithTheirLines() {
        assertThatThrownBy(() -> parse(SERVER + """
                [[outbound.route]]
                domain = "routed.example"
                next-hop = "relay.example:25"

                [[outbound.tls-policy]]
                domain = "routed.example"
                tls = "require"

                [[outbound.tls-policy]]
                domain = "a.example"
                tls = "opportunistic"

                [[outbound.tls-policy]]
                domain = "b.example"
                tls = "dane-only"
                ca-file = "ca.pem"

                [[outbound.tls-policy]]
                domain = "B.example"
                tls = "none"

                [[outbound.tls-policy]]
                domain = "*"
                """)).isInstanceOf(ConfigException.class)
                .hasMessageContaining("castellan.toml:9: outbound.tls-policy[1].domain: mail for \"routed.example\" goes by the"
                        + " [[outbound.route]] for \"routed.example\" on line 4, whose tls applies instead")
                .hasMessageContaining("castellan.toml:14: outbound.tls-policy[2].tls: expected one of \"require\","
                        + " \"verify-name\", \"dane-only\", got \"opportunistic\"")
                .hasMessageContaining("castellan.toml:19: outbound.tls-policy[3].ca-file: ca-file is used only with"
                        + " tls = \"verify-name\"")
                .hasMessageContaining("castellan.toml:22: outbound.tls-policy[4].domain: a tls-policy for \"B.example\""
                        + " is already on line 17")
                .hasMessageContaining("castellan.toml:23: outbound.tls-policy[4].tls: expected one of")
                .hasMessageContaining("castellan.toml:26: outbound.tls-policy[5].domain: expected a domain")
                .hasMessageContaining("castellan.toml:25: outbound.tls-policy[5].tls: missing");
    }

    @Test
    void daneOnlyIsNotARoutesTls() {
        // A static route's next hop is not looked up with DNSSEC, so DANE could never apply to it.
        assertThatThrownBy(() -> parse(SERVER + """
                [[outbound.route]]
                domain = "c.example"
                next-hop = "relay.example:25"
                tls = "dane-only"
                """)).isInstanceOf(ConfigException.class)
                .hasMessageContaining("castellan.toml:7: outbound.route[1].tls: expected one of \"opportunistic\","
                        + " \"require\", \"verify-name\", \"none\", got \"dane-only\"");
    }

    @Test
    void retryMaxBelowRetryInitialIsRefused() {
        assertThatThrownBy(() -> parse(SERVER + """
                [outbound]
                retry-initial = "2h"
                retry-max = "1h"
                """)).isInstanceOf(ConfigException.class)
                .hasMessageContaining("castellan.toml:6: outbound.retry-max: retry-max must not be shorter than retry-initial");
    }
}
